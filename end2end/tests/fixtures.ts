// Helpers shared by the browser tests. The servers and their credentials come
// from scripts/test through environment variables.
import { createHash } from "node:crypto";
import { expect, test as base, type APIRequestContext, type Browser, type Page } from "@playwright/test";

/**
 * Wait until the app has hydrated the page (it marks <body data-hydrated>): before that, forms
 * are plain HTML forms that reload the page instead of showing their result in place. Pages that
 * are not the app's (the API docs) never get the mark; the wait gives up quietly.
 */
export async function hydrated(page: Page, timeout = 15_000): Promise<void> {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached", timeout }).catch(() => {});
}

const patched = Symbol("goto waits for hydration");
/** The panics the browserErrors fixture has recorded for a page (so a goto can take back those of a cut load). */
const panicsOf = Symbol("panics recorded for this page");

/**
 * The tests' `test`: every `page.goto` (of any page, also those from `browser.newPage()`) waits
 * for the app to hydrate the page it loaded, so a test does not race the WASM bundle.
 */
export const test = base.extend<{ hydratingGoto: void; browserErrors: void }>({
  /**
   * What the browser says goes into the test's output when the test fails, and a panic of the
   * WASM app fails the test even when the page looks right: a panicked app stops reacting.
   */
  browserErrors: [
    async ({ page }, use, testInfo) => {
      const lines: string[] = [];
      const panics: string[] = [];
      (page as unknown as Record<symbol, string[]>)[panicsOf] = panics;
      // The Content-Security-Policy must let the app live: any refusal fails the test, so every
      // page every test visits is checked against it.
      const refused: string[] = [];
      const started = Date.now();
      const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") {
          lines.push(`[${at()}] console.${m.type()}: ${m.text()} (${page.url()})`);
          if (/panicked at|RuntimeError: unreachable/.test(m.text())) panics.push(m.text());
          if (/Content Security Policy|Refused to (load|execute|apply|connect|compile|evaluate)/.test(m.text())) {
            refused.push(`${m.text()} (${page.url()})`);
          }
        }
      });
      page.on("pageerror", (e) => {
        lines.push(`[${at()}] page error: ${e.message} (${page.url()})`);
        if (/panicked at|unreachable/.test(e.message)) panics.push(e.message);
      });
      await use();
      if (testInfo.status !== testInfo.expectedStatus && lines.length > 0) {
        console.log(`browser console of "${testInfo.title}":\n  ${lines.join("\n  ")}`);
      }
      expect(panics, "the WASM app panicked in the browser").toEqual([]);
      expect(refused, "the Content-Security-Policy refused something the app needs").toEqual([]);
    },
    { auto: true },
  ],

  hydratingGoto: [
    async ({ page }, use) => {
      const proto = Object.getPrototypeOf(page);
      if (!proto[patched]) {
        const goto = proto.goto;
        proto.goto = async function (this: Page, ...args: Parameters<Page["goto"]>) {
          const panics = (this as unknown as Record<symbol, string[] | undefined>)[panicsOf];
          const before = panics?.length ?? 0;
          let response = await goto.apply(this, args);
          // On this machine Docker adds and removes network interfaces as containers start and
          // stop, and Chromium then aborts every request in flight (ERR_NETWORK_CHANGED) — the
          // page's own streamed document too, which leaves a half page that cannot hydrate. A
          // load whose document the browser itself reports as failed is loaded once more (said
          // in the output); what the cut page panicked is not the app's. A complete document
          // that fails to hydrate still fails the test.
          const failure = response ? await response.finished() : null;
          if (failure) {
            console.log(`goto ${args[0]}: the document's download failed (${failure.message}); loading it once more`);
            panics?.splice(before);
            response = await goto.apply(this, args);
          }
          await hydrated(this);
          return response;
        };
        proto[patched] = true;
      }
      await use();
    },
    { auto: true },
  ],
});

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
  const target = baseUrl ? new URL("/login", baseUrl).toString() : "/login";
  // After a logout the app reloads itself at /login; a goto at that moment is interrupted by
  // that navigation (to the same page): let it land, then go on.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(target);
      break;
    } catch (e) {
      if (attempt >= 3 || !/interrupted by another navigation/.test(String(e))) throw e;
      await page.waitForLoadState();
    }
  }
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  // Settle before the test goes on: either the login went through (the app navigated away from
  // /login and hydrated the page it landed on) or it was refused (the message is shown). A test
  // that navigates at once would otherwise race the login's own navigation.
  const away = page
    .waitForURL((u) => u.pathname !== "/login", { timeout: 15_000 })
    .then(() => hydrated(page))
    .catch(() => {});
  const refused = page.locator("p.error[role=alert]").first().waitFor({ timeout: 15_000 }).catch(() => {});
  await Promise.race([away, refused]);
}

