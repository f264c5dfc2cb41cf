// Form details of issue 17: a deploy done with the keyboard only, precise messages with the focus
// on the first field in error, hints tied to their fields, and a node assigned anew in one step.
import { expect, type Page } from "@playwright/test";
import {
  adminPassword,
  ensureExampleImage,
  login,
  type Node,
  ownUser,
  publicNode,
  releaseNode,
  test,
  tidy,
} from "./fixtures";

/** What has the focus: its id, else its tag and name. */
async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return "";
    return el.id || `${el.tagName.toLowerCase()}${el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : ""}`;
  });
}

/** Press Tab (or Shift+Tab) until the focused element matches `selector`; what was passed on the way. */
async function tabTo(page: Page, selector: string, back = false, max = 80): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return seen;
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    seen.push(await focused(page));
  }
  throw new Error(`${back ? "Shift+Tab" : "Tab"} never reached ${selector}; passed ${seen.join(", ")}`);
}

/** The focused element shows it: an outline (or a box shadow) that is not none. */
async function focusIsVisible(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return false;
    const s = getComputedStyle(el);
    return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  });
}

/** The ids an attribute names that are not in the page (none, when it is right). */
async function missingIds(page: Page, selector: string, attribute: string): Promise<string[]> {
  return page.locator(selector).evaluate((el, attr) => {
    const ids = (el.getAttribute(attr) ?? "").split(/\s+/).filter((x) => x);
    return ids.filter((id) => !document.getElementById(id));
  }, attribute);
}

test("a process is deployed with the keyboard only", async ({ page, browser, request }) => {
  test.setTimeout(240_000);
  await ensureExampleImage(request, "sensor", "1.1.0");
  await login(page, "admin", adminPassword());
  const { user, remove } = await ownUser(page, browser, "kbd");
  let passed = false;
  try {
    await user.goto("/processes/new");
    await expect(user.getByRole("heading", { name: "Deploy a process" })).toBeVisible();

    // From the top of the page, Tab reaches the service first of the form's fields.
    await tabTo(user, "#service");
    expect(await focusIsVisible(user), "the focused service select shows it").toBe(true);
    // Arrow keys choose the service (each step is a change, as a mouse choice would be).
    const service = user.locator("#service");
    for (let i = 0; i < 100 && (await service.inputValue()) !== "sensor"; i++) {
      await user.keyboard.press("ArrowDown");
    }
    await expect(service).toHaveValue("sensor");
    // Its parameters appear, their defaults filled in.
    await expect(user.locator("#param-interval-ms")).toHaveValue("1000");
    const deploy = user.getByRole("button", { name: "Deploy" });
    await expect(deploy).toBeEnabled();

    // The order follows the page: version, name, placement, then the parameters.
    const order = await tabTo(user, "#name");
    expect(order).toContain("version");
    const name = `kbd-${Date.now().toString(36)}`;
    await user.keyboard.type(name);
    expect(await focusIsVisible(user), "the focused name field shows it").toBe(true);
    const after = await tabTo(user, "#param-interval-ms");
    expect(after.indexOf("placement")).toBeGreaterThanOrEqual(0);
    expect(after.indexOf("placement")).toBeLessThan(after.indexOf("param-interval-ms"));
    // A value typed over the default.
    await user.keyboard.press("Control+A");
    await user.keyboard.type("750");

    // Space ticks a checkbox: moving when its node fails.
    await tabTo(user, "input[name=move_on_failure]", true);
    await user.keyboard.press("Space");
    await expect(user.locator("input[name=move_on_failure]")).toBeChecked();

    // Enter on "Add variable" adds a row; Shift+Tab goes back into it.
    await tabTo(user, "button[data-add-env]");
    expect(await focusIsVisible(user), "the focused button shows it").toBe(true);
    await user.keyboard.press("Enter");
    await tabTo(user, "[data-env-row] input[placeholder=NAME]", true);
    await user.keyboard.type("GREETING");
    await user.keyboard.press("Tab");
    await user.keyboard.type("hello");

    // The resource limits open with Enter on their summary.
    await tabTo(user, "details.advanced summary");
    await user.keyboard.press("Enter");
    await expect(user.locator("details.advanced")).toHaveAttribute("open", "");
    await user.keyboard.press("Tab");
    expect(await focused(user)).toBe("memory");
    await user.keyboard.type("64");

    // Deploy with Enter on the button.
    await tabTo(user, ".deploy-form button[type=submit]");
    expect(await focusIsVisible(user), "the focused Deploy button shows it").toBe(true);
    await user.keyboard.press("Enter");

    await expect(user).toHaveURL(/\/processes\/[0-9a-f]{24}\?created=1/, { timeout: 30_000 });
    await expect(user.getByRole("heading", { name })).toBeVisible();
    await expect(user.locator('[data-config="parameters"] dd[data-key="interval_ms"]')).toHaveText("750");
    await expect(user.locator('[data-config="environment"] dd[data-key="GREETING"]')).toHaveText("hello");
    await expect(user.locator('[data-fact="move-on-failure"]')).toContainText("moves to another node");
    await expect(user.locator(".process-head")).toBeVisible();
    await expect(user.getByText("64 MiB memory")).toBeVisible();
    passed = true;
  } finally {
    await tidy(passed, remove);
  }
});

