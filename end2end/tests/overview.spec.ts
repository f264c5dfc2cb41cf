import AxeBuilder from "@axe-core/playwright";
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { adminPassword, ensureExampleImage, login, ownUser, pushImage, test, tidy } from "./fixtures";

// The overview as a dashboard: a new user's first-run checklist, a process that fails on the
// real swarm (its image has no command, so every task of it is rejected) listed under "Failing
// now" with its reason and a link, the counts by state, recent activity, the nodes' load, the
// checklist gone once a node, a deployment and a connection exist; all of it updated live on the
// page as it stays open. The user is one of the test's own, so the counts are the test's alone.

// The servers under test read services under this prefix (scripts/test makes one per run).
const prefix = process.env.E2E_REGISTRY_PREFIX ?? "services/";

/**
 * Push a service image the swarm cannot start: labels and no layers, so no command. Docker
 * rejects each of its tasks, and a process of it goes FAILED.
 */
async function pushBrokenImage(request: APIRequestContext, repo: string, tag: string) {
  await pushImage(request, repo, tag, {
    "org.flexiblepower.serviceName": "E2E Broken",
    "org.flexiblepower.interfaces": "[]",
    "org.flexiblepower.parameters": "[]",
  });
}

async function deploy(page: Page, data: object): Promise<string> {
  const r = await page.request.post("/api/v1/processes", { data });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()).id;
}

