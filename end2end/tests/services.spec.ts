import { createHash } from "node:crypto";
import { expect, type APIRequestContext } from "@playwright/test";
import { adminPassword, login, test } from "./fixtures";

const registry = process.env.SWITCHYARD_REGISTRY_URL ?? "http://10.213.0.1:5000";
// The servers under test read services under this prefix (scripts/test makes one per run).
const prefix = process.env.E2E_REGISTRY_PREFIX ?? "services/";

/** Push an image with no layers, only labels, to the real registry through its API. */
async function pushImage(request: APIRequestContext, repo: string, tag: string, labels: Record<string, string>) {
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64", os: "linux", created: new Date().toISOString(),
    config: { Labels: labels }, rootfs: { type: "layers", diff_ids: [] },
  }));
  const digest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  const start = await request.post(`${registry}/v2/${repo}/blobs/uploads/`);
  expect(start.status()).toBe(202);
  const location = new URL(start.headers()["location"], registry);
  location.searchParams.set("digest", digest);
  expect((await request.put(location.toString(), { data: config })).status()).toBe(201);
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest },
    layers: [],
  };
  const put = await request.put(`${registry}/v2/${repo}/manifests/${tag}`, {
    headers: { "content-type": "application/vnd.docker.distribution.manifest.v2+json" },
    data: JSON.stringify(manifest),
  });
  expect(put.status()).toBe(201);
}

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
