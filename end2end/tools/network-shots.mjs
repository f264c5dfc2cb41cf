// Screenshots of the Network page and the upgrade control, for people to look at (not a test):
// node tools/network-shots.mjs   (E2E_BASE_URL, E2E_ADMIN_PASSWORD; the admin's network should
// hold examples/network.yaml applied, e.g. with `switchyard apply -f examples/network.yaml`).
// Writes screenshots/network-*.png; changes nothing (plans only).
import { base, launch, adminPage } from "./browser.mjs";

const browser = await launch();
const page = await adminPage(browser, { width: 1280, height: 900 });
const shot = (name, fullPage = false) => page.screenshot({ path: `screenshots/network-${name}.png`, fullPage });
await page.goto(`${base}/network`);
const editor = page.locator("#network-document");
await editor.waitFor();
await page.waitForFunction(() => document.querySelector("#network-document")?.value.includes("processes"));
await shot("page", true);
const text = await editor.inputValue();
// An upgrade, a reconfiguration, a removal and a new process with its connection, at once.
const edited = text
  .replace(/(name: kitchen-tally\n\s+service: counter\n\s+version: )1\.0\.0/, "$12.0.0")
  .replace("interval_ms: '2000'", "interval_ms: '500'")
  .replace(/- name: hall-tally[\s\S]*?(?=- name:|connections:)/, "")
  .replace(/- endpoints:\n  - process: hall\n[\s\S]*?interface: counter\/temperature\n/, "")
  .replace("connections:", "- name: porch\n  service: sensor\n  version: 1.1.0\n  parameters: {interval_ms: 1000}\nconnections:");
await editor.fill(edited);
await page.click("#review-plan");
const answer = page.locator("section.plan, section.problems");
await answer.first().waitFor();
await answer.first().scrollIntoViewIfNeeded();
await answer.first().screenshot({ path: "screenshots/network-plan.png" });
const processes = await (await page.request.get(`${base}/api/v1/processes`)).json();
const tally = processes.find((p) => p.name === "kitchen-tally");
if (tally) {
  await page.goto(`${base}/processes/${tally.id}`);
  await page.locator("#upgrade-to").waitFor({ timeout: 30_000 });
  await page.locator("#upgrade-to").scrollIntoViewIfNeeded();
  await shot("upgrade-control");
}
await browser.close();
