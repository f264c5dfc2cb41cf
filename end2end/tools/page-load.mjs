// How long the UI takes to become usable, over an emulated network, for one or more servers
// in the same run (a benchmark, not a test): node tools/page-load.mjs LABEL=URL [LABEL=URL ...]
// Each server must have the admin password E2E_ADMIN_PASSWORD. Per server, ROUNDS times
// (default 5), each round in a fresh browser context (empty cache), with the network of
// NET_LATENCY_MS round-trip latency (default 40) and NET_MBITS down (default 20):
//  - login: /login loaded until the app has hydrated it (body[data-hydrated]);
//  - overview: the login form submitted (once the login page's network is idle, as it would be
//    while a person types) until the overview is hydrated;
//  - processes, nodes, connections: a click on the navigation link until that page shows its
//    heading and what it loads (its code too, for a build split into lazy chunks);
//  - connections (cold): /connections loaded in a new tab of a new context until hydrated.
// Prints the median of each, per server, and the ratio of each server to the first.
import { launch } from "./browser.mjs";

const servers = process.argv.slice(2).map((a) => a.split(/=(.*)/s).slice(0, 2));
if (servers.length === 0) throw new Error("usage: node tools/page-load.mjs LABEL=URL [LABEL=URL ...]");
const password = process.env.E2E_ADMIN_PASSWORD;
if (!password) throw new Error("E2E_ADMIN_PASSWORD is not set");
const rounds = Number(process.env.ROUNDS ?? 5);
const latency = Number(process.env.NET_LATENCY_MS ?? 40);
const mbits = Number(process.env.NET_MBITS ?? 20);
const browser = await launch();

async function throttled(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency, downloadThroughput: (mbits * 1e6) / 8, uploadThroughput: (mbits * 1e6) / 8 / 4,
  });
  page.setDefaultTimeout(20_000);
  return page;
}

const hydrated = (page) => page.locator("body[data-hydrated]").waitFor({ state: "attached" });
const ms = async (f) => { const t = performance.now(); await f(); return performance.now() - t; };

async function round(base) {
  const contexts = [];
  try { return await measure(base, contexts); } finally { for (const c of contexts) await c.close(); }
}

async function measure(base, contexts) {
  const out = {};
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await throttled(context);
  out.login = await ms(async () => { await page.goto(`${base}/login`); await hydrated(page); });
  // Nobody types a password within milliseconds: let what the page fetches once hydrated (a
  // split build's editors) arrive first, as it would while a person types.
  await page.waitForLoadState("networkidle");
  await page.fill("input[name=username]", "admin");
  await page.fill("input[name=password]", password);
  out.overview = await ms(async () => {
    await page.click("button[type=submit]");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await hydrated(page);
  });
  for (const [name, ready] of [
    ["processes", (p) => p.locator("main table, main .empty").first().waitFor()],
    ["nodes", (p) => p.getByRole("heading", { name: "Public nodes" }).waitFor()],
    ["connections", (p) => p.locator("svg.graph, main .empty").first().waitFor()],
  ]) {
    out[name] = await ms(async () => {
      await page.locator("nav.mainnav").getByRole("link", { name: new RegExp(`^${name}$`, "i") }).click();
      await page.getByRole("heading", { name: new RegExp(`^${name}$`, "i"), level: 1 }).waitFor();
      await ready(page);
    });
  }
  const cold = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState: await context.storageState() });
  contexts.push(cold);
  const tab = await throttled(cold);
  out["connections (cold)"] = await ms(async () => { await tab.goto(`${base}/connections`); await hydrated(tab); });
  return out;
}

// Chromium's network emulation now and then stops delivering a page's requests when more are
// queued than it has connections (seen only throttled, with a split build's nine files: the
// server had answered all but one, which it never received). Such a round is run again, and
// the count of stalled rounds is printed, so that a stall is seen rather than measured.
const results = servers.map(() => []);
const stalls = servers.map(() => 0);
for (let r = 0; r < rounds; r++) {
  for (const [i, [label, url]] of servers.entries()) {
    for (;;) {
      try { results[i].push(await round(url)); break; }
      catch (e) {
        if (e.name !== "TimeoutError" || ++stalls[i] > 3) throw e;
        console.log(`round ${r + 1} on ${label} stalled (${e.message.split("\n")[0]}); running it again`);
      }
    }
  }
}
await browser.close();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
console.log(`page-load medians over ${rounds} rounds, network ${latency} ms latency, ${mbits} Mbit/s down, cold cache:`);
console.log(`  stalled rounds, run again: ${servers.map(([l], i) => `${l} ${stalls[i]}`).join(", ")}`);
const steps = Object.keys(results[0][0]);
const med = results.map((rs) => Object.fromEntries(steps.map((s) => [s, median(rs.map((x) => x[s]))])));
console.log(`  ${"step".padEnd(20)}${servers.map(([l]) => l.padStart(14)).join("")}${servers.length > 1 ? "   ratio to " + servers[0][0] : ""}`);
for (const s of steps) {
  const cells = med.map((m) => `${m[s].toFixed(0)} ms`.padStart(14)).join("");
  const ratios = med.slice(1).map((m) => (m[s] / med[0][s]).toFixed(2)).join(" ");
  console.log(`  ${s.padEnd(20)}${cells}   ${ratios}`);
}
