import { expect } from "@playwright/test";
import { adminPassword, ensureExampleImage, login, ownUser, test, tidy } from "./fixtures";

// A user's whole network as a document, in the browser: plan (the graph diff and the steps),
// apply (live progress), edit and apply again, roll back from the history, and a document with
// problems shown at their paths. The network is a user's of its own, so the other tests'
// processes (the admin's) are never in it.
const NETWORK = `processes:
  - name: kitchen
    service: sensor
    version: 1.0.0
    parameters: {interval_ms: 500, unit: celsius}
  - name: tally
    service: counter
    version: 1.0.0
    parameters: {step: 1}
connections:
  - endpoints:
      - {process: kitchen, interface: sensor/temperature}
      - {process: tally, interface: counter/temperature}
`;

test("a network document is planned, applied, edited and rolled back from the Network page", async ({ page, browser, request }) => {
  test.setTimeout(420_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await ensureExampleImage(request, "counter", "1.0.0");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { user, remove } = await ownUser(page, browser, "net");
  let passed = false;
  try {
    await user.goto("/network");
    await expect(user.getByRole("heading", { name: "Network", exact: true })).toBeVisible();
    const editor = user.locator("#network-document");
    await expect(editor).toHaveValue(/processes: \[\]/);

    // Plan: two processes and their connection, added, drawn and listed; nothing made yet.
    await editor.fill(NETWORK);
    await user.click("#review-plan");
    const plan = user.locator("section.plan");
    await expect(plan.locator(".plan-summary")).toHaveText("2 to create · 1 to connect");
    await expect(plan.locator("svg g.node.added")).toHaveCount(2);
    await expect(plan.locator("svg line.edge.added")).toHaveCount(1);
    await expect(plan.locator("li.step.added")).toHaveCount(3);
    const before = await (await user.request.get("/api/v1/processes")).json();
    expect(before, "planning changes nothing").toEqual([]);
    await plan.screenshot({ path: test.info().outputPath("network-plan.png") });

    // Apply: the deployment's steps go DONE as they happen.
    await user.click("#apply-plan");
    const deployment = user.locator("section.deployment");
    await expect(deployment.getByRole("heading", { name: /Deployment #1/ })).toBeVisible();
    await expect(deployment.locator("[data-state=SUCCEEDED]")).toBeVisible({ timeout: 240_000 });
    await expect(deployment.locator("li.step[data-state=done]")).toHaveCount(3);
    await expect(user.locator("table.revisions tr[data-revision='1']")).toBeVisible();
    await deployment.screenshot({ path: test.info().outputPath("network-deployment.png") });

    // Edit: the counter steps by 3; the plan changes one field of one process.
    await user.click("button:has-text('Reload from the network')");
    await expect(editor).toHaveValue(/name: tally/);
    const text = await editor.inputValue();
    expect(text).toContain("step: '1'");
    await editor.fill(text.replace("step: '1'", "step: '3'"));
    await user.click("#review-plan");
    await expect(plan.locator(".plan-summary")).toContainText("1 to reconfigure");
    await expect(plan.locator("li.step[data-action=update_process]")).toContainText("parameters.step: 1 → 3");
    await expect(plan.locator("svg g.node.changed")).toHaveCount(1);
    await user.click("#apply-plan");
    await expect(deployment.getByRole("heading", { name: /Deployment #2/ })).toBeVisible();
    await expect(deployment.locator("[data-state=SUCCEEDED]")).toBeVisible({ timeout: 120_000 });

    // History: revision 2's diff names the change; restoring revision 1 plans it back.
    const row2 = user.locator("table.revisions tr[data-revision='2']");
    await expect(row2).toBeVisible();
    await row2.getByRole("button", { name: "Diff" }).click();
    await expect(user.locator(".diff")).toContainText("process changed 'tally' (parameters.step: 1 → 3)");
    await user.locator("table.revisions tr[data-revision='1']").getByRole("button", { name: "Restore", exact: true }).click();
    await expect(plan.getByRole("heading", { name: "Plan: roll back" })).toBeVisible();
    await expect(plan.locator("li.step[data-action=update_process]")).toContainText("parameters.step: 3 → 1");
    await user.click("#apply-plan");
    await expect(deployment.getByRole("heading", { name: /Deployment #3/ })).toBeVisible();
    await expect(deployment.locator("[data-state=SUCCEEDED]")).toBeVisible({ timeout: 120_000 });
    await expect(user.locator("table.revisions tr[data-revision='3']")).toContainText("(rollback)");
    const tally = ((await (await user.request.get("/api/v1/processes")).json()) as { name: string; parameters: { key: string; value: string }[] }[])
      .find((p) => p.name === "tally");
    expect(tally?.parameters).toContainEqual({ key: "step", value: "1" });

    // Any two revisions compared, not only one with the one before.
    await user.locator("#compare-from").selectOption({ label: "#1" });
    await user.locator("#compare-to").selectOption({ label: "#2" });
    await user.click("#compare-revisions");
    await expect(user.locator(".diff h3")).toHaveText("From revision #1 to #2");
    await expect(user.locator(".diff")).toContainText("parameters.step: 1 → 3");

    // Export a chosen set of processes: a document of those only (scope: listed).
    await user.locator("#export-only").fill("tally");
    await user.click("button:has-text('Reload from the network')");
    await expect(editor).toHaveValue(/scope: listed/);
    expect(await editor.inputValue()).toContain("name: tally");
    expect(await editor.inputValue()).not.toContain("name: kitchen");
    await user.locator("#export-only").fill("");

    // A document with problems: each shown with its path, nothing planned.
    await editor.fill(NETWORK.replace("name: kitchen\n    service: sensor", "name: porch\n    service: sensr"));
    await user.click("#review-plan");
    const problems = user.locator("section.problems");
    await expect(problems).toContainText("processes[0].service: unknown service 'sensr' — did you mean 'sensor'?");
    await expect(problems).toContainText("connections[0].endpoints[0].process");
    await expect(user.locator("section.plan")).toHaveCount(0);
    await problems.screenshot({ path: test.info().outputPath("network-problems.png") });
    passed = true;
  } finally {
    await tidy(passed, remove);
  }
});
