// What the page checks run in Debian's chromium share (viewer_page_check.mjs,
// viewer_serve_check.mjs, report_page_check.mjs): a pass/fail tally, chromium through
// playwright-core, and a page opened offline that records console errors and any request
// leaving it. browser_setup (viewer_lib.sh) copies this file next to the check it runs.
import { chromium } from "playwright-core";

let passed = 0, failed = 0;
export function check(cond, what) {
  if (cond) { passed++; console.log("ok   " + what); }
  else { failed++; console.log("FAIL " + what); }
}

// Prints the tally and exits 1 when a check failed.
export function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // Tests run as root in CI, where chromium's sandbox cannot start.
    args: ["--no-sandbox"],
  });
}

// A page whose every request but file: ones is refused and listed in `requests` (offline means
// offline: a CDN or a font fails the check), with console errors and page errors in `errors`.
export async function offline_page(browser, viewport) {
  const context = await browser.newContext({ viewport });
  const requests = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    requests.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  return { context, page, errors, requests };
}
