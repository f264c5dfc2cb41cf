import { expect, type Page } from "@playwright/test";
import { adminPassword, login, test } from "./fixtures";

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
}

async function createUser(page: Page, username: string, password: string, email = "", admin = false) {
  await page.goto("/users/new");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  if (email) await page.getByLabel("Email").fill(email);
  if (admin) await page.getByLabel("Administrator").check();
  await page.getByRole("button", { name: "Create user" }).click();
}

test("the admin creates a user, logs out, and the user logs in", async ({ page }) => {
  const name = unique("erin");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await createUser(page, name, "erin-password", "erin@example.org");
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await expect(page.getByText("The user was created.")).toBeVisible();

  await page.goto("/users");
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText("erin@example.org");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await login(page, name, "erin-password");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.locator(".whoami")).toContainText(name);
});

test("validation errors show next to their field and create nothing", async ({ page }) => {
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const name = unique("frank");

  // The browser accepts a@b as an email address; the server does not, and says so by the field.
  await createUser(page, name, "frank-password", "frank@localhost");
  await expect(page.locator('.field-error[data-field="email"]')).toHaveText("email must look like name@example.org");
  await expect(page).toHaveURL(/\/users\/new$/);

  // A taken username is a form-level error.
  await createUser(page, "admin", "some-password");
  await expect(page.getByRole("alert")).toContainText("a user with username 'admin' already exists");

  await page.goto(`/users?q=${name}`);
  await expect(page.getByText("No users match")).toBeVisible();
});

test("the admin edits, resets and deletes a user", async ({ page, browser }) => {
  const name = unique("gina");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await createUser(page, name, "gina-password");
  await expect(page.getByRole("heading", { name })).toBeVisible();

  // Gina logs in elsewhere.
  const gina = await browser.newPage();
  await login(gina, name, "gina-password");
  await expect(gina.getByRole("heading", { name: "Overview" })).toBeVisible();

  await page.getByLabel("Email").fill("gina@example.org");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();

  await page.getByLabel("New password").fill("gina-new-password");
  await page.getByRole("button", { name: "Reset password" }).click();
  await expect(page.getByText("The password was reset.")).toBeVisible();
  // A reset logs the user out everywhere.
  expect((await gina.request.get("/api/v1/auth/me")).status()).toBe(401);

  await page.getByRole("button", { name: "Delete user…" }).click();
  await page.getByRole("button", { name: `Really delete ${name}` }).click();
  await expect(page).toHaveURL(/\/users\?deleted=1/);
  await expect(page.getByText("The user was deleted.")).toBeVisible();
  await expect(page.locator(`tr[data-user="${name}"]`)).toHaveCount(0);
  await gina.close();
});

test("a user who is not an admin has no Users menu and the API refuses", async ({ page, browser }) => {
  const name = unique("hal");
  const admin = await browser.newPage();
  await login(admin, "admin", adminPassword());
  await expect(admin.getByRole("heading", { name: "Overview" })).toBeVisible();
  await createUser(admin, name, "hal-password");
  await expect(admin.getByRole("heading", { name })).toBeVisible();
  await admin.close();

  await login(page, name, "hal-password");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "main" });
  await expect(nav.getByRole("link", { name: "Nodes" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Users" })).toHaveCount(0);

  const list = await page.request.get("/api/v1/users");
  expect(list.status()).toBe(403);
  expect((await list.json()).error.code).toBe("forbidden");

  await page.goto("/users");
  await expect(page.getByRole("alert")).toHaveText("only administrators may do this");
});
