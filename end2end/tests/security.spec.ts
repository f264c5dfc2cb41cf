// Nothing let in: a page of another origin on the same host (the same *site*, so the
// SameSite=Lax session cookie goes along with its requests) cannot make a logged-in user change
// anything, and a crafted login link cannot send anyone off-site.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "@playwright/test";
import { adminPassword, login, test } from "./fixtures";

/** Serve `html` on 127.0.0.1 at a port of its own: same site as the app, another origin. */
async function attackerPage(html: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, server };
}

test("a page on another port of the same host cannot act for a logged-in user", async ({ page, baseURL }) => {
  await login(page, "admin", adminPassword());
  await expect(page).toHaveURL(/\/$/);
  const app = new URL(baseURL!).origin;
  const before = (await (await page.request.get("/api/v1/tokens")).json()).length;
  // What a same-site attacker can send without a preflight: text/plain fetches with the
  // cookie, a bodyless POST, and a plain form submitted by the page itself.
  const { url, server } = await attackerPage(`<!doctype html><html><body>
    <form id="f" method="post" action="${app}/api/v1/auth/logout"></form>
    <script>
      window.results = [];
      const send = (path, body) => fetch("${app}" + path, { method: "POST", credentials: "include", mode: "no-cors",
        headers: { "content-type": "text/plain" }, body }).then(() => results.push(path), e => results.push(path + " " + e));
      Promise.all([
        send("/api/v1/tokens", JSON.stringify({ name: "stolen" })),
        send("/api/v1/processes", JSON.stringify({ service_id: "sensor" })),
        send("/api/v1/auth/logout", ""),
      ]).then(() => { window.done = true; });
    </script></body></html>`);
  try {
    const evil = await page.context().newPage();
    await evil.goto(url);
    await evil.waitForFunction(() => (window as unknown as { done?: boolean }).done === true);
    // And the top-level form post (a navigation: the cookie goes along too).
    const navigation = evil.waitForResponse((r) => r.url().endsWith("/api/v1/auth/logout"));
    await evil.evaluate(() => (document.getElementById("f") as HTMLFormElement).submit());
    expect((await navigation).status()).toBe(403);
    await evil.close();
  } finally {
    server.close();
  }
  // Still logged in, no token and no process made.
  expect((await page.request.get("/api/v1/auth/me")).status()).toBe(200);
  expect((await (await page.request.get("/api/v1/tokens")).json()).length).toBe(before);
  const processes = await (await page.request.get("/api/v1/processes")).json();
  expect(processes.filter((p: { name: string }) => p.name.includes("sensor @admin"))).toHaveLength(0);
  // The app's own pages still work: a click in the app changes things.
  await page.goto("/account");
  await page.getByLabel("Token name").fill("made in the app");
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(page.getByRole("cell", { name: "made in the app" })).toBeVisible();
  expect((await (await page.request.get("/api/v1/tokens")).json()).length).toBe(before + 1);
});

test("a crafted login link cannot send anyone off-site", async ({ browser, baseURL }) => {
  const app = new URL(baseURL!);
  for (const next of ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "https://evil.example/"]) {
    // A browser of its own each time: nothing of one login (its navigations) runs into the next.
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    await page.goto(`/login?next=${next}`);
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=password]", adminPassword());
    await page.click("button[type=submit]");
    await page.waitForURL((u) => u.host === app.host && !u.pathname.startsWith("/login"));
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
    expect(new URL(page.url()).host, `after next=${next}`).toBe(app.host);
    await context.close();
  }
});

test("pages carry a Content-Security-Policy with a fresh nonce and cannot be framed", async ({ page }) => {
  const first = await page.goto("/login");
  const second = await page.request.get("/login");
  const csp = first!.headers()["content-security-policy"];
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("'wasm-unsafe-eval'");
  expect(csp).toMatch(/'nonce-[A-Za-z0-9_-]{16,}'/);
  expect(second.headers()["content-security-policy"]).not.toBe(csp);
  expect(first!.headers()["x-content-type-options"]).toBe("nosniff");
  // The hydrated page works under it (the fixture fails the test on any refusal).
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
});