const registry = process.env.SWITCHYARD_REGISTRY_URL ?? "http://10.213.0.1:5000";
// The servers under test read services under this prefix (scripts/test makes one per run).
const prefix = process.env.E2E_REGISTRY_PREFIX ?? "services/";
// Where scripts/images pushes the example services by default.
const examplesPrefix = "services/";

const manifestTypes = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
].join(", ");

/**
 * Make `${prefix}${name}:${tag}` exist in the registry: the example images are pushed under
 * services/ by scripts/images; a run with a prefix of its own gets a copy (blobs mounted across
 * repositories, the manifest byte for byte, so the digest stays the same).
 */
export async function ensureExampleImage(request: APIRequestContext, name: string, tag: string) {
  const repo = `${prefix}${name}`;
  const from = `${examplesPrefix}${name}`;
  const have = await request.head(`${registry}/v2/${repo}/manifests/${tag}`, { headers: { accept: manifestTypes } });
  if (have.ok()) return;
  const source = await request.get(`${registry}/v2/${from}/manifests/${tag}`, { headers: { accept: manifestTypes } });
  expect(source.ok(), `${from}:${tag} is not in the registry ${registry}: run scripts/images`).toBeTruthy();
  const body = await source.body();
  const manifest = JSON.parse(body.toString());
  for (const blob of [manifest.config, ...manifest.layers]) {
    const mount = await request.post(`${registry}/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}`);
    if (mount.status() === 201) continue;
    // The registry would not mount it: upload it.
    expect(mount.status()).toBe(202);
    const data = await (await request.get(`${registry}/v2/${from}/blobs/${blob.digest}`)).body();
    const location = new URL(mount.headers()["location"], registry);
    location.searchParams.set("digest", blob.digest);
    expect((await request.put(location.toString(), { data })).status()).toBe(201);
  }
  const put = await request.put(`${registry}/v2/${repo}/manifests/${tag}`, {
    headers: { "content-type": source.headers()["content-type"] },
    data: body,
  });
  expect(put.status()).toBe(201);
}

export type Node = { id: string; hostname: string; kind: string; revision: number; manager: boolean };

/** Through the REST API with the admin's session: put the swarm's manager node in a new pool. */
export async function publicNode(page: Page, prefix: string): Promise<{ node: Node; poolId: string; poolName: string }> {
  const poolName = `${prefix}-${Date.now().toString(36)}`;
  const pool = await page.request.post("/api/v1/node-pools", { data: { name: poolName } });
  expect(pool.status(), await pool.text()).toBe(201);
  const poolId = (await pool.json()).id;
  const nodes: Node[] = await (await page.request.get("/api/v1/nodes")).json();
  const node = nodes.find((n) => n.manager) ?? nodes[0];
  expect(node, "the swarm has no node").toBeTruthy();
  const assigned = await page.request.put(`/api/v1/nodes/${node.id}/assignment`, {
    data: { revision: node.revision, kind: "public", node_pool_id: poolId },
  });
  expect(assigned.ok(), await assigned.text()).toBeTruthy();
  return { node: await assigned.json(), poolId, poolName };
}

/** Undo publicNode, so other tests find the node unidentified again. */
export async function releaseNode(page: Page, nodeId: string, poolId: string) {
  const node: Node = await (await again(() => page.request.get(`/api/v1/nodes/${nodeId}`))).json();
  // Idempotent: it names the revision it read, so a repeat after a reset is refused or a no-op.
  const released = await again(() =>
    page.request.put(`/api/v1/nodes/${nodeId}/assignment`, { data: { revision: node.revision, kind: "unidentified" } }),
  );
  expect(released.ok(), `making the node unidentified again: ${await released.text()}`).toBeTruthy();
  const deleted = await page.request.delete(`/api/v1/node-pools/${poolId}`);
  expect(deleted.ok(), `deleting pool ${poolId}: ${await deleted.text()}`).toBeTruthy();
}

