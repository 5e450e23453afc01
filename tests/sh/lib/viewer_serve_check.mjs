// The live viewer page of `leap serve` (GET /) in Debian's chromium through playwright-core: it
// loads without the API key and with no console errors, a call without the key is refused and
// says so, and with the key a problem fills one pane per path live from the streaming API, with
// the routing edges of at least one block and the final answer and vote from the last chunk.
// Usage: node viewer_serve_check.mjs BASE_URL KEY PATHS SCREENSHOT_DIR
import { check, finish, launch } from "./browser_check.mjs";

const [base, key, paths_arg, shots] = process.argv.slice(2);
const n_paths = Number(paths_arg);

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("console", (m) => {
    // The refused call below is logged by chromium as a failed resource; that one is expected.
    if (m.type() === "error" && !m.text().includes("401")) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  const res = await page.goto(base + "/");
  check(res.status() === 200, `GET / answers 200 without the key (${res.status()})`);
  await page.waitForSelector("#problem");
  const problem = "Find x in 0..9 with 10 dividing 3x+3. Where do you end?";

  // No key: the API refuses, the page says why.
  await page.fill("#problem", problem);
  await page.fill("#paths", String(n_paths));
  await page.fill("#api-key", "");
  await page.click("#run");
  await page.waitForSelector("#live-error", { timeout: 60000 });
  const refusal = await page.locator("#live-error").textContent();
  check(/401/.test(refusal) && /API key/.test(refusal), `without the key the page shows the refusal (${refusal})`);

  // With the key: the run streams in.
  await page.fill("#api-key", key);
  const chat = page.waitForRequest((r) => r.url().endsWith("/v1/chat/completions"));
  await page.click("#run");
  const sent = await chat;
  check(sent.headers()["authorization"] === "Bearer " + key, "the page sends the key with its call");
  await page.waitForFunction(() => document.getElementById("status").textContent === "done" || document.getElementById("live-error"),
    null, { timeout: 300000 });
  check(await page.locator("#live-error").count() === 0, "the run finished without an error" +
    (await page.locator("#live-error").count() ? ": " + await page.locator("#live-error").textContent() : ""));
  check(await page.locator(".paths > .path").count() === n_paths, `${n_paths} path panes (got ${await page.locator(".paths > .path").count()})`);
  const edges = await page.locator(".route .edge").count();
  check(edges > 0, `routing edges of at least one block (${edges})`);
  // The block events carry the router's similarity scores: every live edge is labelled with one.
  const labels = await page.locator(".route .edge text").allTextContents();
  check(labels.length === edges && labels.every((t) => /^[01]\.\d\d$/.test(t)),
    `every live edge shows its similarity score (${labels.join(" ")})`);
  const heard = await page.locator('.block .heard').first().textContent();
  check(/path \d+ \([01]\.\d\d\)/.test(heard || ""), `a pane says whom it heard with the score (${heard})`);
  const vote = await page.locator('[data-role="vote"]').textContent();
  check(/vote: .+ \(\d+ of \d+ paths\)/.test(vote || ""), `the vote is shown (${vote})`);
  const finals = await page.locator('[data-role="final-answer"]').allTextContents();
  check(finals.length === n_paths && finals.every((t) => t.startsWith("answer: ")), "every pane shows its final answer");
  const reasoning = await page.locator('.path[data-path="0"] .segment .text').first().textContent();
  check((reasoning || "").length > 0, "path 0's streamed reasoning is shown");
  check(await page.locator(".settings .setting").count() > 3, "the run's settings are shown");
  check(errors.length === 0, "no console errors" + (errors.length ? ": " + errors.join(" | ") : ""));
  await page.screenshot({ path: `${shots}/viewer-serve.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  const panes = page.locator(".paths > .path");
  const p0 = await panes.nth(0).boundingBox(), p1 = await panes.nth(1).boundingBox();
  check(Math.abs(p0.x - p1.x) < 2 && p1.y >= p0.y + p0.height - 1, "phone (390 px): panes stacked");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `phone (390 px): nothing wider than the screen (${overflow} px over)`);
} finally {
  await browser.close();
}
finish();
