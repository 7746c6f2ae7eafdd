// A user's mock tries to take over an admin's session: the admin is logged in and opens the mock's link.
// Run by `cargo test` (tests/it/mock_attack.rs), which starts hookarr and passes:
//   HOOKARR_URL          hookarr's base URL (loopback)
//   HOOKARR_ADMIN_KEY    the admin's API key
//   HOOKARR_MOCK_URLS    the attacking mocks' URLs, comma-separated
// Each mock's body is a page whose script, if it ran in hookarr's origin, would read the admin page's CSRF
// token, create an admin user, post the answer back to the mock, plant a cookie and set the title to
// "taken over". Prints one JSON line (what the browser saw) and exits 0; the Rust test judges it, with what
// the server then holds (no new user, nothing posted back).
import { chromium } from "playwright-core";
import { isLoopback } from "./common.mjs";

const base = process.env.HOOKARR_URL;
const adminKey = process.env.HOOKARR_ADMIN_KEY;
const mocks = process.env.HOOKARR_MOCK_URLS.split(",");


const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const seen = { titles: [], cookiesBefore: [], cookiesAfter: [], scriptErrors: [], downloads: 0, loggedInAfter: false };
try {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.route("**/*", (route) => (isLoopback(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on("download", () => { seen.downloads += 1; });
  await page.goto(`${base}/admin/login`);
  await page.getByLabel("API key").fill(adminKey);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  seen.cookiesBefore = (await context.cookies()).map((c) => `${c.name}=${c.value}`).sort();

  for (const url of mocks) {
    const tab = await context.newPage();
    tab.on("pageerror", (e) => seen.scriptErrors.push(e.message));
    await tab.goto(url).catch(() => {});
    // Long enough for the attack's fetches to have gone, had its script run.
    await tab.waitForTimeout(1500);
    seen.titles.push(await tab.title().catch(() => ""));
    await tab.close();
  }
  seen.cookiesAfter = (await context.cookies()).map((c) => `${c.name}=${c.value}`).sort();
  // The admin's own session still works, and the dashboard is still the dashboard.
  await page.goto(`${base}/admin`);
  seen.loggedInAfter = (await page.getByRole("heading", { name: "Dashboard" }).count()) === 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
