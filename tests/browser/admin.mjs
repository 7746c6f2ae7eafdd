// The admin page in Debian's Chromium (headless), driven by playwright-core, against a running hookarr.
// Run by `cargo test` (tests/it/admin.rs), which starts hookarr and passes:
//   HOOKARR_URL          hookarr's base URL (loopback)
//   HOOKARR_ADMIN_KEY    the admin's API key
//   HOOKARR_USER_KEY     a user's API key (alice)
//   HOOKARR_OWN_HOOK     the id of alice's webhook; HOOKARR_OTHER_HOOK: bob's
//   HOOKARR_FIXTURES     tests/fixtures/inbound
//   HOOKARR_SCREENSHOTS  where to write a screenshot of every view at 1280 and 390 px wide
// Exits 0 when every check holds; else prints what failed and exits 1.
import { chromium } from "playwright-core";
import { checker, finish, openPage, recordFailure, until } from "./common.mjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const base = process.env.HOOKARR_URL;
const adminKey = process.env.HOOKARR_ADMIN_KEY;
const userKey = process.env.HOOKARR_USER_KEY;
const ownHook = process.env.HOOKARR_OWN_HOOK;
const otherHook = process.env.HOOKARR_OTHER_HOOK;
const fixtures = process.env.HOOKARR_FIXTURES;
const shots = process.env.HOOKARR_SCREENSHOTS;

const problems = [];
const { check, shoot } = checker(problems, shots);
const leftLoopback = [];


