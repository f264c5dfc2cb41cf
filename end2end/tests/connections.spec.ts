import { expect, type Locator, type Page } from "@playwright/test";
import { adminPassword, ensureExampleImage, login, publicNode, releaseNode, test } from "./fixtures";

async function deploy(
  page: Page,
  name: string,
  service: string,
  version: string,
  parameters: Record<string, string>,
  poolId: string,
): Promise<string> {
  const r = await page.request.post("/api/v1/processes", {
    data: { name, service_id: service, service_version: version, parameters, placement: { kind: "node_pool", pool_id: poolId } },
  });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()).id;
}

async function stateOf(page: Page, id: string): Promise<string> {
  const r = await page.request.get(`/api/v1/processes/${id}`);
  return r.ok() ? `${(await r.json()).state}` : `HTTP ${r.status()}`;
}

/** The middle of an element on screen (where the mouse grabs and drops). */
async function middle(l: Locator): Promise<{ x: number; y: number }> {
  await expect(l).toBeVisible();
  const box = await l.boundingBox();
  if (!box) throw new Error("the element has no box on screen");
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Press the mouse on `from` and move it, in steps, over `to`; the button stays down. */
async function dragOver(page: Page, from: Locator, to: Locator) {
  const a = await middle(from);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(a.x + 12, a.y + 6, { steps: 3 });
  // Measured again: the status line under the graph may have changed meanwhile.
  const b = await middle(to);
  await page.mouse.move(b.x, b.y, { steps: 12 });
}

test("connecting two processes by dragging in the editor, with the ports that do not fit greyed out", async ({ page, request }) => {
  test.setTimeout(300_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await ensureExampleImage(request, "sensor", "1.1.0");
  await ensureExampleImage(request, "counter", "1.0.0");
  await page.setViewportSize({ width: 1280, height: 1000 });

  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { node, poolId } = await publicNode(page, "e2e-connections");
  const nodeId = node.id;
  const run = Date.now().toString(36);
  const names = { a: `e2e-sensor-a-${run}`, b: `e2e-sensor-b-${run}`, counter: `e2e-counter-${run}` };
  const ids: string[] = [];
  try {
    const a = await deploy(page, names.a, "sensor", "1.0.0", { interval_ms: "500" }, poolId);
    ids.push(a);
    const b = await deploy(page, names.b, "sensor", "1.1.0", { interval_ms: "500" }, poolId);
    ids.push(b);
    const counter = await deploy(page, names.counter, "counter", "1.0.0", { step: "1" }, poolId);
    ids.push(counter);
    for (const id of ids) {
      await expect.poll(() => stateOf(page, id), { timeout: 120_000, message: `process ${id} reaches RUNNING` }).toBe("RUNNING");
    }

    await page.goto("/connections");
    await expect(page.getByRole("heading", { name: "Connections", exact: true })).toBeVisible();
    const port = (process: string, iface: string) =>
      page.locator(`svg.graph g.port[data-process="${process}"][data-interface="${iface}"]`);
    const portA = port(names.a, "sensor/temperature");
    const portB = port(names.b, "sensor/temperature");
    const portCounter = port(names.counter, "counter/temperature");
    await expect(portA).toHaveAttribute("data-multiple", "true");
    await expect(portCounter).toHaveAttribute("data-multiple", "false");
    const ours = page.locator("svg.graph g.edge").filter({ has: page.locator("title", { hasText: names.counter }) });
    await expect(ours).toHaveCount(0);

    // Hold sensor A's port over the counter's: the counter fits, the other sensor does not.
    await dragOver(page, portA, portCounter);
    await expect(portA).toHaveAttribute("class", /\borigin\b/);
    await expect(portCounter).toHaveAttribute("class", /\bfits\b/);
    await expect(portB).toHaveAttribute("class", /\bunfit\b/);
    await expect(portB).toHaveAttribute("data-reason", /do not fit/);
    await expect(portB).toHaveAttribute("aria-label", /do not fit/);
    await expect(portB.locator("title")).toContainText("do not fit");
    await expect(page.getByTestId("editor-status")).toContainText("fits");
    await page.mouse.up();

    // The edge appears at once and becomes CONNECTED once both processes accepted it.
    await expect(ours).toHaveCount(1);
    await expect(ours).toHaveAttribute("data-state", "CONNECTED", { timeout: 60_000 });
    await expect(ours.locator(".edge-label")).toHaveText("1 ↔ 1");
    const connectionId = await ours.getAttribute("data-connection");
    expect(connectionId).toBeTruthy();
    const row = page.locator(`table.connections tr[data-connection="${connectionId}"]`);
    await expect(row).toContainText(names.a);
    await expect(row).toContainText(names.counter);
    await expect(row).toContainText("CONNECTED");
    // No more greyed ports once the mouse is released.
    await expect(page.locator("svg.graph g.port.unfit")).toHaveCount(0);

    // The counter allows one connection: from it, sensor B is greyed out with the reason,
    // and dropping there connects nothing but says why.
    await dragOver(page, portCounter, portB);
    await expect(portB).toHaveAttribute("class", /\bunfit\b/);
    await expect(portB).toHaveAttribute("data-reason", /allows only one connection/);
    await expect(portA).toHaveAttribute("data-reason", /already connected|allows only one connection/);
    await page.mouse.up();
    await expect(page.getByTestId("editor-alert")).toContainText("allows only one connection");
    await expect(ours).toHaveCount(1);

    // The keyboard form says the same: from the counter nothing fits.
    await page.locator("#connect-from").selectOption(`${counter} counter/temperature`);
    await expect(page.locator(`#connect-to option[value="${b} sensor/temperature"]`)).toBeDisabled();
    await expect(page.locator(`#connect-to option[value="${b} sensor/temperature"]`)).toHaveAttribute(
      "data-reason",
      /allows only one connection/,
    );

    // Select the edge, look at it, terminate it (confirmed): it leaves the graph.
    await ours.locator(".edge-label").click();
    const panel = page.getByTestId("connection-panel");
    await expect(panel).toHaveAttribute("data-connection", connectionId!);
    await expect(panel).toContainText("CONNECTED");
    await expect(panel).toContainText(names.a);
    await expect(panel).toContainText(names.counter);
    await expect(ours).toHaveAttribute("class", /\bselected\b/);
    await panel.getByRole("button", { name: "Terminate…" }).click();
    await panel.getByRole("button", { name: "Really terminate" }).click();
    await expect(panel).toContainText(/terminat|ended/i);
    await expect(ours).toHaveCount(0, { timeout: 60_000 });
    await expect(panel).toContainText("This connection has ended", { timeout: 10_000 });
    await expect(row).toHaveCount(0);
    const ended = await page.request.get(`/api/v1/connections/${connectionId}`);
    expect(ended.ok()).toBeTruthy();
    expect((await ended.json()).state).toBe("TERMINATED");
  } finally {
    for (const id of ids) {
      await page.request.delete(`/api/v1/processes/${id}`);
    }
    for (const id of ids) {
      await expect
        .poll(async () => (await page.request.get(`/api/v1/processes/${id}`)).status(), { timeout: 60_000 })
        .toBe(404)
        .catch(() => {});
    }
    await releaseNode(page, nodeId, poolId);
  }
});