test("the overview shows a failing process with its reason, the counts, activity, nodes and the first-run checklist", async ({
  page,
  browser,
  request,
}) => {
  test.setTimeout(420_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await ensureExampleImage(request, "counter", "1.0.0");
  const run = Date.now().toString(36);
  const brokenService = `e2e-broken-${run}`;
  await pushBrokenImage(request, `${prefix}${brokenService}`, "1.0");

  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { user, remove } = await ownUser(page, browser, "overview");
  let passed = false;
  try {
    // A user with nothing deployed: the first steps, the node one done (ownUser made the swarm's
    // node public), the other two to do, each with the link that does it.
    await user.goto("/");
    await expect(user.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
    await expect(user.getByTestId("overview-scope")).not.toContainText("administrator");
    const checklist = user.getByTestId("checklist");
    await expect(checklist.getByRole("heading", { name: "Get started", level: 2 })).toBeVisible();
    await expect(checklist.locator("li[data-step=node]")).toHaveAttribute("data-done", "true");
    await expect(checklist.locator("li[data-step=deploy]")).toHaveAttribute("data-done", "false");
    await expect(checklist.locator("li[data-step=connect]")).toHaveAttribute("data-done", "false");
    await expect(checklist.getByRole("link", { name: "Open the catalogue" })).toHaveAttribute("href", "/services");
    await expect(checklist.getByRole("link", { name: "Open the connection editor" })).toHaveAttribute("href", "/connections");
    await expect(user.getByTestId("no-usable-node")).toHaveCount(0);

    const failing = user.getByTestId("failing");
    await expect(failing.getByTestId("nothing-failing")).toHaveText(/Nothing is failing/);
    const processCounts = user.locator("[data-testid=counts] [data-group=processes]");
    // The counts read as words: "0 failed", a link to the list filtered to them.
    const failedCount = processCounts.getByRole("link", { name: /^\d+ failed$/ });
    await expect(failedCount).toHaveText("0 failed");
    await expect(failedCount).toHaveAttribute("href", "/processes?state=FAILED");
    await expect(user.locator('[data-testid=counts] a[data-count="change-failed"]')).toHaveAttribute(
      "href",
      "/pending-changes?state=failed",
    );
    // The nodes the user may use: the public node of the user's pool, with its processes' link.
    const capacity = user.getByTestId("capacity");
    const ourNode = capacity.locator("li[data-node]").filter({ hasText: /public · pool e2e-overview-/ });
    await expect(ourNode).toHaveCount(1);
    await expect(ourNode.locator("a[data-processes]")).toHaveAttribute("href", /^\/processes\?node=[0-9a-f]+$/);

    // A process that fails on the swarm. The page stays open: what follows arrives live.
    await expect
      .poll(async () => (await user.request.get(`/api/v1/services/${brokenService}`)).status(), {
        timeout: 120_000,
        message: "the catalogue reads the broken service",
      })
      .toBe(200);
    const brokenName = `overview-broken-${run}`;
    const broken = await deploy(user, { name: brokenName, service_id: brokenService, service_version: "1.0" });
    let reason = "";
    await expect
      .poll(
        async () => {
          const p = await (await user.request.get(`/api/v1/processes/${broken}`)).json();
          reason = p.state_reason ?? "";
          return p.state;
        },
        { timeout: 180_000, message: "the process without a command fails" },
      )
      .toBe("FAILED");
    expect(reason, "a failed process says why").not.toBe("");

    const row = failing.locator(`li[data-failing=process][data-id="${broken}"]`);
    await expect(row).toBeVisible({ timeout: 30_000 });
    await expect(row.locator("[data-reason]")).toHaveText(reason);
    await expect(row.getByRole("link", { name: brokenName })).toHaveAttribute("href", `/processes/${broken}`);
    await expect(failing.getByTestId("nothing-failing")).toHaveCount(0);
    await expect(failedCount).toHaveText("1 failed");
    // Its link stands out from the text around it in either scheme, not by colour alone (axe's
    // link-in-text-block; dark mode once failed it here).
    for (const colorScheme of ["light", "dark"] as const) {
      await user.emulateMedia({ colorScheme });
      const axe = await new AxeBuilder({ page: user }).include(".failing-list").withRules(["link-in-text-block"]).analyze();
      expect(axe.violations.map((v) => `${colorScheme}: ${v.id}`), "the failing list's links").toEqual([]);
      await failing.screenshot({ path: test.info().outputPath(`failing-now-${colorScheme}.png`) });
    }
    await user.emulateMedia({ colorScheme: "light" });
    await expect(checklist.locator("li[data-step=deploy]")).toHaveAttribute("data-done", "true");
    await expect(checklist.locator("li[data-step=connect]")).toHaveAttribute("data-done", "false");
    // The creation is in the recent activity, linked to the process.
    const recent = user.getByTestId("recent");
    await expect(recent.locator(`a[href="/processes/${broken}"]`).first()).toContainText(brokenName);
    await expect(recent.getByRole("link", { name: "All activity" })).toHaveAttribute("href", "/activity");

    // The link opens the process.
    await row.getByRole("link", { name: brokenName }).click();
    await expect(user).toHaveURL(new RegExp(`/processes/${broken}$`));
    await expect(user.getByRole("heading", { name: brokenName, level: 1 })).toBeVisible();

    // Deploy two that fit and connect them: the last two steps are done, and the list goes.
    await user.goto("/");
    await expect(checklist).toBeVisible();
    const sensor = await deploy(user, { name: `overview-sensor-${run}`, service_id: "sensor", service_version: "1.0.0", parameters: { interval_ms: "1000" } });
    const counter = await deploy(user, { name: `overview-counter-${run}`, service_id: "counter", service_version: "1.0.0", parameters: { step: "1" } });
    const connected = await user.request.post("/api/v1/connections", {
      data: {
        endpoint1: { process_id: sensor, interface_id: "sensor/temperature" },
        endpoint2: { process_id: counter, interface_id: "counter/temperature" },
      },
    });
    expect(connected.status(), await connected.text()).toBe(201);
    await expect(checklist).toHaveCount(0, { timeout: 30_000 });
    await expect(user.locator("[data-testid=counts] [data-group=connections] .total")).toHaveText("1");
    await expect(processCounts.locator(".total")).toHaveText("3");
    // All three are placed on the nodes the user may use (one per node at least is counted).
    await expect
      .poll(async () =>
        (await capacity.locator("a[data-processes]").evaluateAll((links) =>
          links.reduce((sum, a) => sum + Number(a.getAttribute("data-processes")), 0),
        )),
      )
      .toBe(3);

    // Nothing is wider than a phone; the panels stack. Pictures for the closing note, light and dark.
    for (const scheme of ["light", "dark"] as const) {
      await user.emulateMedia({ colorScheme: scheme });
      for (const size of [{ width: 1440, height: 900 }, { width: 390, height: 844 }]) {
        await user.setViewportSize(size);
        await expect(user.getByTestId("failing")).toBeVisible();
        const wide = await user.evaluate(() => document.documentElement.scrollWidth);
        expect(wide, `the overview fits ${size.width} px`).toBeLessThanOrEqual(size.width);
        await user.screenshot({ path: test.info().outputPath(`overview-${size.width}-${scheme}.png`), fullPage: true });
      }
    }

    // An administrator sees everyone's, and is told so: the user's failing process is there.
    await page.goto("/");
    await expect(page.getByTestId("overview-scope")).toContainText("administrator");
    await expect(page.locator(`[data-testid=failing] li[data-failing=process][data-id="${broken}"]`)).toBeVisible();
    passed = true;
  } finally {
    await tidy(passed, remove);
  }
});
