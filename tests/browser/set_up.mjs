// Setting hookarr up in the page, in Debian's Chromium (headless): a Discord destination added by pasting its
// webhook URL, tested and saved; a Radarr grab then reaches it without a restart; its events edited, after
// which the next grab is skipped; the grabs' story on the Stories page, and a person added and removed there. Run by `cargo test` (tests/it/admin_set_up.rs), which starts hookarr and
// passes:
//   HOOKARR_URL          hookarr's base URL (loopback)
//   HOOKARR_ADMIN_KEY    the admin's API key
//   HOOKARR_DISCORD_URL  a Discord-shaped webhook URL on a loopback receiver
//   HOOKARR_CONNECT_URL  Radarr's Connect URL (the script posts grabs to it, as Radarr would)
//   HOOKARR_FIXTURES     tests/fixtures/inbound
//   HOOKARR_SCREENSHOTS  where to write screenshots (optional)
// Prints "set-up: every browser check held" and exits 0 when every check holds; else what failed, exit 1.
import { chromium } from "playwright-core";
import { checker, finish, openPage, recordFailure, until } from "./common.mjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const base = process.env.HOOKARR_URL;
const adminKey = process.env.HOOKARR_ADMIN_KEY;
const discordUrl = process.env.HOOKARR_DISCORD_URL;
const connectUrl = process.env.HOOKARR_CONNECT_URL;
const fixtures = process.env.HOOKARR_FIXTURES;
const problems = [];
const leftLoopback = [];
const { check, shoot } = checker(problems, process.env.HOOKARR_SCREENSHOTS);

/** The admin API, as a script outside the page. */
async function api(path) {
  const response = await fetch(base + path, { headers: { Authorization: `Bearer ${adminKey}` } });
  return response.json();
}

/** Posts a Radarr grab (its title made unique by `copy`), as Radarr would; returns the event's id. */
async function postGrab(copy) {
  const grab = JSON.parse(readFileSync(join(fixtures, "radarr", "grab.json"), "utf8"));
  grab.release.releaseTitle = `${grab.release.releaseTitle}.copy${copy}`;
  grab.downloadId = `${grab.downloadId}${copy}`;
  const response = await fetch(connectUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(grab),
  });
  const answer = await response.text();
  assert.equal(response.status, 202, `posting a grab: ${answer}`);
  return JSON.parse(answer).events[0];
}

