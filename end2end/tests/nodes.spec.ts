import { expect } from "@playwright/test";
import { adminPassword, login, test } from "./fixtures";

test("the admin onboards the swarm's node into a public pool and back", async ({ page }) => {
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto("/nodes");

  const pool = `e2e-pool-${Date.now().toString(36)}`;
  await page.getByPlaceholder("New pool name").fill(pool);
  await page.getByRole("button", { name: "Create pool" }).click();
  await expect(page.locator(`tr[data-pool="${pool}"]`)).toBeVisible();

  const unidentified = page.locator("section", { has: page.getByRole("heading", { name: "Unidentified nodes" }) });
  // The manager's row (the workers of scripts/cluster are unidentified too).
  const node = unidentified.locator("tr[data-node]", { hasText: "manager" });
  await expect(node).toContainText("manager");
  await expect(node).toContainText("ready");
  const hostname = await node.getAttribute("data-node");

  await node.getByLabel("Node pool").selectOption({ label: pool });
  await node.getByRole("button", { name: "Make public" }).click();
  const publicNodes = page.locator("section", { has: page.getByRole("heading", { name: "Public nodes" }) });
  const onboarded = publicNodes.locator(`tr[data-node="${hostname}"]`);
  await expect(onboarded).toContainText(pool);

  // A pool with a node in it cannot be deleted.
  await page.locator(`tr[data-pool="${pool}"]`).getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("alert")).toContainText("still has 1 node");

  await onboarded.getByRole("button", { name: "Make unidentified" }).click();
  await expect(unidentified.locator(`tr[data-node="${hostname}"]`)).toBeVisible();
  await expect(publicNodes.locator(`tr[data-node="${hostname}"]`)).toHaveCount(0);
});
