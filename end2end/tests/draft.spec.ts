import { expect, type Page } from "@playwright/test";
import { applyDocument, adminPassword, ensureExampleImage, login, ownUser, test, tidy } from "./fixtures";

// The connection editor's draft: changes staged on the graph (a connection, a process deployed
// and connected from a port), undone and redone with the keyboard and the buttons, wired in the
// connection matrix, then reviewed as a plan and applied as one deployment. The network is a
// user's of its own, so the other tests' processes (the admin's) are never in it.

test("the connection editor stages a draft: undo and redo, the matrix, deploy and connect, review and apply", async ({
  page,
  browser,
  request,
}) => {
  test.setTimeout(480_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await ensureExampleImage(request, "counter", "1.0.0");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { user, remove } = await ownUser(page, browser, "draft");
  let passed = false;
  try {
    await applyDocument(user, {
      processes: [
        { name: "kitchen", service: "sensor", version: "1.0.0", parameters: { interval_ms: 500, unit: "celsius" } },
        { name: "tally", service: "counter", version: "1.0.0", parameters: { step: 1 } },
      ],
    });

    await user.goto("/connections");
    const graph = user.getByTestId("connection-graph");
    const port = (process: string, iface: string) =>
      graph.locator(`g.port[data-process="${process}"][data-interface="${iface}"]`);
    await expect(port("kitchen", "sensor/temperature")).toBeVisible();
    await user.getByTestId("draft-mode").check();

    // Stage a connection by clicking two ports: drawn as staged, nothing made.
    await port("kitchen", "sensor/temperature").click();
    await port("tally", "counter/temperature").click();
    const staged = graph.locator("g.edge[data-staged=added]");
    await expect(staged).toHaveCount(1);
    await expect(user.getByTestId("draft-count")).toHaveText("1 change staged");
    expect(await (await user.request.get("/api/v1/connections")).json(), "staging makes nothing").toEqual([]);

    // Undo and redo, with the keyboard and with the buttons.
    await user.locator("body").press("Control+z");
    await expect(staged).toHaveCount(0);
    await user.locator("body").press("Control+Shift+Z");
    await expect(staged).toHaveCount(1);
    const bar = user.getByTestId("draft-bar");
    await bar.getByRole("button", { name: "Undo" }).click();
    await expect(staged).toHaveCount(0);
    await bar.getByRole("button", { name: "Redo" }).click();
    await expect(staged).toHaveCount(1);

    // The matrix shows the staged connection ticked; unticking it unstages it, undo brings it back.
    await user.getByTestId("matrix").locator("summary").click();
    await user.getByTestId("matrix-rows").selectOption("sensor/temperature");
    await user.getByTestId("matrix-cols").selectOption("counter/temperature");
    const cell = user.locator('[data-testid=connection-matrix] input[data-row="kitchen"][data-col="tally"]');
    await expect(cell).toBeChecked();
    await cell.uncheck();
    await expect(staged).toHaveCount(0);
    await user.locator("body").press("Control+y");
    await expect(staged).toHaveCount(0);
    await bar.getByRole("button", { name: "Undo" }).click();
    await expect(staged).toHaveCount(1);
    await expect(cell).toBeChecked();

    // Deploy and connect: the catalogue's counter fits the sensor's port; choosing it stages a
    // new process and its connection.
    await port("kitchen", "sensor/temperature").click();
    await user.keyboard.press("Escape");
    const options = user.getByTestId("deploy-and-connect");
    await expect(options).toContainText("Services that fit");
    const counterOption = options.locator("li[data-service=counter]").first();
    await counterOption.getByRole("button", { name: "Deploy counter and connect" }).click();
    // The counter's step has no default: its value is asked for before it is staged.
    await expect(graph.locator("g.proc[data-staged=true]")).toHaveCount(0);
    await counterOption.getByLabel(/Step/).fill("2");
    await counterOption.getByRole("button", { name: /Stage counter/ }).click();
    await expect(graph.locator("g.proc[data-staged=true]")).toHaveCount(1);
    await expect(staged).toHaveCount(2);
    await expect(user.getByTestId("draft-list").locator("li")).toHaveCount(3);
    await user.screenshot({ path: test.info().outputPath("draft-editor.png"), fullPage: true });

    // Review: the plan of the draft; Apply: one deployment, then the graph as staged, for real.
    await user.click("#review-draft");
    const plan = user.locator("section.plan");
    await expect(plan.locator(".plan-summary")).toContainText("1 to create · 2 to connect");
    await user.click("#apply-plan");
    const deployment = user.locator("section.deployment");
    await expect(deployment.locator("[data-state=SUCCEEDED]")).toBeVisible({ timeout: 240_000 });
    await expect(user.getByTestId("draft-count")).toHaveText(/Nothing staged/);
    await expect(graph.locator("g.proc[data-staged=true]")).toHaveCount(0);
    await expect(graph.locator("g.edge[data-state=CONNECTED]")).toHaveCount(2, { timeout: 60_000 });
    const connections = (await (await user.request.get("/api/v1/connections")).json()) as { state: string }[];
    expect(connections.map((c) => c.state)).toEqual(["CONNECTED", "CONNECTED"]);
    passed = true;
  } finally {
    await tidy(passed, remove);
  }
});
