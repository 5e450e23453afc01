// Opens a `leap view` page in Debian's chromium through playwright-core and checks what a reader
// sees: no console errors, one pane per path, routing edges for at least one block, the final
// answer and the vote; the panes side by side on a desktop and stacked at a phone's width.
// Then a run with no block (independent sampling): drawn without errors, the routing says so.
// Usage: node viewer_page_check.mjs PAGE.html PATHS ANSWER SCREENSHOT_DIR NO_BLOCK_PAGE.html
import { check, finish, launch, offline_page } from "./browser_check.mjs";

const [page_file, paths_arg, answer, shots, no_block_file] = process.argv.slice(2);
const n_paths = Number(paths_arg);

const browser = await launch();
try {
  const { context, page, errors, requests } = await offline_page(browser, { width: 1280, height: 900 });
  await page.goto("file://" + page_file);
  await page.waitForSelector(".path");

  check(errors.length === 0, "no console errors" + (errors.length ? ": " + errors.join(" | ") : ""));
  check(requests.length === 0, "no network requests" + (requests.length ? ": " + requests.join(" ") : ""));
  const panes = page.locator(".paths > .path");
  check(await panes.count() === n_paths, `${n_paths} path panes (got ${await panes.count()})`);
  const edges = await page.locator(".route .edge").count();
  check(edges > 0, `routing edges drawn (${edges})`);
  const edge_label = await page.locator(".route .edge text").first().textContent();
  check(/^[01]\.\d\d$/.test(edge_label || ""), `an edge shows its similarity score (${edge_label})`);
  // The recorded nano run: paths 1 and 3 hear path 0's "x=9" at block 1 and say it at block 2.
  const adopted = await page.locator(".route .edge.adopted").evaluateAll((es) => es.map((e) => `${e.dataset.from}->${e.dataset.to}`));
  check(adopted.includes("0->1"), `the edge whose result path 1 took is marked (${adopted.join(" ") || "none"})`);
  const took = await page.locator('.path[data-path="1"] .adopted-note').textContent().catch(() => "");
  check(/path 0's, heard at block 1/.test(took || ""), `path 1's pane says it took path 0's result, heard at block 1 (${took})`);
  check(await page.locator('.path[data-path="0"] .adopted-note').count() === 0, "path 0, which kept its own result, is not marked");
  const finals = await page.locator('[data-role="final-answer"]').allTextContents();
  check(finals.some((t) => t.includes("answer: " + answer)), `a pane shows the final answer ${answer}`);
  const vote = await page.locator('[data-role="vote"]').first().textContent();
  check((vote || "").includes(answer), `the vote shows ${answer} (${vote})`);
  check(await page.locator(".badge.agree").count() > 0, "panes say whether they agree with the vote");
  check(await page.locator('[data-role="summary"]').count() > 0, "summaries are highlighted");
  check(await page.locator('[data-role="comment"]').count() > 0, "comment blocks are shown");
  const settings = await page.locator(".settings").textContent();
  check((settings || "").includes("segment_tokens"), "the run's settings are shown");

  const b0 = await panes.nth(0).boundingBox(), b1 = await panes.nth(1).boundingBox();
  check(Math.abs(b0.y - b1.y) < 2 && b1.x > b0.x + b0.width - 1, "desktop: panes side by side");
  await page.screenshot({ path: `${shots}/viewer-desktop.png`, fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  const p0 = await panes.nth(0).boundingBox(), p1 = await panes.nth(1).boundingBox();
  check(Math.abs(p0.x - p1.x) < 2 && p1.y >= p0.y + p0.height - 1, "phone (390 px): panes stacked");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `phone (390 px): nothing wider than the screen (${overflow} px over)`);
  await page.screenshot({ path: `${shots}/viewer-phone.png`, fullPage: false });

  const plain = await context.newPage();
  const plain_errors = [];
  plain.on("console", (m) => { if (m.type() === "error") plain_errors.push(m.text()); });
  plain.on("pageerror", (e) => plain_errors.push(String(e)));
  await plain.goto("file://" + no_block_file);
  await plain.waitForSelector(".path");
  check(plain_errors.length === 0, "no-block run: no console errors" + (plain_errors.length ? ": " + plain_errors.join(" | ") : ""));
  check(await plain.locator(".paths > .path").count() === n_paths, `no-block run: ${n_paths} path panes`);
  check(/No block ran/.test(await plain.locator(".routing").textContent()), "no-block run: the routing says no block ran");
} finally {
  await browser.close();
}
finish();
