import { expect, type Locator, type Page } from "@playwright/test";
import { applyDocument, adminPassword, ensureExampleImage, login, ownUser, test, tidy } from "./fixtures";

// Wiring that reads like data flow (issue 17, item 3) and the graph's pan and zoom (item 4): a
// sensor (its Temperature interface sends TemperatureReading) connected to a counter (receives
// it). The sensor's port is on the right of its box, the counter's on the left; the edge runs
// sensor → counter with the negotiated versions; the table says the same; the catalogue page
// of the counter names the sensor (deployed and in the catalogue) as fitting. The network is a
// user's of its own.

/** The user's processes by name (the list answers an array, or a page of items). */
async function processIds(page: Page): Promise<Record<string, string>> {
  const body = await (await page.request.get("/api/v1/processes?per_page=100")).json();
  const list = (Array.isArray(body) ? body : body.items) as { id: string; name: string }[];
  return Object.fromEntries(list.map((p) => [p.name, p.id]));
}

async function box(l: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  await expect(l).toBeVisible();
  const b = await l.boundingBox();
  if (!b) throw new Error("the element has no box on screen");
  return b;
}

const centre = (b: { x: number; y: number; width: number; height: number }) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

test("wiring reads like data flow: outputs right, inputs left, edges and rows sender → receiver, versions, catalogue fits, zoom", async ({
  page,
  browser,
  request,
}) => {
  test.setTimeout(480_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await ensureExampleImage(request, "counter", "1.0.0");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { user, remove } = await ownUser(page, browser, "wiring");
  let passed = false;
  try {
    await applyDocument(user, {
      processes: [
        { name: "kitchen", service: "sensor", version: "1.0.0", parameters: { interval_ms: 500, unit: "celsius" } },
        { name: "tally", service: "counter", version: "1.0.0", parameters: { step: 1 } },
      ],
    });
    const ids = await processIds(user);
    expect(ids["kitchen"] && ids["tally"], JSON.stringify(ids)).toBeTruthy();
    // Stored receiver first: what is drawn and listed must follow the data, not the storage order.
    const made = await user.request.post("/api/v1/connections", {
      data: {
        endpoint1: { process_id: ids["tally"], interface_id: "counter/temperature" },
        endpoint2: { process_id: ids["kitchen"], interface_id: "sensor/temperature" },
      },
    });
    expect(made.status(), await made.text()).toBe(201);
    const connectionId: string = (await made.json()).id;

    await user.goto("/connections");
    const graph = user.getByTestId("connection-graph");
    const senderPort = graph.locator('g.port[data-process="kitchen"][data-interface="sensor/temperature"]');
    const receiverPort = graph.locator('g.port[data-process="tally"][data-interface="counter/temperature"]');
    await expect(senderPort).toHaveAttribute("data-flow", "out");
    await expect(receiverPort).toHaveAttribute("data-flow", "in");
    // One port each, on its side: the output on the right edge, the input on the left edge.
    await expect(senderPort.locator("circle.port-dot")).toHaveCount(1);
    await expect(receiverPort.locator("circle.port-dot")).toHaveCount(1);
    const senderBox = await box(graph.locator('g.proc[data-box="kitchen"] > rect.proc-box'));
    const receiverBox = await box(graph.locator('g.proc[data-box="tally"] > rect.proc-box'));
    const output = await box(senderPort.locator('circle.port-dot[data-side="output"]'));
    const input = await box(receiverPort.locator('circle.port-dot[data-side="input"]'));
    expect(Math.abs(centre(output).x - (senderBox.x + senderBox.width))).toBeLessThan(3);
    expect(Math.abs(centre(input).x - receiverBox.x)).toBeLessThan(3);
    // Named by name and message types, no hash on the port.
    await expect(senderPort.locator("text.port-name")).toHaveText("Temperature");
    await expect(senderPort.locator("text.port-messages")).toHaveText("→ TemperatureReading");
    await expect(receiverPort.locator("text.port-messages")).toHaveText("← TemperatureReading");
    await expect(senderPort).toHaveAttribute("aria-label", /output, sends TemperatureReading/);

    // The edge: from the sender to the receiver, one arrowhead at the receiver's input, the versions.
    const edge = graph.locator(`g.edge[data-connection="${connectionId}"]`);
    await expect(edge).toHaveAttribute("data-source", "kitchen");
    await expect(edge).toHaveAttribute("data-target", "tally");
    await expect(edge).toHaveAttribute("data-source-id", ids["kitchen"]);
    await expect(edge).toHaveAttribute("data-target-id", ids["tally"]);
    await expect(edge).toHaveAttribute("data-flow", "one-way");
    await expect(edge.locator(".edge-label")).toHaveText("1 ↔ 1");
    await expect(edge.locator("title")).toContainText("'kitchen' Temperature → 'tally' Temperature");
    await expect(edge.locator("polygon.edge-head")).toHaveCount(1);
    const head = centre(await box(edge.locator("polygon.edge-head")));
    expect(Math.abs(head.y - centre(input).y)).toBeLessThan(3);
    expect(head.x).toBeLessThan(centre(input).x);
    expect(centre(input).x - head.x).toBeLessThan(20);

    // The table: From is the sender, with the interface's name; no hash anywhere in the row.
    const row = user.locator(`table.connections tr[data-connection="${connectionId}"]`);
    await expect(row).toHaveAttribute("data-source", "kitchen");
    await expect(row).toHaveAttribute("data-target", "tally");
    await expect(row.locator("td.from")).toContainText("kitchen");
    await expect(row.locator("td.from")).toContainText("Temperature");
    await expect(row.locator("td.to")).toContainText("tally");
    await expect(row.locator("td").first()).toContainText("kitchen");
    await expect(row).toContainText("1 ↔ 1");
    expect(await row.innerText()).not.toMatch(/[0-9a-f]{16}/);

    // Search and sort, in the address.
    const search = user.getByTestId("connections-search");
    await search.fill("no-such-process");
    await expect(row).toHaveCount(0);
    await expect(user.getByTestId("connections-none-match")).toBeVisible();
    await expect(user).toHaveURL(/[?&]q=no-such-process/);
    await search.fill("tally");
    await expect(row).toHaveCount(1);
    await user.getByTestId("connections-sort").selectOption("to");
    await expect(user).toHaveURL(/[?&]sort=to/);
    await expect(user).toHaveURL(/[?&]q=tally/);
    // The address alone gives the same view.
    await user.goto("/connections?q=no-such-process&sort=to");
    await expect(user.locator(`table.connections tr[data-connection="${connectionId}"]`)).toHaveCount(0);
    await expect(user.getByTestId("connections-search")).toHaveValue("no-such-process");
    await user.goto("/connections");

    // Zoom: + changes the view, Fit restores it; the keyboard and the wheel do the same.
    const viewport = user.getByTestId("graph-viewport");
    await user.getByRole("button", { name: "Fit the graph" }).click();
    const fitted = await viewport.getAttribute("transform");
    expect(fitted).toMatch(/^translate\(.+\) scale\(.+\)$/);
    await user.getByRole("button", { name: "Zoom in" }).click();
    await expect(viewport).not.toHaveAttribute("transform", fitted!);
    await expect(viewport).toHaveAttribute("transform", /scale\((?!1\.0000\))/);
    await user.getByRole("button", { name: "Fit the graph" }).click();
    await expect(viewport).toHaveAttribute("transform", fitted!);
    await graph.focus();
    await user.keyboard.press("+");
    await expect(viewport).not.toHaveAttribute("transform", fitted!);
    await user.keyboard.press("0");
    await expect(viewport).toHaveAttribute("transform", fitted!);
    await user.keyboard.press("ArrowLeft");
    await expect(viewport).not.toHaveAttribute("transform", fitted!);
    await user.keyboard.press("0");
    await expect(viewport).toHaveAttribute("transform", fitted!);
    const g = await box(graph);
    await user.mouse.move(g.x + 8, g.y + g.height - 8);
    await user.mouse.wheel(0, -300);
    await expect(viewport).not.toHaveAttribute("transform", fitted!);
    // Dragging the background pans.
    const zoomed = await viewport.getAttribute("transform");
    await user.mouse.down();
    await user.mouse.move(g.x + 60, g.y + g.height - 40, { steps: 5 });
    await user.mouse.up();
    await expect(viewport).not.toHaveAttribute("transform", zoomed!);
    await user.getByRole("button", { name: "Fit the graph" }).click();
    await expect(viewport).toHaveAttribute("transform", fitted!);

    // Zoomed out too far to read, boxes are outlines without ports; a click on one zooms in on it.
    const outline = user.locator('svg.graph g.proc.outline[data-box="kitchen"]');
    for (let i = 0; i < 12 && (await outline.count()) === 0; i++) {
      await user.getByRole("button", { name: "Zoom out" }).click();
    }
    await expect(outline).toHaveAttribute("aria-label", /kitchen .*zoom in on it/);
    await expect(user.locator("svg.graph .port")).toHaveCount(0);
    await expect(user.locator(`svg.graph .edge.outline[data-connection="${connectionId}"]`)).toHaveCount(1);
    const level = Number((await user.getByTestId("zoom-level").innerText()).replace(/\D/g, ""));
    expect(level).toBeLessThan(40);
    await outline.click();
    await expect(user.getByTestId("zoom-level")).toHaveText("100 %");
    await expect(user.locator('svg.graph g.proc[data-box="kitchen"] .port').first()).toBeVisible();
    await expect(graph.locator(`g.edge:not(.outline)[data-connection="${connectionId}"] .edge-label`)).toHaveCount(1);
    await user.getByRole("button", { name: "Fit the graph" }).click();
    await expect(viewport).toHaveAttribute("transform", fitted!);

    // The edge's panel says the versions and which way data goes.
    await edge.locator(".edge-label").click();
    const panel = user.getByTestId("connection-panel");
    await expect(panel).toHaveAttribute("data-connection", connectionId);
    await expect(panel.getByTestId("panel-versions")).toHaveText("1 ↔ 1");
    await expect(panel).toContainText("From (sends)");
    await expect(panel).toContainText("sends TemperatureReading");
    await expect(panel.locator("details.hashes").first()).not.toHaveAttribute("open", /.*/);

    // The catalogue: the counter's interface is an input, and the sensor fits it (deployed and
    // in the catalogue), with no hash to compare by eye.
    await user.goto("/services/counter");
    const itf = user.locator('section[data-version="1.0.0"] tr[data-interface="counter/temperature"]');
    await expect(itf).toContainText("input");
    await expect(itf).toContainText("receives TemperatureReading");
    await expect(itf.locator('li[data-fit-process="kitchen"]')).toBeVisible();
    await expect(itf.locator('li[data-fit-process="kitchen"]')).toContainText("Temperature");
    await expect(itf.locator('li[data-fit-service="sensor"]')).toBeVisible();
    await expect(itf.locator('li[data-fit-process="tally"]')).toHaveCount(0);
    await expect(itf.locator("details.hashes")).not.toHaveAttribute("open", /.*/);

    // At 390 px the graph fits its box on load and the page is no wider than the window.
    await user.setViewportSize({ width: 390, height: 844 });
    await user.goto("/connections");
    await expect(user.getByTestId("graph-viewport")).toHaveAttribute("transform", /scale\((?!1\.0000\))/);
    const frame = await box(user.getByTestId("connection-graph"));
    expect(frame.x + frame.width).toBeLessThanOrEqual(390);
    for (const name of ["kitchen", "tally"]) {
      const b = await box(user.locator(`svg.graph g.proc[data-box="${name}"] > rect.proc-box`));
      expect(b.x).toBeGreaterThanOrEqual(frame.x - 1);
      expect(b.x + b.width).toBeLessThanOrEqual(frame.x + frame.width + 1);
      expect(b.y).toBeGreaterThanOrEqual(frame.y - 1);
      expect(b.y + b.height).toBeLessThanOrEqual(frame.y + frame.height + 1);
    }
    expect(await user.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    passed = true;
  } finally {
    await tidy(passed, remove);
  }
});
