// Helpers shared by the browser tests. The servers and their credentials come
// from scripts/test through environment variables.
import type { Page } from "@playwright/test";

/** The admin password scripts/test gave the servers under test. */
export function adminPassword(): string {
  const password = process.env.E2E_ADMIN_PASSWORD;
  if (!password) {
    throw new Error("E2E_ADMIN_PASSWORD is not set: run the browser tests through scripts/test");
  }
  return password;
}

/** URL of the server started with a 3-second session idle timeout. */
export function shortSessionUrl(): string {
  const url = process.env.E2E_SHORT_SESSION_URL;
  if (!url) {
    throw new Error("E2E_SHORT_SESSION_URL is not set: run the browser tests through scripts/test");
  }
  return url;
}

/**
 * Fills and submits the login form at /login (relative to the page's baseURL
 * unless `baseUrl` is given, e.g. shortSessionUrl()). It asserts nothing about
 * the outcome, so tests of a rejected login can use it too.
 */
export async function login(
  page: Page,
  username: string,
  password: string,
  baseUrl?: string,
): Promise<void> {
  await page.goto(baseUrl ? new URL("/login", baseUrl).toString() : "/login");
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
}
