import { expect } from "@playwright/test";
import { adminPassword, login, test } from "./fixtures";

test("a user creates an API token, uses it, and revokes it", async ({ page, playwright }) => {
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto("/account");
  const name = `script-${Date.now()}`;
  await page.getByPlaceholder("What is it for?").fill(name);
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.locator(".token-secret").textContent())!.trim();
  expect(secret).toMatch(/^sy_/);
  await expect(page.locator(`tr[data-token="${name}"]`)).toBeVisible();

  // The token works without any cookie.
  const api = await playwright.request.newContext({ baseURL: page.url() });
  const ok = await api.get("/api/v1/auth/me", { headers: { authorization: `Bearer ${secret}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).username).toBe("admin");

  await page.locator(`tr[data-token="${name}"]`).getByRole("button", { name: "Revoke" }).click();
  await expect(page.locator(`tr[data-token="${name}"]`)).toHaveCount(0);
  const revoked = await api.get("/api/v1/auth/me", { headers: { authorization: `Bearer ${secret}` } });
  expect(revoked.status()).toBe(401);
  await api.dispose();
});

test("changing your password needs the current one", async ({ page, browser }) => {
  const admin = await browser.newPage();
  await login(admin, "admin", adminPassword());
  await expect(admin.getByRole("heading", { name: "Overview" })).toBeVisible();
  const name = `ivy-${Date.now().toString(36)}`;
  await admin.goto("/users/new");
  await admin.getByLabel("Username").fill(name);
  await admin.getByLabel("Password").fill("ivy-password");
  await admin.getByRole("button", { name: "Create user" }).click();
  await expect(admin.getByRole("heading", { name })).toBeVisible();
  await admin.close();

  await login(page, name, "ivy-password");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto("/account");
  await page.getByLabel("Current password").fill("not-my-password");
  await page.getByLabel("New password").fill("ivy-new-password");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator('.field-error[data-field="current_password"]')).toHaveText("the current password is wrong");

  await page.getByLabel("Current password").fill("ivy-password");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Your password was changed.")).toBeVisible();

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await login(page, name, "ivy-new-password");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
});
