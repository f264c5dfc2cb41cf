import { expect, type Page } from "@playwright/test";
import { adminPassword, ensureExampleImage, login, type Node, test, tidy } from "./fixtures";

/** The workers of scripts/cluster (hostnames sy-w1…); scripts/test brings up three. */
async function worker(page: Page, hostname: string): Promise<Node | undefined> {
  const nodes: Node[] = await (await page.request.get("/api/v1/nodes")).json();
  return nodes.find((n) => n.hostname === hostname);
}

async function assign(page: Page, id: string, data: Record<string, unknown>): Promise<void> {
  const node: Node = await (await page.request.get(`/api/v1/nodes/${id}`)).json();
  const r = await page.request.put(`/api/v1/nodes/${id}/assignment`, { data: { ...data, revision: node.revision } });
  expect(r.ok(), await r.text()).toBeTruthy();
}

test("a process dragged onto another node in the node view moves there and runs", async ({ page, request }) => {
  test.setTimeout(300_000);
  // Both nodes on screen: a drag that has to scroll the page on the way loses its drop.
  await page.setViewportSize({ width: 1280, height: 1000 });
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const [w1, w2] = [await worker(page, "sy-w1"), await worker(page, "sy-w2")];
  test.skip(!w1 || !w2, "SKIPPED: the worker nodes sy-w1 and sy-w2 of scripts/cluster are not in the swarm (scripts/test brings them up)");
  if (!w1 || !w2) return;
  await ensureExampleImage(request, "sensor", "1.0.0");
  const me = await (await page.request.get("/api/v1/auth/me")).json();

  // w1 in a pool of its own, w2 the admin's private node; a sensor on w1.
  const poolName = `e2e-move-${Date.now().toString(36)}`;
  const pool = await page.request.post("/api/v1/node-pools", { data: { name: poolName } });
  expect(pool.status(), await pool.text()).toBe(201);
  const poolId = (await pool.json()).id;
  let processId: string | undefined;
  let passed = false;
  try {
    await assign(page, w1.id, { kind: "public", node_pool_id: poolId });
    await assign(page, w2.id, { kind: "private", user_id: me.id });
    const name = `mover-${Date.now().toString(36)}`;
    const created = await page.request.post("/api/v1/processes", {
      data: {
        name,
        service_id: "sensor",
        service_version: "1.0.0",
        parameters: { interval_ms: "500" },
        placement: { kind: "node_pool", pool_id: poolId },
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    processId = (await created.json()).id;

    await page.goto("/nodes");
    // Both rows on screen, however many nodes and pools the swarm has: a drag that has to scroll
    // the page on the way loses its drop.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1280, height: Math.min(Math.max(1000, height + 200), 4000) });
    const from = page.locator('tr[data-node="sy-w1"]');
    const to = page.locator('tr[data-node="sy-w2"]');
    const chip = from.locator(`li.chip[data-process="${name}"]`);
    await expect(chip.locator("[data-state]")).toHaveText("RUNNING", { timeout: 90_000 });

    // Drag it onto w2: nothing moves until the move is confirmed.
    await expect(chip).toBeInViewport();
    await expect(to).toBeInViewport();
    await chip.dragTo(to);
    const dialog = page.getByRole("dialog", { name: "Confirm the move" });
    await expect(dialog).toContainText(`Move ${name} to private node sy-w2?`);
    expect((await (await page.request.get(`/api/v1/processes/${processId}`)).json()).running_node_id).toBe(w1.id);
    await dialog.getByRole("button", { name: "Move" }).click();
    await expect(dialog).toHaveCount(0);

    // It shows on w2, RUNNING, and the API agrees.
    const moved = to.locator(`li.chip[data-process="${name}"]`);
    await expect(moved.locator("[data-state]")).toHaveText("RUNNING", { timeout: 120_000 });
    await expect(from.locator(`li.chip[data-process="${name}"]`)).toHaveCount(0);
    const p = await (await page.request.get(`/api/v1/processes/${processId}`)).json();
    expect(p.running_node_id).toBe(w2.id);
    expect(p.state).toBe("RUNNING");
    expect(p.placement).toEqual({ kind: "private_node", node_id: w2.id });

    // Its page tells the story: the node, and the move's steps as pending changes.
    await page.goto(`/processes/${processId}`);
    await expect(page.locator('[data-fact="node"]')).toHaveText("sy-w2");
    for (const kind of ["suspend_process", "move_process", "resume_process"]) {
      await expect(page.locator(`tr[data-kind="${kind}"]`)).toBeVisible();
    }
    passed = true;
  } finally {
    // What the server knew when it failed: CI keeps only the printed output.
    if (!passed && processId) {
      const [p, changes] = await Promise.all([
        page.request.get(`/api/v1/processes/${processId}`, { timeout: 10_000 }).then((r) => r.text(), String),
        page.request.get(`/api/v1/processes/${processId}/pending-changes`, { timeout: 10_000 }).then((r) => r.text(), String),
      ]);
      console.log(`the process when the test failed: ${p}\nits pending changes: ${changes}`);
    }
    await tidy(passed, async () => {
      if (processId) {
        await page.request.delete(`/api/v1/processes/${processId}`, { timeout: 10_000 });
        await expect
          .poll(async () => (await page.request.get(`/api/v1/processes/${processId}`)).status(), { timeout: 60_000 })
          .toBe(404);
      }
      await assign(page, w1.id, { kind: "unidentified" });
      await assign(page, w2.id, { kind: "unidentified" });
      await page.request.delete(`/api/v1/node-pools/${poolId}`, { timeout: 10_000 });
    });
  }
});
