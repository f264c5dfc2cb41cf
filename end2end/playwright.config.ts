import { defineConfig, devices } from "@playwright/test";

// The servers under test are started by scripts/test, which exports their URLs.
// Playwright's own browser download cannot work here, so Debian's Chromium is used.
const baseURL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  testDir: "./tests",
  outputDir: "test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    // No action waits forever: a drag or click that cannot happen fails with its own message
    // instead of running into the test's timeout.
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
          // Root needs --no-sandbox; the rest keep Chromium from reaching for the internet.
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
          ],
        },
      },
    },
  ],
});
