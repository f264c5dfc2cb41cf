import { expect } from "@playwright/test";
import { adminPassword, login, test } from "./fixtures";

test("the server answers /healthz", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
});

test("the editors' and lists' modules load in the background after the first page, and browsers keep the site's files", async ({
  page,
}) => {
  // The release build (`cargo xtask build`) cuts the editors and the lists out of the first download;
  // every page names their files as <link rel="prefetch">, so the browser fetches them when it
  // is idle (a prefetch cut short by leaving the page costs nothing), and once the app has
  // hydrated, the split loader instantiates them ahead, around the app (a failed load by the app
  // itself would panic it).
  const editors = [
    "connections_route",
    "new_process_route",
    "nodes_route",
    "pending_changes_route",
    "process_route",
    "processes_route",
    "services_route",
  ];
  const loaded = new Set<string>();
  page.on("response", (r) => {
    const m = r.url().match(/\/pkg\/split___([a-z_]+)_view_\d+\.[\w-]+\.wasm$/);
    if (m && r.ok()) loaded.add(m[1]);
  });
  await page.goto("/login");
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await expect.poll(() => [...loaded].sort(), { timeout: 30_000 }).toEqual(editors);
  // Every file's name carries its content's hash, so a browser keeps it for good and a new
  // build's page can never be paired with an old build's module.
  const prefetched = await page
    .locator("head link[rel=prefetch][href^='/pkg/']")
    .evaluateAll((links) => links.map((l) => l.getAttribute("href")!));
  const prefetchedEditors = prefetched.flatMap((f) => f.match(/\/pkg\/split___([a-z_]+)_view_\d+\./)?.[1] ?? []);
  expect(prefetchedEditors.sort()).toEqual(editors);
  const files = await page
    .locator("head link[href^='/pkg/']:not([rel=prefetch])")
    .evaluateAll((links) => links.map((l) => l.getAttribute("href")!));
  expect(files.map((f) => f.replace(/\.[\w-]{22}\./, ".<hash>.")).sort()).toEqual([
    "/pkg/switchyard.<hash>.css",
    "/pkg/switchyard.<hash>.js",
    "/pkg/switchyard.<hash>.wasm",
  ]);
  for (const file of files) {
    const r = await page.request.get(file);
    expect(r.status(), file).toBe(200);
    expect(r.headers()["cache-control"], file).toBe("public, max-age=31536000, immutable");
    // Asked anyway (a reload), it costs a round trip, not the file: 304 with no body.
    const lastModified = r.headers()["last-modified"];
    expect(lastModified, file).toBeTruthy();
    const again = await page.request.get(file, { headers: { "if-modified-since": lastModified } });
    expect(again.status(), file).toBe(304);
    expect((await again.body()).length, file).toBe(0);
  }
  // Brotli, made at build time, to a browser that takes it; gzip otherwise.
  const wasm = files.find((f) => f.endsWith(".wasm"))!;
  for (const encoding of ["br", "gzip"]) {
    const r = await page.request.get(wasm, { headers: { "accept-encoding": encoding } });
    expect(r.headers()["content-encoding"], encoding).toBe(encoding);
    expect((await r.body()).length, encoding).toBeGreaterThan(1000);
  }
  // A name that is not there is a plain 404, never kept.
  const missing = await page.request.get("/pkg/switchyard.AAAAAAAAAAAAAAAAAAAAAA.wasm");
  expect(missing.status()).toBe(404);
  expect(missing.headers()["cache-control"] ?? "").not.toContain("immutable");
});

test("a lazily loaded page asks for its data while its code is still downloading", async ({ page }) => {
  // The connection editor's module arrives late (held back, as on a slow link, until the page
  // has asked for its data, or 10 s at most); its route's LazyRoute::data, in the first
  // download, must ask for the graph while the module is still on its way.
  const module = /\/pkg\/split___connections_route_view_\d+\.[\w-]+\.wasm$/;
  await page.route(module, async (route) => {
    await expect.poll(() => asked, { timeout: 10_000 }).toBeGreaterThan(0).catch(() => {});
    await route.continue();
  });
  let asked = 0;
  let arrived = 0;
  page.on("request", (r) => {
    if (/\/api\/open_connections/.test(r.url()) && !asked) asked = Date.now();
  });
  page.on("requestfinished", (r) => {
    if (module.test(r.url()) && !arrived) arrived = Date.now();
  });
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.getByRole("navigation").getByRole("link", { name: "Connections" }).click();
  await expect(page.getByRole("heading", { name: "Connections" })).toBeVisible({ timeout: 20_000 });
  await expect.poll(() => asked && arrived, { timeout: 20_000 }).toBeTruthy();
  expect(asked, "the graph was asked for only after the editor's code arrived").toBeLessThan(arrived);
});

test("once the app has hydrated it loads the editors' modules ahead, and one that fails is left for its page", async ({
  page,
}) => {
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // The connection editor's module cannot be downloaded (a network failure) until the test lets it.
  const connections = /\/pkg\/split___connections_route_view_\d+\.[\w-]+\.wasm$/;
  let failing = true;
  let asked = 0;
  await page.route(connections, (route) => {
    asked++;
    return failing ? route.abort("failed") : route.continue();
  });
  const processes = /\/pkg\/split___processes_route_view_\d+\.[\w-]+\.wasm$/;
  let processesAsked = 0;
  page.on("request", (r) => {
    if (processes.test(r.url())) processesAsked++;
  });
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  // Seven modules go by the names the app gives (the editors, `new_process_route` among them by
  // its name, and the lists); all but the one that failed are loaded.
  const loaded = await page.evaluate(() => (globalThis as { __switchyardPreloaded?: Promise<number> }).__switchyardPreloaded);
  expect(loaded).toBe(6);
  expect(asked, "the failing module was asked for").toBeGreaterThan(0);
  expect(pageErrors, "a failed load ahead never reaches the app").toEqual([]);

  // A list loaded ahead opens without asking for its module again.
  const before = processesAsked;
  await page.getByRole("navigation").getByRole("link", { name: "Processes", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Processes", level: 1 })).toBeVisible();
  expect(processesAsked, "the processes list's module was loaded ahead").toBe(before);

  // The one that failed is loaded when its page opens.
  failing = false;
  const askedBefore = asked;
  await page.getByRole("navigation").getByRole("link", { name: "Connections" }).click();
  await expect(page.getByRole("heading", { name: "Connections", exact: true })).toBeVisible({ timeout: 20_000 });
  expect(asked, "the editor's module was asked for again when its page opened").toBeGreaterThan(askedBefore);
  expect(pageErrors).toEqual([]);
});
