// Live views: pages update from the event stream (/api/v1/events), not by polling.
import { execSync } from "node:child_process";
import { expect, type Page, type Request } from "@playwright/test";
import { adminPassword, ensureExampleImage, login, publicNode, releaseNode, test, tidy } from "./fixtures";

/** Every request a page makes from now on, but the event stream itself and the site's files. */
function watchRequests(page: Page): { at: number; url: string }[] {
  const seen: { at: number; url: string }[] = [];
  page.on("request", (r: Request) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith("/pkg/") || url.pathname === "/api/v1/events" || url.pathname === "/healthz") return;
    seen.push({ at: Date.now(), url: url.pathname });
  });
  return seen;
}

/**
 * Let `ms` of the page's time pass at once: its timers (a polling interval, a reconnect back-off)
 * fire as they would in that time (Playwright's clock, installed before the page loaded), with no
 * waiting. Then a request of our own, so that whatever the timers sent has been seen first.
 */
async function passTime(page: Page, ms: number) {
  await page.clock.runFor(ms);
  await page.evaluate(() => fetch("/healthz").then((r) => r.status));
}

/** The page's event stream is open (the header's status word says "live"). */
async function live(page: Page) {
  await expect(page.locator(".live-status")).toHaveAttribute("data-status", "live", { timeout: 10_000 });
}

