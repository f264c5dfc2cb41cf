// Screenshots of the main pages, for people to look at (not a test): node tools/screenshots.mjs
// Needs E2E_BASE_URL and E2E_ADMIN_PASSWORD; writes PNGs to screenshots/. The first part expects a
// fresh server (it creates demo-user); SCREENSHOTS_ONLY=processes takes only the process pages.
import { expect } from "@playwright/test";
import { base, launch } from "./browser.mjs";

const password = process.env.E2E_ADMIN_PASSWORD;
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const shot = async (name) => {
  // From the top, so the sticky top bar is where it belongs in the full-page picture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
};
await page.goto(`${base}/login`);
await page.fill("input[name=username]", "admin");
await page.fill("input[name=password]", "wrong-password");
await page.click("button[type=submit]");
await page.getByRole("alert").waitFor();
await shot("01-login-error");
await page.fill("input[name=password]", password);
await page.click("button[type=submit]");
await page.getByRole("heading", { name: "Overview" }).waitFor();
if (process.env.SCREENSHOTS_ONLY !== "processes") {
await shot("02-overview");
await page.goto(`${base}/users/new`);
await page.getByLabel("Username").fill("demo-user");
await page.getByLabel("Password").fill("demo-password");
await page.getByLabel("Email").fill("demo@localhost");
await page.getByRole("button", { name: "Create user" }).click();
await page.locator(".field-error").waitFor();
await shot("03-new-user-error");
await page.getByLabel("Email").fill("demo@example.org");
await page.getByRole("button", { name: "Create user" }).click();
await page.getByText("The user was created.").waitFor();
await shot("04-edit-user");
await page.goto(`${base}/users`);
await page.locator("table.list").waitFor();
await shot("05-users");
await page.goto(`${base}/account`);
await page.getByPlaceholder("What is it for?").fill("deploy script");
await page.getByRole("button", { name: "Create token" }).click();
await page.locator(".token-secret").waitFor();
await shot("06-account");
await page.goto(`${base}/nodes`);
await page.getByRole("heading", { name: "Node pools", exact: true }).waitFor();
await shot("07-nodes");
await page.goto(`${base}/api/v1/docs/`);
await page.waitForLoadState("networkidle");
await shot("08-api-docs");
}

// Processes: needs the example images (scripts/images) under the server's registry prefix and
// a node to run on, which this makes public in a pool of its own (and gives back at the end).
const api = page.request;
const pool = await (await api.post(`${base}/api/v1/node-pools`, { data: { name: `screenshots-${Date.now().toString(36)}` } })).json();
const nodes = await (await api.get(`${base}/api/v1/nodes`)).json();
const node = nodes.find((n) => n.manager) ?? nodes[0];
await api.put(`${base}/api/v1/nodes/${node.id}/assignment`, {
  data: { revision: node.revision, kind: "public", node_pool_id: pool.id },
});
await page.goto(`${base}/processes`);
await page.getByRole("heading", { name: "Processes", exact: true }).waitFor();
await shot("09-processes-empty");
await page.goto(`${base}/processes/new?service=sensor&version=1.1.0`);
const interval = page.getByLabel("Interval (ms)");
await interval.waitFor();
await interval.fill("1.5");
await page.getByRole("button", { name: "Add variable" }).click();
await page.getByLabel("Name of variable 1").fill("1BAD");
await page.getByRole("button", { name: "Deploy" }).click();
await page.locator(".field-error").first().waitFor();
await page.locator("details.advanced summary").click();
await shot("10-new-process-errors");
await interval.fill("500");
await page.getByLabel("Name of variable 1").fill("GREETING");
await page.getByLabel("Value of variable 1").fill("hello");
await page.getByLabel("Name", { exact: true }).fill("kitchen sensor");
await page.getByRole("button", { name: "Deploy" }).click();
await page.getByRole("heading", { name: "kitchen sensor" }).waitFor();
await page.locator(".state-line .state-badge", { hasText: "RUNNING" }).waitFor({ timeout: 120_000 }).catch(() => {});
// The refreshed logs hold the sensor's first readings.
await expect
  .poll(async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    return (await page.locator("pre.logs").textContent({ timeout: 5_000 }).catch(() => "")) ?? "";
  }, { timeout: 30_000 })
  .not.toBe("");
await shot("11-process");
await page.getByRole("button", { name: "Edit" }).click();
await page.getByRole("button", { name: "Save configuration" }).waitFor();
await shot("12-process-edit");
await page.locator(".config-editor").getByRole("button", { name: "Cancel", exact: true }).click();
await page.goto(`${base}/processes`);
await page.locator("tr[data-process]").first().waitFor();
await shot("13-processes");
// A process that refuses its configuration (the sensor wants interval_ms >= 1): its change retries.
const refusing = await (await api.post(`${base}/api/v1/processes`, {
  data: { service_id: "sensor", name: "zero interval", parameters: { interval_ms: "0" } },
})).json();
await page.goto(`${base}/processes/${refusing.id}`);
await page.locator("table.changes tr", { hasText: "RETRYING" }).waitFor({ timeout: 60_000 }).catch(() => {});
await shot("14-process-retrying");
await page.goto(`${base}/pending-changes`);
await page.getByRole("heading", { name: "Pending changes" }).waitFor();
const retrying = page.locator("tr", { hasText: "RETRYING" }).first();
await retrying.getByRole("button", { name: "Retry" }).click().catch(() => {});
await page.locator(".notice, .error").first().waitFor().catch(() => {});
await shot("14-pending-changes");
await page.goto(`${base}/services/sensor`);
await page.locator('section[data-version="1.1.0"]').waitFor();
await shot("15-service-deploy-link");
const processes = await (await api.get(`${base}/api/v1/processes`)).json();
for (const p of processes) await api.delete(`${base}/api/v1/processes/${p.id}`);
await expect
  .poll(async () => (await (await api.get(`${base}/api/v1/processes`)).json()).length, { timeout: 60_000 })
  .toBe(0);
const again = await (await api.get(`${base}/api/v1/nodes/${node.id}`)).json();
await api.put(`${base}/api/v1/nodes/${node.id}/assignment`, { data: { revision: again.revision, kind: "unidentified" } });
await api.delete(`${base}/api/v1/node-pools/${pool.id}`);
await browser.close();
