// Screenshots of the node view with a node that has left the swarm, before and after an
// administrator forgets it, for people to look at (not a test): node tools/forget-shots.mjs HOSTNAME
// Needs E2E_BASE_URL and E2E_ADMIN_PASSWORD, and HOSTNAME to have left the swarm (for example
// `scripts/cluster remove w4`). Writes PNGs to screenshots/.
import { chromium } from "@playwright/test";

const base = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8080";
const hostname = process.argv[2];
if (!hostname) throw new Error("usage: node tools/forget-shots.mjs HOSTNAME");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const shot = (name) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
await page.goto(`${base}/login`);
await page.fill("input[name=username]", "admin");
await page.fill("input[name=password]", process.env.E2E_ADMIN_PASSWORD);
await page.click("button[type=submit]");
await page.getByRole("heading", { name: "Overview" }).waitFor();
const row = page.locator(`tr[data-node="${hostname}"]`);
for (let tries = 0; ; tries++) {
  await page.goto(`${base}/nodes`);
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
  if ((await row.textContent()).includes("left the swarm")) break;
  if (tries > 30) throw new Error(`${hostname} is not shown as having left the swarm`);
  await page.waitForTimeout(1000);
}
await shot("30-node-left-the-swarm");
await row.getByRole("button", { name: "Forget" }).click();
await row.waitFor({ state: "detached" });
await shot("31-node-forgotten");
await browser.close();
