import { expect, type APIRequestContext } from "@playwright/test";
import { adminPassword, login, pushImage, test } from "./fixtures";

// The servers under test read services under this prefix (scripts/test makes one per run).
const prefix = process.env.E2E_REGISTRY_PREFIX ?? "services/";


test("the catalogue shows a service from the registry with its interfaces and parameters", async ({ page, request }) => {
  const id = `e2e-lamp-${Date.now().toString(36)}`;
  await pushImage(request, `${prefix}${id}`, "0.3", {
    "org.flexiblepower.serviceName": "E2E Lamp",
    "org.flexiblepower.interfaces": JSON.stringify([{
      id: `${id}/switch`, name: "Switch", serviceId: id, allowMultiple: false, autoConnect: true,
      interfaceVersions: [{ versionName: "v1", sendsHash: "1111111111aaaa", receivesHash: "2222222222bbbb" }],
    }]),
    "org.flexiblepower.parameters": JSON.stringify([
      { id: "brightness", name: "Brightness", type: "integer", default: 80 },
    ]),
  });

  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto("/services");
  await page.getByRole("button", { name: "Refresh from registry" }).click();
  await page.getByLabel("Search services").fill("e2e lamp");
  await page.getByRole("button", { name: "Search" }).click();
  const row = page.locator(`tr[data-service="${id}"]`);
  await expect(row).toContainText("E2E Lamp");
  await expect(row).toContainText("0.3");
  await expect(row).toContainText("x86-64");

  await row.getByRole("link", { name: "E2E Lamp" }).click();
  await expect(page.getByRole("heading", { name: "E2E Lamp" })).toBeVisible();
  const version = page.locator('section[data-version="0.3"]');
  await expect(version).toContainText("Switch");
  await expect(version).toContainText("auto-connect");
  await expect(version).toContainText("Brightness");
  await expect(version).toContainText("80");
});

test("an unknown service says so", async ({ page }) => {
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto("/services/no-such-service");
  await expect(page.getByRole("alert")).toHaveText("no service 'no-such-service' in the registry");
});