/**
 * An idempotent API request, made once more when the connection it went out on had just been
 * closed by the server (an idle keep-alive connection reused as the server let it go: "socket
 * hang up", ECONNRESET). Browsers retry such a request themselves; Playwright's client does not.
 */
export async function again<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (e) {
    if (!/ECONNRESET|socket hang up/.test(String(e))) throw e;
    return await request();
  }
}

/**
 * A test's clean-up, run from its `finally`: after a passing body a failure here fails the test;
 * after a failing body it is only printed, so it does not hide the error that matters.
 */
export async function tidy(bodyPassed: boolean, cleanup: () => Promise<void>): Promise<void> {
  try {
    await cleanup();
  } catch (e) {
    if (bodyPassed) throw e;
    console.log(`clean-up after the failure failed too: ${e}`);
  }
}

/**
 * A user of the test's own, so the other tests' processes (the admin's) are never in their
 * network: created by the admin (`page`, logged in), logged in on a page of their own, with the
 * swarm's node public for their processes. `remove` deletes their processes (waiting until they
 * are gone), the user and the pool: call it from the test's `tidy`.
 */
export async function ownUser(
  page: Page,
  browser: Browser,
  prefix: string,
): Promise<{ user: Page; userId: string; remove: () => Promise<void> }> {
  const { node, poolId } = await publicNode(page, `e2e-${prefix}`);
  const username = `${prefix}-${Date.now().toString(36)}`;
  const password = `a-long-password-for-${prefix}`;
  const created = await page.request.post("/api/v1/users", { data: { username, password } });
  expect(created.status(), await created.text()).toBe(201);
  const userId = (await created.json()).id;
  // A context of its own (not browser.newPage()), so tools that open pages in the same context
  // (axe-core's AxeBuilder) work on it too.
  const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
  const user = await context.newPage();
  // The user's page is not `page`, which the browserErrors fixture watches: say its errors here,
  // so a failure shows what its browser said.
  user.on("console", (m) => {
    if (m.type() === "error") console.log(`[${prefix}'s page] console.error: ${m.text().slice(0, 400)} (${user.url()})`);
  });
  user.on("pageerror", (e) => console.log(`[${prefix}'s page] page error: ${e.message.slice(0, 400)} (${user.url()})`));
  await login(user, username, password);
  const remove = async () => {
    await context.close();
    const theirs = await (await again(() => page.request.get(`/api/v1/processes?user_id=${userId}&per_page=100`))).json();
    for (const p of theirs as { id: string }[]) {
      await again(() => page.request.delete(`/api/v1/processes/${p.id}`));
    }
    await expect
      .poll(async () => ((await (await again(() => page.request.get(`/api/v1/processes?user_id=${userId}`))).json()) as unknown[]).length, {
        timeout: 120_000,
      })
      .toBe(0);
    const u = await (await again(() => page.request.get(`/api/v1/users/${userId}`))).json();
    await again(() => page.request.delete(`/api/v1/users/${userId}?revision=${u.revision}`));
    await releaseNode(page, node.id, poolId);
  };
  return { user, userId, remove };
}

/** Plan a network document as `page`'s user and apply it, waiting until the deployment succeeded. */
export async function applyDocument(page: Page, document: object) {
  const plan = await page.request.post("/api/v1/plans", { data: document });
  expect(plan.status(), await plan.text()).toBe(201);
  const applied = await page.request.post("/api/v1/deployments", { data: { plan_id: (await plan.json()).id } });
  expect(applied.status(), await applied.text()).toBe(201);
  const id = (await applied.json()).id;
  await expect
    .poll(async () => (await (await page.request.get(`/api/v1/deployments/${id}`)).json()).state, { timeout: 240_000 })
    .toBe("SUCCEEDED");
}

/** Push an image with no layers, only labels, to the real registry through its API. */
export async function pushImage(request: APIRequestContext, repo: string, tag: string, labels: Record<string, string>) {
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