test("a process created through the REST API appears in an open process list and connection editor without any polling", async ({
  page,
  request,
}) => {
  test.setTimeout(180_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { node, poolId } = await publicNode(page, "e2e-live");
  const name = `e2e-live-${Date.now().toString(36)}`;
  let id = "";
  const editor = await page.context().newPage();
  let passed = false;
  try {
    await page.clock.install();
    await editor.clock.install();
    await page.goto("/processes");
    await editor.goto("/connections");
    await live(page);
    await live(editor);
    const listAsked = watchRequests(page);
    const editorAsked = watchRequests(editor);

    // More than two of the old polling periods (2 s) of the pages' time: nobody asks for anything.
    await passTime(page, 4_500);
    await passTime(editor, 4_500);
    expect(listAsked, "the process list asked for something while nothing changed").toEqual([]);
    expect(editorAsked, "the connection editor asked for something while nothing changed").toEqual([]);

    const created = Date.now();
    const r = await page.request.post("/api/v1/processes", {
      data: { name, service_id: "sensor", service_version: "1.0.0", placement: { kind: "node_pool", pool_id: poolId } },
    });
    expect(r.status(), await r.text()).toBe(201);
    id = (await r.json()).id;

    // Both show it at once: well within one old polling period.
    await expect(page.locator("table.processes").getByRole("link", { name })).toBeVisible({ timeout: 1_500 });
    await expect(editor.locator(`g[data-box="${name}"]`)).toBeVisible({ timeout: 1_500 });
    // What they asked for, they asked for after the change, because of it.
    expect(listAsked.length, "the list loaded the change").toBeGreaterThan(0);
    expect(listAsked.every((r) => r.at >= created), JSON.stringify(listAsked)).toBeTruthy();
    expect(editorAsked.every((r) => r.at >= created), JSON.stringify(editorAsked)).toBeTruthy();

    // Its state follows it on both pages as it starts, still without polling.
    await expect(page.locator(`tr:has(a:text-is("${name}"))`).getByText("RUNNING")).toBeVisible({ timeout: 90_000 });
    await expect(editor.locator(`g[data-box="${name}"]`)).toHaveClass(/state-running/, { timeout: 10_000 });
    passed = true;
  } finally {
    await tidy(passed, async () => {
      if (id) {
        const gone = await page.request.delete(`/api/v1/processes/${id}`);
        expect(gone.ok(), await gone.text()).toBeTruthy();
        await expect
          .poll(async () => (await page.request.get(`/api/v1/processes/${id}`)).status(), { timeout: 60_000 })
          .toBe(404);
      }
      // A deleted process vanishes from the open list by itself.
      if (passed) await expect(page.locator("table.processes").getByRole("link", { name })).toHaveCount(0);
      await editor.close();
      await releaseNode(page, node.id, poolId);
    });
  }
});

test("a lost event stream says so, the page keeps itself current meanwhile, and it reconnects by itself", async ({ page }) => {
  test.setTimeout(120_000);
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  // The stream is refused (as by a proxy or a server that is restarting).
  await page.route("**/api/v1/events*", (route) => route.fulfill({ status: 503, body: "down for a moment" }));
  await page.goto("/nodes");
  const status = page.locator(".live-status");
  await expect(status).toHaveAttribute("data-status", "reconnecting");
  await expect(status).toHaveText(/Reconnecting/);
  // Meanwhile the page refreshes itself every 2 s: a new pool shows up without a reload.
  const asked = watchRequests(page);
  const pool = `e2e-live-pool-${Date.now().toString(36)}`;
  const r = await page.request.post("/api/v1/node-pools", { data: { name: pool } });
  expect(r.status()).toBe(201);
  const poolId = (await r.json()).id;
  let passed = false;
  try {
    // (In the pools table; the name is also an option of the assignment form, hidden.)
    await expect(page.getByRole("cell", { name: pool, exact: true })).toBeVisible({ timeout: 5_000 });
    expect(asked.length, "it polled while the stream was down").toBeGreaterThan(0);
    // The stream comes back: the word goes, and so does the polling.
    await page.unroute("**/api/v1/events*");
    await expect(status).toHaveAttribute("data-status", "live", { timeout: 30_000 });
    await expect(status).toHaveText("");
    // Back, the page reloads once (it may have missed events); after that, nothing more.
    // (A real-time window here: with Playwright's clock the back-off and the polling interval
    // have not yet been made to agree with the fake time; the first test uses the clock.)
    const quiet = watchRequests(page);
    const back = Date.now();
    await page.waitForTimeout(4_500); // the measurement: two old polling periods
    expect(quiet.filter((r) => r.at > back + 1_000), "no polling once the stream is back").toEqual([]);
    passed = true;
  } finally {
    await tidy(passed, async () => {
      const deleted = await page.request.delete(`/api/v1/node-pools/${poolId}`);
      expect(deleted.ok(), await deleted.text()).toBeTruthy();
    });
  }
});

test("the process page follows its logs, searches them, and a killed container raises a toast and an activity entry", async ({
  page,
  request,
}) => {
  test.setTimeout(240_000);
  await ensureExampleImage(request, "counter", "1.0.0");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { node, poolId } = await publicNode(page, "e2e-logs");
  const name = `e2e-logs-${Date.now().toString(36)}`;
  let id = "";
  let passed = false;
  try {
    const r = await page.request.post("/api/v1/processes", {
      data: {
        name, service_id: "counter", service_version: "1.0.0", parameters: { step: "1", interval_ms: "300" },
        placement: { kind: "node_pool", pool_id: poolId },
      },
    });
    expect(r.status(), await r.text()).toBe(201);
    id = (await r.json()).id;
    await page.goto(`/processes/${id}`);
    await live(page);
    const lines = page.locator(".logs .log-line");
    // Lines arrive by themselves while the page is open (Follow is on), each with its time.
    await expect(lines.filter({ hasText: "count=" }).first()).toBeVisible({ timeout: 120_000 });
    const before = await lines.count();
    await expect.poll(async () => await lines.count(), { timeout: 15_000 }).toBeGreaterThan(before);
    await expect(lines.first().locator("time")).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT/);
    await expect(lines.first().locator("time")).not.toContainText("UTC"); // the viewer's zone, not the server's
    // Search: only matching lines, the match marked.
    await page.getByLabel("Search").fill("count=");
    await expect(page.locator(".logs mark").first()).toHaveText("count=");
    await page.getByLabel("Search").fill("no line says this");
    await expect(page.locator(".logs")).toContainText("No line matches.");
    await page.getByLabel("Search").fill("");
    // Download: a text file of the lines.
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download" }).click();
    const file = await (await download).path();
    expect(file).toBeTruthy();

    // The container killed: a toast says so on the page, and the old container's lines are marked.
    const container = execSync(`docker ps -q --filter label=com.docker.swarm.service.name=${id}`).toString().trim().split("\n")[0];
    expect(container, "the process has a running container").toBeTruthy();
    execSync(`docker kill ${container}`);
    const toast = page.locator(".toast").filter({ hasText: name });
    await expect(toast).toBeVisible({ timeout: 60_000 });
    // Why, as far as Switchyard knew when it raised it: the reconciler saw the old container
    // killed, or the new one asked for its configuration first.
    await expect(toast).toContainText(/killed|137|restarted/);
    await expect(page.locator(".state-line")).toContainText("RUNNING", { timeout: 120_000 });
    await expect(page.locator(".logs .log-line.previous").first()).toBeVisible({ timeout: 30_000 });

    // The Activity page has the creation, made through the API by the admin.
    await page.goto("/activity");
    const row = page.locator('tr[data-action="POST /api/v1/processes"]').filter({ hasText: name }).first();
    await expect(row).toBeVisible();
    await expect(row).toContainText("admin");
    passed = true;
  } finally {
    await tidy(passed, async () => {
      if (id) {
        const gone = await page.request.delete(`/api/v1/processes/${id}`);
        expect(gone.ok(), await gone.text()).toBeTruthy();
        await expect
          .poll(async () => (await page.request.get(`/api/v1/processes/${id}`)).status(), { timeout: 60_000 })
          .toBe(404);
      }
      await releaseNode(page, node.id, poolId);
    });
  }
});