// The refused save answers 422, which the browser logs as a failed load.
const { browser, page } = await openPage(chromium, problems, leftLoopback, (text) => text.includes("422"));
try {

  await page.goto(`${base}/admin/login`);
  await page.getByLabel("API key").fill(adminKey);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();

  // Add a destination: every target type has its tile, and a pasted URL is enough.
  await page.getByRole("link", { name: "Destinations", exact: true }).click();
  await page.getByRole("link", { name: "Add a destination" }).click();
  for (const kind of ["discord", "slack", "telegram", "ntfy", "gotify", "pushover", "matrix", "email", "webhook", "home_assistant"]) {
    assert.equal(await page.getByRole("link", { name: kind, exact: true }).count(), 1, `a tile for ${kind}`);
  }
  await check(page, "destination-new");
  await page.getByRole("link", { name: "Paste a URL" }).click();
  await page.getByLabel("url (required)").fill(discordUrl);

  // A bad name is shown at its field, and nothing is saved.
  await page.getByLabel("Name").fill("Movie Night");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator("#problem-name").filter({ hasText: "lower-case" }).waitFor();
  assert.equal(await page.getByLabel("Name").getAttribute("aria-invalid"), "true");
  await check(page, "destination-form-problem");

  // Tested before it is saved, its routing previewed, then saved.
  await page.getByLabel("Name").fill("movies");
  await page.getByRole("button", { name: "Send a test" }).click();
  await page.getByRole("status").filter({ hasText: "The test arrived" }).waitFor();
  await page.getByRole("button", { name: "Preview routing" }).click();
  await page.getByText(/It would have taken \d+ of the last \d+ events/).waitFor();
  await check(page, "destination-form");
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(/\/admin\/destinations(#.*)?$/);
  const card = page.locator('[data-destination="movies"]');
  await card.getByText("Made in the page").waitFor();
  await check(page, "destinations-with-stored");

  // A Radarr grab reaches it: no restart.
  const first = await postGrab(1);
  await until(async () => {
    const shown = await api(`/api/events/${first}`);
    return (shown.deliveries || []).some((d) => d.destination === "movies" && d.status === "succeeded");
  }, "the grab reached the new destination");

  // Its events edited in the page: no more grabs.
  await card.getByRole("link", { name: "Edit", exact: true }).click();
  await page.getByRole("heading", { name: "Edit a destination" }).waitFor();
  assert.equal(await page.getByLabel("Name").inputValue(), "movies");
  const url = page.getByLabel("url");
  assert.equal(await url.inputValue(), "", "a secret is never put back in the page");
  assert.match(await url.getAttribute("placeholder"), /set/);
  await check(page, "destination-edit");
  await page.getByLabel("Grabs").uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(/\/admin\/destinations(#.*)?$/);
  const second = await postGrab(2);
  // Routed (to nothing here) once the event has its deliveries listed: wait until it is no longer waiting.
  await until(async () => {
    const shown = await api(`/api/events/${second}`);
    return shown.id === second && Array.isArray(shown.deliveries);
  }, "the second grab was stored");
  const shown = await api(`/api/destinations/movies`);
  assert.equal(shown.version, 2, "saved once more");
  assert.ok(!shown.settings.events.includes("download.grabbed"), JSON.stringify(shown.settings.events));
  assert.ok(!shown.settings.events.includes("*"), JSON.stringify(shown.settings.events));

  // The template studio saves: a broken template is refused with its line, a good one is in force at once
  // and in its history.
  await page.getByRole("link", { name: "Template studio" }).click();
  await page.getByRole("heading", { name: "Template studio" }).waitFor();
  const editor = page.getByLabel("Handlebars");
  await editor.fill('{"content": "{{#if summary}}{{summary}}"}');
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.locator("[data-save-problems] li").filter({ hasText: /line \d+/ }).waitFor();
  await check(page, "studio-save-refused");
  await editor.fill('{"content": "{{summary}} (saved in the studio)"}');
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("In force now: the stored one").waitFor();
  await page.getByText("History", { exact: true }).click();
  await page.locator("[data-history-list] li").filter({ hasText: "saved" }).first().waitFor();
  assert.equal(await page.getByRole("button", { name: "Restore this one" }).count(), 1);
  await check(page, "studio-saved");

  // A second Radarr, added on the Sources page, with an allow-list; then deleted.
  await page.getByRole("link", { name: "Sources" }).click();
  await page.getByLabel("Name").fill("radarr-4k");
  await page.getByLabel("App").selectOption("radarr");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const added = page.locator('[data-source="radarr-4k"]');
  await added.getByLabel("Connect URL").waitFor();
  assert.match(await added.getByLabel("Connect URL").inputValue(), /\/hooks\/radarr-4k\?token=/);
  await added.getByLabel("Only from (empty: anywhere)").fill("192.168.1.0/24");
  await added.getByRole("button", { name: "Save the allow-list" }).click();
  await until(async () => (await api("/api/sources")).items.some((s) => s.name === "radarr-4k" && s.allow_ips[0] === "192.168.1.0/24"),
    "the allow-list was saved");
  await page.reload();
  await check(page, "sources-with-stored");
  await page.locator('[data-source="radarr-4k"]').getByRole("button", { name: "Delete this source" }).click();
  await until(async () => !(await api("/api/sources")).items.some((s) => s.name === "radarr-4k"), "the source was deleted");

  // The grabs above started a title's story: listed on the Stories page, with its steps and timeline.
  await until(async () => (await api("/api/stories")).items.length > 0, "a story was joined");
  await page.getByRole("link", { name: "Stories" }).click();
  await page.getByRole("heading", { name: "Stories" }).waitFor();
  // A person added on the page, told at the destination made above; then removed.
  await page.getByLabel("Name", { exact: true }).fill("Zoë");
  await page.getByLabel("Overseerr or Jellyseerr e-mail or user name").fill("zoe@example.org");
  await page.getByLabel("Told at").selectOption("movies");
  await page.getByRole("button", { name: "Add this person" }).click();
  await until(async () => (await api("/api/people")).items.some((p) => p.name === "Zoë" && p.notify === "movies"),
    "the person was saved");
  await page.getByRole("button", { name: "Remove Zoë" }).waitFor();
  await check(page, "stories");
  await page.getByRole("button", { name: "Remove Zoë" }).click();
  await until(async () => (await api("/api/people")).items.length === 0, "the person was removed");
  await page.reload();
  await page.getByRole("link", { name: "Dune: Part Two (2024)" }).click();
  await page.getByRole("heading", { name: "Dune: Part Two (2024)" }).waitFor();
  assert.match(await page.locator("[data-headline]").innerText(), /Grabbed .* downloading/);
  await page.getByRole("heading", { name: "Timeline" }).waitFor();
  assert.ok(await page.getByRole("cell", { name: "download.grabbed" }).count() >= 1, "the grab is in the timeline");
  await check(page, "story");
} catch (e) {
  await recordFailure(browser, e, problems, shoot);
} finally {
  await browser.close();
}
finish(problems, leftLoopback, "set-up: every browser check held");
