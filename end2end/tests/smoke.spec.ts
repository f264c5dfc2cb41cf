import { expect } from "@playwright/test";
import { test } from "./fixtures";

test("the server answers /healthz", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
});
