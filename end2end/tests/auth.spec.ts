import { expect } from "@playwright/test";
import { adminPassword, login, shortSessionUrl, test } from "./fixtures";

test("a wrong password is refused with a visible message", async ({ page }) => {
  await login(page, "admin", "not-the-password");
  await expect(page.getByRole("alert")).toHaveText("wrong username or password");
  await expect(page).toHaveURL(/\/login/);
  // Still not logged in: pages send us back to the login form.
  await page.goto("/users");
  await expect(page).toHaveURL(/\/login\?next=%2Fusers|\/login\?next=\/users/);
});

test("the admin logs in, sees the admin menu, and logs out", async ({ page }) => {
  await login(page, "admin", adminPassword());
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "main" });
  for (const item of ["Services", "Processes", "Connections", "Nodes", "Pending changes", "Users"]) {
    await expect(nav.getByRole("link", { name: item })).toBeVisible();
  }
  await expect(page.locator(".whoami")).toContainText("admin");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  // The session is over on the server too.
  const me = await page.request.get("/api/v1/auth/me");
  expect(me.status()).toBe(401);
});

test("a login goes back to the page that asked for it", async ({ page }) => {
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.fill("input[name=username]", "admin");
  await page.fill("input[name=password]", adminPassword());
  await page.click("button[type=submit]");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: "My account" })).toBeVisible();
});

test("an idle session expires on the server", async ({ page, context }) => {
  const base = shortSessionUrl(); // this server ends sessions after 3 s without a request
  await login(page, "admin", adminPassword(), base);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const cookie = (await context.cookies(base)).find((c) => c.name === "switchyard_session");
  expect(cookie, "a session cookie was set").toBeTruthy();
  const expiresMs = cookie!.expires * 1000;
  expect(expiresMs).toBeGreaterThan(Date.now());

  // Wait (with a deadline) until the idle time has passed, sending no request meanwhile.
  await expect.poll(() => Date.now(), { timeout: 15_000, intervals: [250] }).toBeGreaterThan(expiresMs + 1000);

  // The server refuses the old session even when a client still sends it...
  const replay = await page.request.fetch(`${base}/api/v1/auth/me`, {
    headers: { cookie: `switchyard_session=${cookie!.value}` },
  });
  expect(replay.status()).toBe(401);
  // ...and the browser is sent to the login page.
  await page.goto(`${base}/users`);
  await expect(page).toHaveURL(/\/login\?next=/);
});
