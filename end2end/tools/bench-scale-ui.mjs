// The browser at scale (a benchmark, not a test): node tools/bench-scale-ui.mjs
// Needs E2E_BASE_URL and E2E_ADMIN_PASSWORD, and the admin's network already deployed (the
// cluster part of scripts/bench-scale runs it with 500 processes up). For the connection editor
// and the node view, ROUNDS (default 5) fresh loads each:
//  - load -> interactive: from the navigation's start until the page is hydrated and drawn (the
//    editor: every process box of the graph in the document);
//  - data -> interactive: from the end of the last response the page needed (the document, or
//    the data fetched after it) until then: the browser's own work on the data, which on a fresh
//    load includes parsing the page and starting the app (the same at any size);
//  - and the editor reached from the node view by its link in the menu (the app running already):
//    from the click, and from the end of the editor's data (its server function) until drawn, and
//    until the connection table and the connect form below the graph are built too; once at
//    once after the node view hydrated, once after the app loaded the editor's module ahead;
// and in the editor, the interval between animation frames (Performance API, requestAnimationFrame
// timestamps) while the background is dragged (panning) and while a wire is dragged from a port:
// p50 / p95 / max over 120 pointer moves. At 60 Hz, 16.7 ms means no frame was dropped. Then the
// time from pressing Fit (the whole graph, in outlines) to the frame that shows it, and from a
// click on an outline to the frame with that box's ports (ROUNDS times each).
// scripts/bench-scale runs it at the smallest size of its run too: the baseline, the same pages
// with a small network, in the same run.
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
/** Everything below the graph built too: the connection table's rows and the connect form's ports. */
const belowReady = () =>
  document.querySelector("table.list.connections tbody tr, [data-testid=connections-none-match]") !== null &&
  document.querySelectorAll("#connect-from option").length > 1;
const nodesReady = () => document.body.hasAttribute("data-hydrated") && document.querySelector("main table, main .node-card, main article") !== null;

/** From the node view, hydrated, follow the menu's link to the editor; the times, in ms. With
 * `settled`, the link is followed once the app has loaded the editor's module ahead (what a
 * visitor who reads the page for a moment gets); otherwise at once. */
async function navigate(settled = false) {
  await load("/nodes", nodesReady);
  if (settled) {
    const loaded = await page.evaluate(() => globalThis.__switchyardPreloaded ?? Promise.resolve(-1));
    if (loaded < 1) throw new Error(`the app loaded no module ahead (${loaded}): is the site a split build?`);
  }
  return page.evaluate(async ([ready, whole_]) => {
    performance.clearResourceTimings();
    const t0 = performance.now();
    document.querySelector('nav a[href="/connections"]').click();
    // Both made before the first await: the page's policy allows no eval outside this call.
    const done = new Function(`return (${ready})()`);
    const whole = new Function(`return (${whole_})()`);
    for (let i = 0; i < 3600 && !done(); i++) await new Promise((r) => requestAnimationFrame(r));
    if (!done()) throw new Error("the editor was not drawn within 3 600 frames of following the link");
    const now = performance.now();
    const data = performance
      .getEntriesByType("resource")
      .filter((r) => ["fetch", "xmlhttprequest"].includes(r.initiatorType) && !r.name.includes("/api/v1/events") && r.startTime >= t0)
      .reduce((t, r) => Math.max(t, r.responseEnd), t0);
    // The rest of the page, below the graph: the connection table and the connect form's ports.
    for (let i = 0; i < 3600 && !whole(); i++) await new Promise((r) => requestAnimationFrame(r));
    if (!whole()) throw new Error("the table and form below the graph were not built within 3 600 frames");
    const all = performance.now();
    return { interactive: now - t0, afterData: now - data, whole: all - data, boxes: document.querySelectorAll(".boxes > g").length };
  }, [editorReady.toString(), belowReady.toString()]);
}

const results = {};
for (const [name, path, ready] of [
  ["connection editor", "/connections", editorReady],
  ["node view", "/nodes", nodesReady],
]) {
  const loads = [];
  for (let i = 0; i < rounds; i++) loads.push(await load(path, ready));
  results[name] = loads;
}
{
  const loads = [];
  for (let i = 0; i < rounds; i++) loads.push(await navigate());
  results["editor, by its link"] = loads;
  const settled = [];
  for (let i = 0; i < rounds; i++) settled.push(await navigate(true));
  results["editor, by its link once settled"] = settled;
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
/** Run `act` in the page and wait for `ready`; ms from before `act` to the frame after `ready`. */
async function timed(act, ready) {
  return page.evaluate(
    async ([act, ready]) => {
      const t0 = performance.now();
      new Function(act)();
      const done = new Function(`return (${ready})`);
      for (let i = 0; i < 600 && !done(); i++) await new Promise((r) => requestAnimationFrame(r));
      await new Promise((r) => requestAnimationFrame(r));
      return performance.now() - t0;
    },
    [act, ready],
  );
}
const fits = [], zooms = [];
for (let i = 0; i < rounds; i++) {
  fits.push(await timed(`document.querySelector("[data-testid=zoom-fit]").click()`,
    `document.querySelectorAll(".boxes > g.outline").length > 0 || document.querySelectorAll(".boxes > g").length === Number(document.querySelector("[data-testid=connection-graph]").dataset.processes)`));
  zooms.push(await timed(`(document.querySelectorAll(".boxes > g.outline")[${7 + i}] ?? { dispatchEvent() {} }).dispatchEvent(new MouseEvent("click", { bubbles: true }))`,
    `document.querySelector(".boxes > g:not(.outline) .port") !== null`));
}
const processes = await page.evaluate(() => {
  const inEditor = document.querySelector("[data-testid=connection-graph]").dataset.processes;
  return `${inEditor} processes in the editor`;
});
const firstDrawn = results["connection editor"][0].boxes;

console.log(`browser at scale (Chromium, 1440x1000, ${rounds} loads each; ${processes}, ${firstDrawn} boxes drawn on opening):`);
console.log(`${"".padEnd(42)} ${"p50 ms".padStart(7)} ${"max ms".padStart(7)}`);
for (const [name, loads] of Object.entries(results)) {
  const a = stats(loads.map((l) => l.interactive));
  const b = stats(loads.map((l) => l.afterData));
  const from = name.includes("link") ? "click" : "load";
  console.log(`${(name + ": " + from + " -> interactive").padEnd(42)} ${f(a.p50)} ${f(a.max)}`);
  console.log(`${(name + ": data -> interactive").padEnd(42)} ${f(b.p50)} ${f(b.max)}`);
  if (loads[0].whole !== undefined) {
    const c = stats(loads.map((l) => l.whole));
    console.log(`${(name + ": data -> table and form").padEnd(42)} ${f(c.p50)} ${f(c.max)}`);
  }
}
for (const [name, xs] of [["Fit: the whole graph drawn", fits], ["an outline clicked: its ports", zooms]]) {
  const s = stats(xs);
  console.log(`${name.padEnd(42)} ${f(s.p50)} ${f(s.max)}`);
}
for (const [name, xs] of [["panning", pan], ["dragging a wire", wire]]) {
  const s = stats(xs);
  console.log(`frame interval, ${name.padEnd(16)} p50 ${f(s.p50)}  p95 ${f(s.p95)}  max ${f(s.max)} ms  (${xs.length} frames)`);
}
await browser.close();
