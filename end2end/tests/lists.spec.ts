import { expect, type Page } from "@playwright/test";
import { adminPassword, ensureExampleImage, login, ownUser, test, tidy } from "./fixtures";

// Lists that scale: the process list searched, filtered, sorted and paged by its URL (a view that
// survives a reload and can be shared), a bulk suspend of three processes behind one confirmation
// that lists what will happen to each, the pending changes filtered by state through the URL, and
// the users searched and sorted. The processes are a user's of the test's own, so the counts are
// the test's alone.

type Process = { id: string; name: string; state: string };

async function processes(user: Page): Promise<Process[]> {
  return (await (await user.request.get("/api/v1/processes?per_page=100&sort=name")).json()) as Process[];
}

/** The names of the rows the process list shows, in order. */
async function rowNames(user: Page): Promise<string[]> {
  return user.locator("table.processes tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-process") ?? ""));
}

test("the process list is searched, sorted and paged by its URL; three processes are suspended at once; pending changes are filtered by the URL", async ({
  page,
  browser,
  request,
}) => {
  test.setTimeout(480_000);
  await ensureExampleImage(request, "sensor", "1.0.0");
  await login(page, "admin", adminPassword());
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const { user, userId, remove } = await ownUser(page, browser, "lists");
  const run = Date.now().toString(36);
  const names = ["alpha-1", "alpha-2", "alpha-3", "beta-1", "beta-2", "beta-3"].map((n) => `lists-${run}-${n}`);
  const [a1, a2, a3, b1, b2] = names;
  let passed = false;
  try {
    for (const name of names) {
      const r = await user.request.post("/api/v1/processes", {
        data: { name, service_id: "sensor", service_version: "1.0.0", parameters: { interval_ms: "1000" } },
      });
      expect(r.status(), await r.text()).toBe(201);
    }

    // (a) Two a page, by name: three pages, the first two names on the first.
    await user.goto("/processes?per=2&sort=name");
    const pager = user.locator("nav.list-pager");
    await expect(pager.locator("[data-page-of]")).toHaveText("Page 1 of 3");
    await expect(pager.locator("[data-range]")).toHaveText("1–2 of 6 processes");
    await expect.poll(() => rowNames(user)).toEqual([a1, a2]);
    await expect(user.locator('th[data-sort="name"]')).toHaveAttribute("aria-sort", "ascending");
    await expect(user.locator('th[data-sort="created"]')).not.toHaveAttribute("aria-sort", /./);

    // Next: page 2, and the URL says so (keeping the size and the order).
    await pager.getByRole("link", { name: "Next" }).click();
    await expect(user).toHaveURL(/[?&]page=2(&|$)/);
    await expect(user).toHaveURL(/[?&]per=2(&|$)/);
    await expect(user).toHaveURL(/[?&]sort=name(&|$)/);
    await expect(pager.locator("[data-page-of]")).toHaveText("Page 2 of 3");
    await expect(pager.locator("[data-range]")).toHaveText("3–4 of 6 processes");
    await expect.poll(() => rowNames(user)).toEqual([a3, b1]);

    // A reload keeps the view.
    await user.reload();
    await expect(pager.locator("[data-page-of]")).toHaveText("Page 2 of 3");
    await expect.poll(() => rowNames(user)).toEqual([a3, b1]);
    await expect(user.getByLabel("Show", { exact: true })).toHaveValue("2");

    // The reverse order from the column header.
    await user.locator('th[data-sort="name"]').getByRole("link").click();
    await expect(user).toHaveURL(/[?&]sort=-name(&|$)/);
    await expect(user).not.toHaveURL(/[?&]page=/);
    await expect(user.locator('th[data-sort="name"]')).toHaveAttribute("aria-sort", "descending");
    await expect.poll(() => rowNames(user)).toEqual([names[5], b2]);

    // Typing a search narrows the rows (back to page 1), and the URL carries it.
    await user.getByLabel("Search", { exact: true }).fill(`${run}-alpha`);
    await expect(user).toHaveURL(new RegExp(`[?&]q=${run}-alpha(&|$)`));
    await expect(pager.locator("[data-range]")).toHaveText("1–2 of 3 processes");
    await expect(pager.locator("[data-page-of]")).toHaveText("Page 1 of 2");
    await expect.poll(() => rowNames(user)).toEqual([a3, a2]);
    // The same view from its address alone.
    await user.goto(`/processes?q=${run}-beta&per=2&sort=name`);
    await expect(pager.locator("[data-range]")).toHaveText("1–2 of 3 processes");
    await expect.poll(() => rowNames(user)).toEqual([b1, b2]);
    await expect(user.getByLabel("Search", { exact: true })).toHaveValue(`${run}-beta`);

    // Nonsense in the URL is said, not obeyed: a page size out of range, an unknown sort.
    await user.goto("/processes?per=5000&sort=password");
    const notices = user.locator("[data-list-notice]");
    await expect(notices.filter({ hasText: "from 1 to 100" })).toHaveCount(1);
    await expect(notices.filter({ hasText: "Cannot sort by “password”" })).toHaveCount(1);
    await expect(pager.locator("[data-range]")).toHaveText("1–6 of 6 processes");

    // (b) All six running first (a deadline, not a sleep).
    await expect
      .poll(async () => (await processes(user)).filter((p) => names.includes(p.name) && p.state === "RUNNING").length, {
        timeout: 180_000,
        message: "the six sensors reach RUNNING",
      })
      .toBe(6);

    await user.goto("/processes?sort=name");
    const bar = user.locator("[data-bulk-bar]");
    await expect(bar).toBeHidden();
    for (const name of [a1, a2, a3]) {
      await user.getByRole("checkbox", { name: `Select ${name}`, exact: true }).check();
    }
    await expect(bar).toBeVisible();
    await expect(bar.locator("[data-selected]")).toHaveText("3 selected");

    // Delete… lists what it would do; Escape closes it and nothing happens.
    await bar.getByRole("button", { name: "Delete…" }).click();
    const dialog = user.getByRole("dialog", { name: "Delete 3 selected processes?" });
    await expect(dialog).toBeVisible();
    await expect(user.locator("#bulk-confirm-title")).toBeFocused();
    await expect(dialog.locator("li[data-plan-item]")).toHaveCount(3);
    await expect(dialog.locator(`li[data-plan-item="${a1}"]`)).toContainText("delete, its container is removed");
    await user.keyboard.press("Escape");
    await expect(dialog).toHaveCount(0);
    await expect(bar.locator("[data-selected]")).toHaveText("3 selected");

    // Suspend: one confirmation listing the three, then a summary of three done.
    await bar.getByRole("button", { name: "Suspend" }).click();
    const confirm = user.getByRole("dialog", { name: "Suspend 3 selected processes?" });
    await expect(confirm).toBeVisible();
    await expect(user.locator("#bulk-confirm-title")).toBeFocused();
    const planned = confirm.locator("li[data-plan-item]");
    await expect(planned).toHaveCount(3);
    for (const name of [a1, a2, a3]) {
      const line = confirm.locator(`li[data-plan-item="${name}"]`);
      await expect(line).toHaveAttribute("data-skip", "false");
      await expect(line).toContainText("suspend, its state is saved");
    }
    await confirm.getByRole("button", { name: "Suspend 3 processes" }).click();
    const summary = user.locator("[data-bulk-summary]");
    await expect(summary).toHaveAttribute("data-done", "3");
    await expect(summary).toHaveAttribute("data-failed", "0");
    await expect(summary.getByRole("heading")).toHaveText("Suspend: 3 done");
    await expect(summary.locator('li[data-outcome="done"]')).toHaveCount(3);
    await expect(summary).toBeFocused();
    await expect(confirm).toHaveCount(0);
    await expect(bar).toBeHidden();

    // All three reach SUSPENDED (the open list follows them live); the others keep running.
    for (const name of [a1, a2, a3]) {
      await expect(user.locator(`tr[data-process="${name}"] .state-badge`)).toHaveText("SUSPENDED", { timeout: 150_000 });
    }
    await expect
      .poll(async () => (await processes(user)).filter((p) => p.state === "SUSPENDED").map((p) => p.name).sort(), {
        timeout: 30_000,
      })
      .toEqual([a1, a2, a3]);
    await expect(user.locator(`tr[data-process="${b1}"] .state-badge`)).toHaveText("RUNNING");

    // Selecting a suspended and a running one: the confirmation says which is skipped.
    await user.getByRole("checkbox", { name: `Select ${a1}`, exact: true }).check();
    await user.getByRole("checkbox", { name: `Select ${b1}`, exact: true }).check();
    await bar.getByRole("button", { name: "Suspend" }).click();
    const mixed = user.getByRole("dialog", { name: "Suspend 2 selected processes?" });
    await expect(mixed.locator(`li[data-plan-item="${a1}"]`)).toHaveAttribute("data-skip", "true");
    await expect(mixed.locator(`li[data-plan-item="${a1}"]`)).toContainText("already suspended — skipped");
    await expect(mixed.locator(`li[data-plan-item="${b1}"]`)).toHaveAttribute("data-skip", "false");
    await expect(mixed.getByRole("button", { name: "Suspend 1 process" })).toBeEnabled();
    await mixed.getByRole("button", { name: "Cancel" }).click();
    await expect(mixed).toHaveCount(0);

    // The state filter from the URL: exactly the three.
    await user.goto("/processes?state=suspended&sort=name");
    await expect(user.getByLabel("State", { exact: true })).toHaveValue("suspended");
    await expect.poll(() => rowNames(user)).toEqual([a1, a2, a3]);

    // (c) The pending changes filtered by the URL: the three suspensions, done.
    await expect
      .poll(
        async () =>
          ((await (
            await user.request.get(`/api/v1/pending-changes?state=DONE&kind=suspend_process&search=${encodeURIComponent(`${run}-alpha`)}`)
          ).json()) as unknown[]).length,
        { timeout: 60_000, message: "the REST list filters by state, kind and description" },
      )
      .toBe(3);
    await user.goto(`/pending-changes?state=done&kind=suspend_process&q=${run}-alpha&per=2`);
    await expect(user.getByLabel("State", { exact: true })).toHaveValue("done");
    await expect(user.getByLabel("Kind", { exact: true })).toHaveValue("suspend_process");
    const changes = user.locator("table.changes-list tbody tr");
    await expect(changes).toHaveCount(2);
    await expect(user.locator("nav.list-pager [data-range]")).toHaveText("1–2 of 3 changes");
    await expect(user.locator("nav.list-pager [data-page-of]")).toHaveText("Page 1 of 2");
    expect(await changes.evaluateAll((rows) => rows.map((r) => `${r.getAttribute("data-state")} ${r.getAttribute("data-kind")}`))).toEqual([
      "done suspend_process",
      "done suspend_process",
    ]);
    // Another state from the URL: none of these are waiting, and the page says nothing matches.
    await user.goto(`/pending-changes?state=cancelled&q=${run}-alpha`);
    await expect(user.getByRole("heading", { name: "No changes match" })).toBeVisible();
    // An unknown state is said, and every state is shown.
    await user.goto(`/pending-changes?state=sleeping&kind=suspend_process&q=${run}-alpha`);
    await expect(user.locator("[data-list-notice]")).toContainText("There is no state “sleeping”");
    await expect(user.locator("table.changes-list tbody tr")).toHaveCount(3);

    // The users list (administrators): searched and sorted by the URL.
    const username = ((await (await page.request.get(`/api/v1/users/${userId}`)).json()) as { username: string }).username;
    await page.goto(`/users?q=${username}`);
    await expect(page.locator(`tr[data-user="${username}"]`)).toBeVisible();
    await expect(page.locator("table.users tbody tr")).toHaveCount(1);
    await expect(page.locator('th[data-sort="username"]')).toHaveAttribute("aria-sort", "ascending");
    await page.locator('th[data-sort="created"]').getByRole("link").click();
    await expect(page).toHaveURL(/[?&]sort=created(&|$)/);
    await expect(page).toHaveURL(new RegExp(`[?&]q=${username}(&|$)`));
    await expect(page.locator('th[data-sort="created"]')).toHaveAttribute("aria-sort", "ascending");
    await expect(page.locator(`tr[data-user="${username}"]`)).toBeVisible();
    passed = true;
  } finally {
    await tidy(passed, remove);
  }
});