test("a refused deploy says precisely what is wrong and puts the focus there", async ({ page, request }) => {
  await ensureExampleImage(request, "sensor", "1.1.0");
  await login(page, "admin", adminPassword());
  await page.goto("/processes/new?service=sensor&version=1.1.0");
  const interval = page.locator("#param-interval-ms");
  await expect(interval).toHaveValue("1000");

  // Memory -5: not "a whole number of MiB", but what is wrong with it.
  await page.locator("details.advanced summary").click();
  const memory = page.locator("#memory");
  await memory.fill("-5");
  const message = page.locator('[data-field="limits.memory_bytes"]');
  await expect(message).toBeVisible();
  expect(await missingIds(page, "#memory", "aria-describedby"), "memory's aria-describedby").toEqual([]);
  // Closed again: the refused submit opens the limits to show the field.
  await page.locator("details.advanced summary").click();
  await expect(page.locator("details.advanced")).not.toHaveAttribute("open", "");
  await page.getByRole("button", { name: "Deploy" }).click();
  await expect(message).toContainText("cannot be negative");
  await expect(message).toContainText("at least 4 MiB");
  await expect(message).not.toContainText("whole number");
  await expect(memory).toBeFocused();
  await expect(memory).toHaveAttribute("aria-invalid", "true");
  const described = (await memory.getAttribute("aria-describedby")) ?? "";
  expect(described.split(/\s+/)).toContain(await message.getAttribute("id"));
  expect(await missingIds(page, "#memory", "aria-describedby"), "memory's aria-describedby").toEqual([]);
  await expect(page).toHaveURL(/\/processes\/new/);

  // A fraction of MiB, and a CPU count below the least.
  await memory.fill("1.5");
  await expect(message).toContainText("without a fraction");
  await memory.fill("");
  await expect(message).toHaveCount(0);
  expect(await missingIds(page, "#memory", "aria-describedby"), "memory's aria-describedby without a message").toEqual([]);
  await page.locator("#cpus").fill("-1");
  await expect(page.locator('[data-field="limits.nano_cpus"]')).toContainText("cannot be negative");
  await page.locator("#cpus").fill("");

  // An integer parameter beyond its type: its own bound, and only then.
  await interval.fill("3000000000");
  await page.getByRole("button", { name: "Deploy" }).click();
  const intervalMessage = page.locator('[data-field="parameters.interval_ms"]');
  await expect(intervalMessage).toContainText("no larger than 2147483647");
  await expect(intervalMessage).not.toContainText("-2147483648");
  await expect(interval).toBeFocused();
  await interval.fill("1.5");
  await expect(intervalMessage).toContainText("without a fraction");
  await expect(intervalMessage).not.toContainText("2147483647");
  expect(await missingIds(page, "#param-interval-ms", "aria-describedby")).toEqual([]);
  expect(await missingIds(page, "#name", "aria-describedby")).toEqual([]);
  expect(await missingIds(page, "#placement", "aria-describedby")).toEqual([]);
});

