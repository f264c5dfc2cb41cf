// Live views, pushed against polled (a benchmark, not a test): node tools/bench-live.mjs
// Needs E2E_BASE_URL and E2E_ADMIN_PASSWORD. Two modes in the same run, same build, same server:
//  - pushed: the UI as it is (one EventSource on /api/v1/events);
//  - polled: the event stream refused (503, by Playwright's routing), so every live page falls
//    back to refreshing itself every 2 s, which is what each of them did before the event stream
//    (POLL_EVERY = 2 s in the polling build).
// Per mode:
//  - idle requests per minute for each live page, open and idle for IDLE_SECS (default 60):
//    every request but the event stream and the site's files;
//  - change -> visible: SAMPLES (default 30) node pools created through the REST API while the
//    Nodes page is open; from the moment the API answered (Switchyard knows) until the pool's
//    name is in the page (a MutationObserver in the page notes the time). p50 / p99 / max.
import { base, launch, adminPage } from "./browser.mjs";

const idleSecs = Number(process.env.IDLE_SECS ?? 60);
const samples = Number(process.env.SAMPLES ?? 30);
const pages = ["/processes", "/connections", "/nodes", "/pending-changes"];
const browser = await launch();

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function setUp(mode) {
  const page = await adminPage(browser);
  if (mode === "polled") {
    await page.route("**/api/v1/events*", (route) => route.fulfill({ status: 503, body: "off for the benchmark" }));
  }
  return page;
}

async function idle(mode, path) {
  const page = await setUp(mode);
  await page.goto(`${base}${path}`);
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
  const want = mode === "pushed" ? "live" : "reconnecting";
  await page.locator(`.live-status[data-status="${want}"]`).waitFor({ state: "attached", timeout: 15_000 });
  // Let the page finish what it does on arriving (a reload after the stream opened).
  await page.waitForTimeout(1_500);
  let asked = 0;
  page.on("request", (r) => {
    const p = new URL(r.url()).pathname;
    if (!p.startsWith("/pkg/") && p !== "/api/v1/events") asked += 1;
  });
  await page.waitForTimeout(idleSecs * 1000); // the measurement window
  await page.close();
  return (asked * 60) / idleSecs;
}

async function latency(mode) {
  const page = await setUp(mode);
  await page.goto(`${base}/nodes`);
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
  const want = mode === "pushed" ? "live" : "reconnecting";
  await page.locator(`.live-status[data-status="${want}"]`).waitFor({ state: "attached", timeout: 15_000 });
  const run = Date.now().toString(36);
  const took = [];
  const made = [];
  for (let i = 0; i < samples; i++) {
    const name = `bench-live-${mode}-${run}-${i}`;
    // In the page: note (in epoch ms) when a text node with the name first appears.
    await page.evaluate((name) => {
      window.__seen = undefined;
      const done = () => {
        if (window.__seen === undefined && document.body.innerText.includes(name)) {
          window.__seen = performance.timeOrigin + performance.now();
          observer.disconnect();
        }
      };
      const observer = new MutationObserver(done);
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    }, name);
    const r = await page.request.post(`${base}/api/v1/node-pools`, { data: { name } });
    const known = Date.now();
    if (r.status() !== 201) throw new Error(`creating a pool: ${r.status()} ${await r.text()}`);
    made.push((await r.json()).id);
    await page.waitForFunction(() => window.__seen !== undefined, null, { timeout: 10_000, polling: 10 });
    const seen = await page.evaluate(() => window.__seen);
    took.push(Math.max(0, seen - known));
    // Spread the changes over the polling period, as changes come in real life.
    await page.waitForTimeout(200 + ((i * 737) % 1800));
  }
  for (const id of made) await page.request.delete(`${base}/api/v1/node-pools/${id}`);
  await page.close();
  took.sort((a, b) => a - b);
  return { p50: quantile(took, 0.5), p99: quantile(took, 0.99), max: took[took.length - 1] };
}

const results = {};
for (const mode of ["pushed", "polled"]) {
  results[mode] = { idle: {}, latency: null };
  for (const path of pages) results[mode].idle[path] = await idle(mode, path);
  results[mode].latency = await latency(mode);
}
await browser.close();

const f = (n) => (Number.isFinite(n) ? n.toFixed(1) : "–");
console.log(`==> live views, pushed vs polled (${idleSecs} s idle per page, ${samples} changes, ${new Date().toISOString().slice(0, 10)})`);
console.log("idle requests per minute (lower is better)");
console.log("  page               pushed   polled");
for (const path of pages) {
  console.log(`  ${path.padEnd(18)} ${f(results.pushed.idle[path]).padStart(6)}   ${f(results.polled.idle[path]).padStart(6)}`);
}
console.log("change -> visible in Chromium, ms (a node pool created through the API, on the open Nodes page)");
console.log("  mode      p50      p99      max");
for (const mode of ["pushed", "polled"]) {
  const l = results[mode].latency;
  console.log(`  ${mode.padEnd(7)} ${f(l.p50).padStart(6)}   ${f(l.p99).padStart(6)}   ${f(l.max).padStart(6)}`);
}
const ratio = results.polled.latency.p50 / Math.max(results.pushed.latency.p50, 0.1);
console.log(`  p50 ratio polled/pushed: ${ratio.toFixed(1)}x`);
