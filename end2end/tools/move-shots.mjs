// Screenshots of the node view with processes on worker nodes, the move confirmation, and a
// process page's move panel, for people to look at (not a test): node tools/move-shots.mjs
// Needs E2E_BASE_URL, E2E_ADMIN_PASSWORD and the workers sy-w1, sy-w2 of scripts/cluster; writes
// PNGs to screenshots/. It makes sy-w1 public (pool "edge") and sy-w2 the admin's private node.
import { adminPage, base, launch } from "./browser.mjs";

const browser = await launch();
const page = await adminPage(browser);
const shot = (name) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
const api = page.request;
const nodes = await (await api.get(`${base}/api/v1/nodes`)).json();
const ready = (h) => nodes.find((n) => n.hostname === h && n.status === "READY");
const w1 = ready("sy-w1"), w2 = ready("sy-w2");
const me = await (await api.get(`${base}/api/v1/auth/me`)).json();
let pools = await (await api.get(`${base}/api/v1/node-pools`)).json();
let pool = pools.find((p) => p.name === "edge");
if (!pool) pool = await (await api.post(`${base}/api/v1/node-pools`, { data: { name: "edge" } })).json();
if (w1.kind !== "public") await api.put(`${base}/api/v1/nodes/${w1.id}/assignment`, { data: { kind: "public", node_pool_id: pool.id, revision: w1.revision } });
if (w2.kind !== "private") await api.put(`${base}/api/v1/nodes/${w2.id}/assignment`, { data: { kind: "private", user_id: me.id, revision: w2.revision } });
const name = `kitchen-sensor-${Date.now().toString(36)}`;
const made = await api.post(`${base}/api/v1/processes`, { data: { name, service_id: "sensor", parameters: { interval_ms: "500" }, placement: { kind: "node_pool", pool_id: pool.id } } });
const p = await made.json();
await page.goto(`${base}/nodes`);
const chip = page.locator(`li.chip[data-process="${name}"] [data-state]`);
await chip.filter({ hasText: "RUNNING" }).waitFor({ timeout: 90_000 });
await shot("20-nodes-with-processes");
await page.locator(`li.chip[data-process="${name}"]`).dragTo(page.locator('tr[data-node="sy-w2"]').filter({ hasText: "ready" }));
await page.getByRole("dialog", { name: "Confirm the move" }).waitFor();
await shot("21-confirm-move");
await page.getByRole("dialog").getByRole("button", { name: "Move" }).click();
await page.goto(`${base}/processes/${p.id}`);
await shot("22-process-moving");
await page.locator('[data-fact="node"]').filter({ hasText: "sy-w2" }).waitFor({ timeout: 90_000 });
await page.locator("[data-state]").first().filter({ hasText: "RUNNING" }).waitFor({ timeout: 90_000 });
await shot("23-process-moved");
await browser.close();
