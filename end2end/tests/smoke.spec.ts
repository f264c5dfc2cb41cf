import { expect } from "@playwright/test";
import { test } from "./fixtures";

test("the server answers /healthz", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
});

test("the editors' modules load in the background after the first page, and are revalidated", async ({ page }) => {
  // `cargo leptos build --split` cuts the process and connection editors out of the first
  // download; the app fetches them once the first page has hydrated.
  const editors = ["connections_route", "new_process_route", "process_route"];
  const loaded = new Set<string>();
  page.on("response", (r) => {
    const m = r.url().match(/\/pkg\/split___([a-z_]+)_view_\d+\.wasm$/);
    if (m && r.ok()) loaded.add(m[1]);
  });
  await page.goto("/login");
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await expect.poll(() => [...loaded].sort(), { timeout: 30_000 }).toEqual(editors);
  // The files keep their names from build to build, and the modules must come from the same
  // build as the page: the browser asks each time whether they changed.
  for (const file of ["switchyard.wasm", "switchyard.js", "switchyard.css"]) {
    const r = await page.request.get(`/pkg/${file}`);
    expect(r.status(), file).toBe(200);
    expect(r.headers()["cache-control"], file).toBe("no-cache");
  }
});
