// The browser at scale (a benchmark, not a test): node tools/bench-scale-ui.mjs
// Needs E2E_BASE_URL and E2E_ADMIN_PASSWORD, and the admin's network already deployed (the
// cluster part of scripts/bench-scale runs it with 500 processes up). For the connection editor
// and the node view, ROUNDS (default 5) fresh loads each:
//  - load -> interactive: from the navigation's start until the page is hydrated and drawn (the
//    editor: every process box of the graph in the document);
//  - data -> interactive: from the end of the last response the page needed (the document, or
//    the data fetched after it) until then: the browser's own work on the data;
// and in the editor, the interval between animation frames (Performance API, requestAnimationFrame
// timestamps) while the background is dragged (panning) and while a wire is dragged from a port:
// p50 / p95 / max over 120 pointer moves. At 60 Hz, 16.7 ms means no frame was dropped.
import { base, launch, adminPage } from "./browser.mjs";

const rounds = Number(process.env.ROUNDS ?? 5);
const browser = await launch();
const page = await adminPage(browser, { width: 1440, height: 1000 });

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), max: s[s.length - 1] };
};
const f = (x) => x.toFixed(1).padStart(7);

/** Load `path` and wait for `ready` (a function run in the page); the two times, in ms. */
async function load(path, ready) {
  await page.goto(`${base}${path}`, { waitUntil: "commit" });
  await page.waitForFunction(ready, null, { timeout: 60_000, polling: "raf" });
  return page.evaluate(() => {
    const now = performance.now();
    const nav = performance.getEntriesByType("navigation")[0];
    const data = performance
      .getEntriesByType("resource")
      .filter((r) => ["fetch", "xmlhttprequest"].includes(r.initiatorType) && !r.name.includes("/api/v1/events") && r.responseEnd < now)
      .reduce((t, r) => Math.max(t, r.responseEnd), nav.responseEnd);
    return { interactive: now - nav.startTime, afterData: now - data, boxes: document.querySelectorAll(".boxes > g").length };
  });
}

/** Frame intervals while the mouse drags from (x, y) by (dx, dy) in 120 moves. */
async function frames(x, y, dx, dy, before = async () => {}) {
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__framesOn) requestAnimationFrame(tick);
    };
    window.__framesOn = true;
    requestAnimationFrame(tick);
  });
  await page.mouse.move(x, y);
  await before();
  await page.mouse.down();
  for (let i = 1; i <= 120; i++) {
    await page.mouse.move(x + (dx * i) / 120, y + (dy * i) / 120);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  }
  await page.mouse.up();
  return page.evaluate(() => {
    window.__framesOn = false;
    return window.__frames.slice(2);
  });
}

const editorReady = () =>
  document.body.hasAttribute("data-hydrated") &&
  document.querySelector("[data-testid=connection-graph] .boxes > g") !== null &&
  document.querySelectorAll("[data-testid=connection-graph] .edges > g, [data-testid=connection-graph] .edges > path").length > 0;
const nodesReady = () => document.body.hasAttribute("data-hydrated") && document.querySelector("main table, main .node-card, main article") !== null;

const results = {};
for (const [name, path, ready] of [
  ["connection editor", "/connections", editorReady],
  ["node view", "/nodes", nodesReady],
]) {
  const loads = [];
  for (let i = 0; i < rounds; i++) loads.push(await load(path, ready));
  results[name] = loads;
}
await load("/connections", editorReady);
const graph = page.locator("[data-testid=connection-graph]");
await graph.scrollIntoViewIfNeeded();
const box = await graph.boundingBox();
const pan = await frames(box.x + box.width - 20, box.y + 20, -400, 300);
const port = page.locator("[data-testid=connection-graph] .port-dot.out").first();
const at = await port.boundingBox();
const wire = await frames(at.x + at.width / 2, at.y + at.height / 2, 300, 200);
await page.keyboard.press("Escape");
const processes = await page.evaluate(() => {
  const m = document.body.textContent.match(/Showing the oldest (\d+) of (\d+) processes/);
  return m ? `${m[1]} of ${m[2]} processes drawn` : `${document.querySelectorAll(".boxes > g").length} processes drawn`;
});

console.log(`browser at scale (Chromium, 1440x1000, ${rounds} loads each; ${processes}):`);
console.log(`${"".padEnd(34)} ${"p50 ms".padStart(7)} ${"max ms".padStart(7)}`);
for (const [name, loads] of Object.entries(results)) {
  const a = stats(loads.map((l) => l.interactive));
  const b = stats(loads.map((l) => l.afterData));
  console.log(`${(name + ": load -> interactive").padEnd(34)} ${f(a.p50)} ${f(a.max)}`);
  console.log(`${(name + ": data -> interactive").padEnd(34)} ${f(b.p50)} ${f(b.max)}`);
}
for (const [name, xs] of [["panning", pan], ["dragging a wire", wire]]) {
  const s = stats(xs);
  console.log(`frame interval, ${name.padEnd(16)} p50 ${f(s.p50)}  p95 ${f(s.p95)}  max ${f(s.max)} ms  (${xs.length} frames)`);
}
await browser.close();
