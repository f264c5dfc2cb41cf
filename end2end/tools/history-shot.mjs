// A screenshot of the Network page's history compared and a partial export (not a test):
// node tools/history-shot.mjs (E2E_BASE_URL, E2E_ADMIN_PASSWORD; the admin's network should
// have two revisions). Writes screenshots/network-history.png.
import { base, launch, adminPage } from "./browser.mjs";

const browser = await launch();
const page = await adminPage(browser, { width: 1280, height: 900 });
await page.goto(`${base}/network`);
await page.locator("#compare-from").waitFor();
await page.locator("#compare-from").selectOption({ label: "#1" });
await page.locator("#compare-to").selectOption({ label: "#2" });
await page.click("#compare-revisions");
await page.locator(".diff h3").waitFor();
await page.locator("#export-only").fill("tally");
await page.click("button:has-text('Reload from the network')");
await page.waitForFunction(() => document.querySelector("#network-document")?.value.includes("scope: listed"));
await page.screenshot({ path: "screenshots/network-history.png", fullPage: true });
await browser.close();