test("parameter hints are tied to their fields, and a default makes a parameter not required", async ({ page, request }) => {
  // None of the example images' parameter labels carries a `description` (the original's
  // schema has none); what every parameter has is its hint: type and default.
  await ensureExampleImage(request, "sensor", "1.1.0");
  await login(page, "admin", adminPassword());
  await page.goto("/processes/new?service=sensor&version=1.1.0");
  const interval = page.locator("#param-interval-ms");
  await expect(interval).toHaveValue("1000");
  const field = page.locator('[data-parameter="interval_ms"]');
  // interval_ms is declared not optional, with a default: the default fills it, so it is not
  // required of the user.
  await expect(field.locator(".required")).toHaveCount(0);
  await expect(interval).not.toHaveAttribute("aria-required", "true");
  await expect(interval).toHaveAttribute("placeholder", "default: 1000");
  const hint = page.locator("#param-interval-ms-hint");
  await expect(hint).toContainText("Default: 1000");
  await expect(interval).toHaveAttribute("aria-describedby", "param-interval-ms-hint");
  // Cleared, it is not an error (a changed field shows its message at once): the default applies.
  await interval.fill("");
  await expect(page.locator("#param-offset")).toBeVisible();
  await expect(page.locator('[data-field="parameters.interval_ms"]')).toHaveCount(0);
  await expect(interval).not.toHaveAttribute("aria-invalid", "true");
  // Every parameter field names only hints and messages that exist.
  for (const input of await page.locator("[data-parameter] input, [data-parameter] select").all()) {
    const ids = ((await input.getAttribute("aria-describedby")) ?? "").split(/\s+/).filter((x) => x);
    for (const id of ids) {
      expect(await page.evaluate((i) => !!document.getElementById(i), id), `#${id} exists`).toBe(true);
    }
  }
  // The choice with a default says what leaving it empty means.
  await expect(page.locator("#param-unit option[value='']")).toHaveText("(default: Celsius)");
});

test("the admin assigns a node anew in one step: pool to pool, then public to private", async ({ page }) => {
  test.setTimeout(120_000);
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { node, poolId } = await publicNode(page, "e2e-reassign-a");
  const otherName = `e2e-reassign-b-${Date.now().toString(36)}`;
  const other = await page.request.post("/api/v1/node-pools", { data: { name: otherName } });
  expect(other.status(), await other.text()).toBe(201);
  const otherId: string = (await other.json()).id;
  const username = `reassign-${Date.now().toString(36)}`;
  const created = await page.request.post("/api/v1/users", { data: { username, password: "a-long-password-for-reassign" } });
  expect(created.status(), await created.text()).toBe(201);
  const userId: string = (await created.json()).id;
  let passed = false;
  try {
    // The filter in the address: public nodes named like this one only.
    await page.goto(`/nodes?q=${encodeURIComponent(node.hostname)}&kind=public`);
    await expect(page.locator("#node-q")).toHaveValue(node.hostname);
    await expect(page.locator("#node-kind")).toHaveValue("public");
    await expect(page.getByRole("heading", { name: "Unidentified nodes" })).toHaveCount(0);
    await expect(page.getByRole("heading", { name: "Private nodes" })).toHaveCount(0);
    const publicNodes = page.locator("section", { has: page.getByRole("heading", { name: "Public nodes" }) });
    const row = publicNodes.locator(`tr[data-node="${node.hostname}"]`);
    await expect(row).toBeVisible();

    // Pool to pool, in one step.
    await row.getByLabel("Assign to").selectOption(`pool:${otherId}`);
    await expect(row.locator("[data-preview]")).toBeVisible();
    await row.getByRole("button", { name: "Reassign" }).click();
    await expect(row).toContainText(otherName);
    const moved: Node & { node_pool_id?: string } = await (await page.request.get(`/api/v1/nodes/${node.id}`)).json();
    expect(moved.kind).toBe("public");
    expect(moved.node_pool_id).toBe(otherId);

    // Public to private, in one step.
    await page.goto(`/nodes?q=${encodeURIComponent(node.hostname)}`);
    await row.getByLabel("Assign to").selectOption(`user:${userId}`);
    await expect(row.locator("[data-preview]")).toBeVisible();
    await row.getByRole("button", { name: "Reassign" }).click();
    const privateNodes = page.locator("section", { has: page.getByRole("heading", { name: "Private nodes" }) });
    await expect(privateNodes.locator(`tr[data-node="${node.hostname}"]`)).toContainText(username);
    await expect(row).toHaveCount(0);
    const mine: Node & { user_id?: string } = await (await page.request.get(`/api/v1/nodes/${node.id}`)).json();
    expect(mine.kind).toBe("private");
    expect(mine.user_id).toBe(userId);

    // A filter that matches nothing says so.
    await page.goto("/nodes?q=no-such-node-anywhere");
    await expect(page.getByText("No node here matches the filter.").first()).toBeVisible();
    passed = true;
  } finally {
    await tidy(passed, async () => {
      await releaseNode(page, node.id, poolId);
      const deleted = await page.request.delete(`/api/v1/node-pools/${otherId}`);
      expect(deleted.ok(), `deleting pool ${otherId}: ${await deleted.text()}`).toBeTruthy();
      const u = await (await page.request.get(`/api/v1/users/${userId}`)).json();
      await page.request.delete(`/api/v1/users/${userId}?revision=${u.revision}`);
    });
  }
});
