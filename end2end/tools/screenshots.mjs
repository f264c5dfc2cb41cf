// Screenshots of the main pages, for people to look at (not a test): node tools/screenshots.mjs
// Needs E2E_BASE_URL and E2E_ADMIN_PASSWORD; writes PNGs to screenshots/.
import { chromium } from "@playwright/test";

const base = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8080";
const password = process.env.E2E_ADMIN_PASSWORD;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const shot = (name) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
await page.goto(`${base}/login`);
await page.fill("input[name=username]", "admin");
await page.fill("input[name=password]", "wrong-password");
await page.click("button[type=submit]");
await page.getByRole("alert").waitFor();
await shot("01-login-error");
await page.fill("input[name=password]", password);
await page.click("button[type=submit]");
await page.getByRole("heading", { name: "Overview" }).waitFor();
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
await browser.close();
