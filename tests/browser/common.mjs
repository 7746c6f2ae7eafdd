// What the browser runs share: the loopback rule, waiting on a probe, and the checks every view gets
// (axe, no horizontal scroll on a phone, screenshots).
import { readFileSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, "node_modules/axe-core/axe.min.js"), "utf8");

/** Whether a URL stays on this machine (or is no network at all). */
export function isLoopback(url) {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "about:" || protocol === "blob:") return true;
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]" || hostname.startsWith("127.");
}

/** Retries `probe` for up to 30 s until it says yes. */
export async function until(probe, what) {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((done) => setTimeout(done, 300));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** The checks of a run: `problems` collects what failed, `shots` is where screenshots go (or nothing). */
export function checker(problems, shots) {
  async function shoot(page, name, full = true) {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: full });
  }

  /** No serious accessibility violation, no horizontal scroll on a phone, and a screenshot at 1280 and
   * 390 px wide. */
  async function check(page, name) {
    await page.evaluate(axeSource);
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    for (const v of serious) {
      problems.push(`${name}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
    }
    await shoot(page, name);
    await page.setViewportSize({ width: 390, height: 844 });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > 390) {
      // Which elements stick out, to say where to look.
      const culprits = await page.evaluate(() => [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > 391)
        .slice(-3)
        .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "")));
      problems.push(`${name}: ${wide} px wide at a 390 px viewport (horizontal scroll): ${culprits.join(", ")}`);
    }
    await shoot(page, `${name}-phone`, false);
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  return { check, shoot };
}

/** Debian's Chromium with a page that reaches loopback only (anything else is refused and put in
 * `leftLoopback`), accepts dialogs ("Delete this…?": yes), and counts console and script errors as problems
 * (console errors that `expected` says yes to aside). */
export async function openPage(chromium, problems, leftLoopback, expected = () => false) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    leftLoopback.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  page.on("console", (m) => {
    if (m.type() === "error" && !expected(m.text())) problems.push(`console error on ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`script error on ${page.url()}: ${e.message}`));
  return { browser, context, page };
}

/** What a failed run saw: the error, and what each page showed (with a screenshot). */
export async function recordFailure(browser, error, problems, shoot) {
  problems.push(error.stack || String(error));
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    problems.push(`${p.url()}:\n${(await p.locator("main").innerText().catch(() => "")).slice(0, 3000)}`);
    await shoot(p, "failure").catch(() => {});
  }
}

/** Ends the run: every problem and exit 1, or `held` and exit 0. */
export function finish(problems, leftLoopback, held) {
  if (leftLoopback.length) problems.push(`requests that would have left this machine: ${leftLoopback.join(", ")}`);
  if (problems.length) {
    console.error(problems.join("\n\n"));
    process.exit(1);
  }
  console.log(held);
}
