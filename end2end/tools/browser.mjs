// What the tools here share: Debian's Chromium launched as the browser tests launch it, and the
// admin logged in (E2E_ADMIN_PASSWORD) on a page of its own.
import { chromium } from "@playwright/test";

export const base = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8080";

export function launch() {
  return chromium.launch({
    executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/** A page of `browser` with the admin logged in, showing the overview. */
export async function adminPage(browser, viewport = { width: 1280, height: 1000 }) {
  const page = await browser.newPage({ viewport });
  await page.goto(`${base}/login`);
  await page.fill("input[name=username]", "admin");
  await page.fill("input[name=password]", process.env.E2E_ADMIN_PASSWORD);
  await page.click("button[type=submit]");
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  return page;
}
