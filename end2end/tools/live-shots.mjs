// Screenshots of the live-operations UI, for people to look at (not a test):
// node tools/live-shots.mjs   (E2E_BASE_URL, E2E_ADMIN_PASSWORD; the swarm's manager node must be
// free to put in a pool). Deploys a counter, shows its page (state, logs following, activity), kills
// its container (the toast), the Activity page, and a page whose event stream is refused
// (Reconnecting…). Writes screenshots/live-*.png and removes what it made.
import { execSync } from "node:child_process";
import { base, launch, adminPage } from "./browser.mjs";

const browser = await launch();
const page = await adminPage(browser, { width: 1280, height: 900 });
const shot = (name, fullPage = false) => page.screenshot({ path: `screenshots/live-${name}.png`, fullPage });
const api = (method, path, data) => page.request.fetch(`${base}${path}`, { method, data });

const pool = await (await api("POST", "/api/v1/node-pools", { name: `shots-${Date.now().toString(36)}` })).json();
const nodes = await (await api("GET", "/api/v1/nodes")).json();
const node = nodes.find((n) => n.manager);
await api("PUT", `/api/v1/nodes/${node.id}/assignment`, { revision: node.revision, kind: "public", node_pool_id: pool.id });
const made = await api("POST", "/api/v1/processes", {
  name: "counter-demo", service_id: "counter", service_version: "1.0.0", parameters: { step: "1", interval_ms: "500" },
  placement: { kind: "node_pool", pool_id: pool.id },
});
const process = await made.json();
try {
  await page.goto(`${base}/processes/${process.id}`);
  await page.locator(".state-line").getByText("RUNNING").waitFor({ timeout: 120_000 });
  await page.locator(".logs .log-line").nth(5).waitFor({ timeout: 60_000 });
  await page.getByLabel("Search").fill("count=1");
  await page.locator("#logs-heading").scrollIntoViewIfNeeded();
  await shot("process-logs");
  await page.getByLabel("Search").fill("");
  const container = execSync(`docker ps -q --filter label=com.docker.swarm.service.name=${process.id}`).toString().trim().split("\n")[0];
  execSync(`docker kill ${container}`);
  await page.locator(".toast").first().waitFor({ timeout: 60_000 });
  await shot("toast");
  await page.locator(".logs .log-line.previous").first().waitFor({ timeout: 60_000 });
  await page.locator("#logs-heading").scrollIntoViewIfNeeded();
  await shot("process-logs-previous");
  await page.goto(`${base}/activity`);
  await page.locator("table.activity").waitFor();
  await shot("activity", true);
  await page.route("**/api/v1/events*", (route) => route.fulfill({ status: 503, body: "down" }));
  await page.goto(`${base}/processes`);
  await page.locator('.live-status[data-status="reconnecting"]').waitFor({ timeout: 15_000 });
  await shot("reconnecting");
} finally {
  await api("DELETE", `/api/v1/processes/${process.id}`);
  for (let i = 0; i < 120; i++) {
    if ((await api("GET", `/api/v1/processes/${process.id}`)).status() === 404) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const n = await (await api("GET", `/api/v1/nodes/${node.id}`)).json();
  await api("PUT", `/api/v1/nodes/${node.id}/assignment`, { revision: n.revision, kind: "unidentified" });
  await api("DELETE", `/api/v1/node-pools/${pool.id}`);
  await browser.close();
}
