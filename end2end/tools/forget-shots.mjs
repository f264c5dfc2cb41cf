// Screenshots of the node view with a node that has left the swarm, before and after an
// administrator forgets it, for people to look at (not a test): node tools/forget-shots.mjs HOSTNAME
// Needs E2E_BASE_URL and E2E_ADMIN_PASSWORD, and HOSTNAME to have left the swarm (for example
// `scripts/cluster remove w4`). Writes PNGs to screenshots/.
import { expect } from "@playwright/test";
import { adminPage, base, launch } from "./browser.mjs";

const hostname = process.argv[2];
if (!hostname) throw new Error("usage: node tools/forget-shots.mjs HOSTNAME");
const browser = await launch();
const page = await adminPage(browser, { width: 1280, height: 900 });
const shot = (name) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
const row = page.locator(`tr[data-node="${hostname}"]`);
await expect
  .poll(async () => {
    await page.goto(`${base}/nodes`);
    return (await row.textContent()) ?? "";
  }, { timeout: 60_000, message: `${hostname} is shown as having left the swarm` })
  .toContain("left the swarm");
await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
await shot("30-node-left-the-swarm");
await row.getByRole("button", { name: "Forget" }).click();
await row.waitFor({ state: "detached" });
await shot("31-node-forgotten");
await browser.close();