const { browser, context, page } = await openPage(chromium, problems, leftLoopback);
try {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });

  // Log in: a wrong key is refused with a message, the admin key opens the dashboard.
  await page.goto(`${base}/admin`);
  assert.match(page.url(), /\/admin\/login$/, "the page asks for a log-in first");
  await page.getByLabel("API key").fill("hk_not_a_key");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
  await check(page, "login");
  await page.getByLabel("API key").fill(adminKey);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  // By keyboard: the first Tab reaches "Skip to the content", the next ones the views, each with a visible
  // focus ring.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to the content");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => {
    const e = document.activeElement;
    return { text: e.textContent, outline: getComputedStyle(e).outlineStyle };
  });
  assert.equal(focused.text, "Dashboard", "Tab goes through the views");
  assert.notEqual(focused.outline, "none", "the focus is visible");
  const cookies = await context.cookies();
  const login = cookies.find((c) => c.name === "hookarr_login");
  assert.ok(login, "a log-in cookie is set");
  assert.equal(login.httpOnly, true, "the log-in cookie is HttpOnly");
  assert.equal(login.sameSite, "Strict", "the log-in cookie is SameSite=Strict");
  await check(page, "dashboard");

  // Sources: copy radarr's Connect URL, post the app's test payload to it, and see the card turn green.
  await open(page, "Sources");
  const radarr = page.locator('[data-source="radarr"]');
  await radarr.getByText("Waiting for the Test button").waitFor();
  await check(page, "sources");
  await radarr.getByRole("button", { name: "Copy" }).click();
  await radarr.getByRole("button", { name: "Copied" }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(copied, /\/hooks\/radarr\?token=[A-Za-z0-9_-]{20,}$/, `the copied Connect URL: ${copied}`);
  assert.ok(copied.startsWith(base + "/"), `the Connect URL is hookarr's own (loopback) address: ${copied}`);
  await postTo(copied, "radarr", "test");
  await radarr.locator(".badge.ok").waitFor();
  assert.ok(await radarr.evaluate((el) => el.classList.contains("arrived")), "the radarr card turned green");
  await shoot(page, "sources-received");
  // Lidarr gets a new token: its old Connect URL is refused, the new one shown is taken.
  const lidarr = page.locator('[data-source="lidarr"]');
  const lidarrOld = await lidarr.locator("textarea.url").first().inputValue();
  await lidarr.getByRole("button", { name: "Rotate the token" }).click();
  await until(async () => (await page.locator('[data-source="lidarr"] textarea.url').first().inputValue()) !== lidarrOld, "the new Connect URL");
  const lidarrNew = await page.locator('[data-source="lidarr"] textarea.url').first().inputValue();
  assert.equal((await fetch(lidarrOld, { method: "POST", body: "{}" })).status, 401, "the old token is refused");
  await postTo(lidarrNew, "lidarr", "test");
  // Tautulli sends nothing until a template is pasted: its card copies the media template, JSON that names the
  // parameters hookarr reads.
  const tautulli = page.locator('[data-source="tautulli"]');
  await tautulli.getByRole("button", { name: "Copy" }).nth(1).click();
  await tautulli.getByRole("button", { name: "Copied" }).waitFor();
  const template = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
  assert.equal(template.action, "{action}", "the media template as Tautulli wants it");
  assert.equal(template.show_name, "{show_name}");

  // Events: a new event appears live without a reload; open it.
  await open(page, "Events");
  await page.getByText("Live: new events appear here").waitFor();
  await postTo(copied, "radarr", "download");
  const row = page.locator("tbody tr").filter({ hasText: "library.new" }).first();
  await row.waitFor();
  await check(page, "events");
  await row.getByRole("link").click();
  await page.getByRole("heading", { name: "Normalized" }).waitFor();
  await page.getByRole("heading", { name: "As the app sent it" }).waitFor();
  assert.match(await page.locator("pre.json").innerText(), /"event": "library.new"/);
  await check(page, "event");
  // Replay to a chosen destination: archive (it takes none of radarr's events, but a replay by name sends).
  await page.getByRole("button", { name: "Replay to the chosen" }).click();
  await page.getByText("Choose at least one.").waitFor();
  await page.getByLabel("archive").check();
  await page.getByRole("button", { name: "Replay to the chosen" }).click();
  await page.getByText("1 new delivery queued.").waitFor();

  // The dashboard now counts the events and shows radarr's last one.
  await open(page, "Dashboard");
  await page.getByRole("cell", { name: /Dune: Part Two/ }).waitFor();
  assert.equal(await page.locator(".chart rect").count() > 0, true, "the chart has a bar");
  // Live: another event raises the hour's count and becomes radarr's last, without a reload.
  const before = Number(await page.locator("[data-live-count]").innerText());
  await postTo(copied, "radarr", "grab");
  await page.locator("[data-live-count]", { hasText: String(before + 1) }).waitFor();
  await page.locator('[data-source-row="radarr"]', { hasText: "grabbed" }).waitFor();
  await shoot(page, "dashboard-with-events");
  // Dark, as the system asks: the same checks (contrast included).
  await page.emulateMedia({ colorScheme: "dark" });
  await check(page, "dashboard-dark");
  await page.goto(`${base}/admin/events`);
  await check(page, "events-dark");
  await page.emulateMedia({ colorScheme: "light" });

  // A destination that fails: sonarr's health event goes dead at the "ops" receiver (500, 500); retried
  // once the receiver answers again (it does from its third request on), a new attempt succeeds.
  await open(page, "Sources");
  const sonarrUrl = await page.locator("#url-sonarr").inputValue();
  assert.ok(sonarrUrl.startsWith(base + "/"), sonarrUrl);
  await postTo(sonarrUrl, "sonarr", "health");
  const dead = page.locator("tbody tr").filter({ hasText: "dead" }).first();
  await until(async () => {
    await page.goto(`${base}/admin/deliveries?status=dead`);
    return (await dead.count()) > 0;
  }, "the delivery to ops goes dead");
  await check(page, "deliveries");
  await dead.getByRole("link").click();
  await page.getByRole("heading", { name: "Attempt 2" }).waitFor();
  await check(page, "delivery-dead");
  await page.getByRole("button", { name: "Retry now" }).click();
  await page.getByText("queued again").waitFor();
  await until(async () => {
    await page.reload();
    return (await page.getByRole("heading", { name: "Attempt 3" }).count()) > 0;
  }, "the retried delivery's new attempt");
  await page.locator("h3", { hasText: "Attempt 3" }).getByText("succeeded").waitFor();
  await shoot(page, "delivery-retried");

  // Destinations: ops with its health; a test send answers.
  await open(page, "Destinations");
  const ops = page.locator('[data-destination="ops"]');
  await ops.getByRole("button", { name: "Send a test" }).click();
  await ops.getByText("Test sent: answered 204").waitFor();
  await check(page, "destinations");

  // The template studio: ops's Discord template drawn as Discord shows it; a title over Discord's limit
  // gets a warning; a broken template its problem, with the line.
  await page.goto(`${base}/admin/studio?destination=ops`);
  await page.locator(".discord-embed").first().waitFor();
  await check(page, "studio");
  // A sample payload of an app, when no stored event fits.
  await page.getByLabel("Event").selectOption({ label: "Sample: Radarr: a movie imported" });
  await page.locator(".discord-title", { hasText: "Dune" }).waitFor();
  await shoot(page, "studio-sample");
  const editor = page.getByLabel("Handlebars");
  await editor.fill(`{"embeds": [{"title": "${"x".repeat(300)}", "description": "{{summary}}"}]}`);
  await page.locator(".warning", { hasText: "embeds[0].title: 300 characters, cut to 256" }).waitFor();
  await shoot(page, "studio-warning");
  await editor.fill(`{"content": "{{summary}}",\n "embeds": [{{#each}}]}`);
  await page.locator(".problem", { hasText: "line 2" }).waitFor();
  // A service target: drawn as the phone shows the notification, its HTML read as text.
  await page.goto(`${base}/admin/studio?destination=phone`);
  await page.getByLabel("Event").selectOption({ label: "Sample: Radarr: a movie imported" });
  const notice = page.locator(".notice-text", { hasText: "Dune: Part Two (2024)" });
  await notice.waitFor();
  assert.ok(!(await notice.innerText()).includes("<b>"), "tags are not shown as text");
  await check(page, "studio-telegram");

  // Webhooks and mocks: a mock, a webhook registered to it (its secret shown once), a test send that the
  // mock records.
  await open(page, "Webhooks");
  await page.getByRole("button", { name: "Create a mock" }).click();
  const mockUrlInput = page.locator('input[id^="mock-url-"]').first();
  await mockUrlInput.waitFor();
  const mockUrl = await mockUrlInput.inputValue();
  assert.ok(mockUrl.startsWith(base + "/mock/mock_"), mockUrl);
  await page.getByLabel("URL", { exact: true }).fill(mockUrl);
  await page.getByLabel("Events (comma-separated globs)").fill("library.*, test");
  await page.getByLabel("Description").fill("from the browser");
  await page.getByRole("button", { name: "Register" }).click();
  const secret = await page.locator("#register-result input").inputValue();
  assert.match(secret, /^whsec_/, "the new webhook's secret, shown once");
  await page.getByRole("link", { name: "Done — show it in the list" }).click();
  const mine = page.locator(".item", { hasText: "from the browser" });
  await mine.getByRole("button", { name: "Send a test" }).click();
  await mine.getByText("Test sent: answered 200").waitFor();
  await check(page, "webhooks");
  await page.getByRole("link", { name: "What it received" }).first().click();
  await page.locator("h2", { hasText: "POST" }).first().waitFor();
  await check(page, "mock");

  // Keys: a key for alice, shown once; the audit log has what was done.
  await open(page, "Keys");
  await page.getByLabel("For").selectOption({ label: "alice" });
  await page.getByLabel("Label").fill("made in the browser");
  await page.getByRole("button", { name: "Create a key" }).click();
  assert.match(await page.locator("#key-result input").inputValue(), /^hk_/, "the new key, shown once");
  await check(page, "keys");
  await open(page, "Audit");
  await page.getByText("webhook.created").first().waitFor();
  await page.getByText("key.created").first().waitFor();
  await check(page, "audit");

  // Log out: the log-in ends, and the pages ask for one again.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("heading", { name: "Log in to hookarr" }).waitFor();
  await page.goto(`${base}/admin/events`);
  assert.match(page.url(), /\/admin\/login$/, "after log-out the pages ask for a log-in");

  // A user: no sources view (it shows every token), and the dashboard without the admin's parts.
  await page.getByLabel("API key").fill(userKey);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Sources" }).count(), 0, "no Sources link for a user");
  assert.equal(await page.getByRole("heading", { name: "Queue" }).count(), 0, "no queue for a user");
  const refused = await context.request.get(`${base}/admin/sources`);
  assert.equal(refused.status(), 403, "a user may not open the sources view");
  await check(page, "dashboard-user");
  // Her own webhooks, and no one else's.
  await open(page, "Webhooks");
  await page.getByText(ownHook).waitFor();
  assert.equal(await page.getByText(otherHook).count(), 0, "a user sees only her own webhooks");
  assert.equal(await page.getByText("from the browser").count(), 0, "the admin's webhook is not hers");
  await check(page, "webhooks-user");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("heading", { name: "Log in to hookarr" }).waitFor();
} catch (e) {
  await recordFailure(browser, e, problems, shoot);
} finally {
  await browser.close();
}
finish(problems, leftLoopback, "admin page: every browser check held");

/** Posts an app fixture to a Connect URL, as the app would; asserts a 202. */
// Follows a link of the page and waits until the new page has loaded — its deferred script wired its
// buttons (a click before that does nothing, which a loaded machine makes likely).
async function open(page, name) {
  await page.getByRole("link", { name }).click();
  await page.waitForLoadState("load");
}

async function postTo(url, app, name) {
  const body = readFileSync(join(fixtures, app, `${name}.json`));
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body });
  assert.equal(response.status, 202, `posting ${app}/${name}: ${await response.text()}`);
}
