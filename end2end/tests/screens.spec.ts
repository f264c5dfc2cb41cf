import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { applyDocument, adminPassword, ensureExampleImage, hydrated, login, ownUser, test, tidy } from "./fixtures";

// Every page, on a phone (390 × 844) and a desktop (1440 × 900), light and dark:
// - nothing is wider than the viewport (tables and the graph scroll or zoom inside their box);
// - axe-core finds no accessibility violation of any impact.
// Screenshots of each land in end2end/screenshots/screens/ for people to look at.

const sizes = [
  { name: "phone", width: 390, height: 844 },
  { name: "desktop", width: 1440, height: 900 },
] as const;
const schemes = ["light", "dark"] as const;
const shots = path.join(__dirname, "..", "screenshots", "screens");

/** The page's content has arrived: a heading, and no "Loading…" left. */
async function settled(page: Page) {
  await hydrated(page);
  await expect(page.locator("h1").first()).toBeVisible();
  await expect(page.locator(".loading")).toHaveCount(0, { timeout: 20_000 });
}

/** What sticks out of the viewport on the right: the outermost such elements, for a message. */
async function overflow(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return null;
    const culprits: string[] = [];
    for (const el of Array.from(document.body.querySelectorAll<HTMLElement>("*"))) {
      const right = el.getBoundingClientRect().right;
      const parent = el.parentElement;
      if (right > width + 1 && parent && parent.getBoundingClientRect().right <= width + 1) {
        const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
        culprits.push(`${el.tagName.toLowerCase()}${cls} (right edge at ${Math.round(right)} px)`);
      }
    }
    return `page is ${document.documentElement.scrollWidth} px wide in a ${width} px viewport: ${culprits.slice(0, 8).join(", ")}`;
  });
}

/** Each page at each size and scheme: checked, photographed; problems collected, not thrown. */
async function sweep(page: Page, who: string, urls: [string, string][], problems: string[]) {
  fs.mkdirSync(shots, { recursive: true });
  for (const size of sizes) {
    await page.setViewportSize({ width: size.width, height: size.height });
    for (const scheme of schemes) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, url] of urls) {
        const where = `${who} ${url} (${size.name}, ${scheme})`;
        await page.goto(url);
        try {
          await settled(page);
        } catch (e) {
          problems.push(`${where}: did not finish loading: ${String(e).split("\n")[0]}`);
          continue;
        }
        const wide = await overflow(page);
        if (wide) problems.push(`${where}: ${wide}`);
        const axe = await new AxeBuilder({ page }).analyze();
        for (const v of axe.violations) {
          const targets = v.nodes
            .slice(0, 4)
            .map((n) => n.target.join(" "))
            .join(" | ");
          problems.push(`${where}: axe ${v.impact} ${v.id}: ${v.help} — ${targets}`);
        }
        await page.screenshot({ path: path.join(shots, `${who}-${name}-${size.name}-${scheme}.png`), fullPage: true });
      }
    }
  }
}

test("every page fits a phone and a desktop, light and dark, with no accessibility violation", async ({
  page,
  browser,
  request,
}) => {
  test.setTimeout(900_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await ensureExampleImage(request, "counter", "1.0.0");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { user, userId, remove } = await ownUser(page, browser, "screens");
  let passed = false;
  try {
    // A small network of the user's own, so the editors have something to show.
    await applyDocument(user, {
      processes: [
        { name: "kitchen", service: "sensor", version: "1.0.0", parameters: { interval_ms: 500, unit: "celsius" } },
        { name: "tally", service: "counter", version: "1.0.0", parameters: { step: 1 } },
      ],
      connections: [
        {
          endpoints: [
            { process: "kitchen", interface: "sensor/temperature" },
            { process: "tally", interface: "counter/temperature" },
          ],
        },
      ],
    });
    const mine = (await (await user.request.get("/api/v1/processes")).json()) as { id: string; name: string }[];
    const kitchen = mine.find((p) => p.name === "kitchen");
    expect(kitchen, "the document made the process kitchen").toBeTruthy();

    const problems: string[] = [];
    await sweep(
      user,
      "user",
      [
        ["overview", "/"],
        ["services", "/services"],
        ["service", "/services/sensor"],
        ["processes", "/processes"],
        ["deploy", "/processes/new?service=sensor&version=1.0.0"],
        ["process", `/processes/${kitchen!.id}`],
        ["connections", "/connections"],
        ["network", "/network"],
        ["nodes", "/nodes"],
        ["pending-changes", "/pending-changes"],
        ["activity", "/activity"],
        ["account", "/account"],
        ["not-found", "/no-such-page"],
      ],
      problems,
    );
    await sweep(
      page,
      "admin",
      [
        ["overview", "/"],
        ["processes", "/processes"],
        ["nodes", "/nodes"],
        ["pending-changes", "/pending-changes"],
        ["users", "/users"],
        ["new-user", "/users/new"],
        ["user", `/users/${userId}`],
      ],
      problems,
    );
    // The login page, logged out.
    const context = await browser.newContext();
    const anonymous = await context.newPage();
    for (const size of sizes) {
      await anonymous.setViewportSize({ width: size.width, height: size.height });
      await anonymous.goto("/login");
      await expect(anonymous.locator("input[name=username]")).toBeVisible();
      const wide = await overflow(anonymous);
      if (wide) problems.push(`/login (${size.name}): ${wide}`);
      for (const v of (await new AxeBuilder({ page: anonymous }).analyze()).violations) {
        problems.push(`/login (${size.name}): axe ${v.impact} ${v.id}: ${v.help}`);
      }
    }
    await context.close();

    expect(problems, problems.join("\n")).toEqual([]);
    passed = true;
  } finally {
    await tidy(passed, remove);
  }
});

test("on a phone the navigation folds behind a Menu button that opens, moves and closes", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await login(page, "admin", adminPassword());
  await page.goto("/");
  const menu = page.getByRole("button", { name: "Menu" });
  const nav = page.getByRole("navigation", { name: "main" });
  await expect(menu).toBeVisible();
  await expect(menu).toHaveAttribute("aria-expanded", "false");
  await expect(nav.getByRole("link", { name: "Processes" })).toBeHidden();
  // The keyboard opens it too.
  await menu.focus();
  await page.keyboard.press("Enter");
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await nav.getByRole("link", { name: "Processes" }).click();
  await expect(page).toHaveURL(/\/processes$/);
  await expect(page.getByRole("heading", { name: "Processes", level: 1 })).toBeVisible();
  // Going somewhere closes it again.
  await expect(menu).toHaveAttribute("aria-expanded", "false");
  await expect(nav.getByRole("link", { name: "Services" })).toBeHidden();

  // On a desktop there is no Menu button: the links are always there.
  await page.setViewportSize({ width: 1440, height: 900 });
  await expect(menu).toBeHidden();
  await expect(nav.getByRole("link", { name: "Services" })).toBeVisible();
});
