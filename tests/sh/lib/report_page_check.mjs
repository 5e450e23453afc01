// Opens a `leap report` HTML page in Debian's chromium through playwright-core and checks what a
// reader sees at a laptop's width: nothing wider than the window, charts that fill the column,
// a value on every bar, no colour that means both a run and a token kind, run labels in words;
// then follows problem links to their viewer pages, which load with no console errors.
// Usage: node report_page_check.mjs REPORT.html SCREENSHOT_DIR LABEL...
import { check, finish, launch, offline_page } from "./browser_check.mjs";

const [report_file, shots, ...labels] = process.argv.slice(2);

const browser = await launch();
try {
  const { context, page, errors, requests } = await offline_page(browser, { width: 1366, height: 900 });
  await page.goto("file://" + report_file);

  for (const width of [1366, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(over <= 0, `${width} px: nothing wider than the window (${over} px over)`);
    // Horizontal scroll only as a last resort: at this width no table needs its own.
    const scrolled = await page.$$eval(".table-wrap", (ws) => ws.filter((w) => w.scrollWidth > w.clientWidth + 1).length);
    check(scrolled === 0, `${width} px: every table fits without scrolling (${scrolled} scroll)`);
  }
  await page.setViewportSize({ width: 1366, height: 900 });

  // The content column: the body's width less its padding.
  const content = await page.evaluate(() => {
    const s = getComputedStyle(document.body);
    return document.body.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  });
  const charts = await page.$$eval("svg.chart", (cs) => cs.map((c) => ({ id: c.id, w: c.getBoundingClientRect().width })));
  check(charts.length === 3, `three charts (${charts.length})`);
  for (const c of charts) check(c.w >= 0.6 * content, `${c.id}: ${c.w.toFixed(0)} px wide, >= 60% of the ${content.toFixed(0)} px column`);

  // Every bar has its value: a text tied to it, not empty, over the bar.
  const bars = await page.$$eval("rect.bar", (rs) => rs.map((r) => {
    const b = r.getBoundingClientRect();
    const t = document.querySelector(`text.value[data-for="${r.dataset.bar}"]`);
    const tb = t ? t.getBoundingClientRect() : null;
    return { id: r.dataset.bar, left: b.left, right: b.right, top: b.top, text: t ? t.textContent : "",
             cx: tb ? (tb.left + tb.right) / 2 : null, bottom: tb ? tb.bottom : null };
  }));
  check(bars.length > 0, `bars drawn (${bars.length})`);
  const unlabelled = bars.filter((b) => !/^\d+(\.\d+)?k?$/.test(b.text) || b.cx < b.left - 2 || b.cx > b.right + 2 || b.bottom > b.top + 2);
  check(unlabelled.length === 0, `every bar shows its value above it (${unlabelled.map((b) => b.id + ":" + b.text).join(" ") || "all"})`);

  // One palette for runs, another for token kinds.
  const colours = await page.evaluate(() => {
    const get = (sel, attr) => [...document.querySelectorAll(sel)].map((e) => (e.getAttribute(attr) || "").toLowerCase()).filter((c) => c && c !== "none");
    return {
      runs: [...get("#chart-pass1 rect.bar, #chart-cons rect.bar", "fill"), ...get("#chart-tokens rect.bar", "stroke"),
             ...get("#chart-pass1 rect.legend", "fill")],
      kinds: get("#chart-tokens rect.seg", "fill"),
    };
  });
  const shared = [...new Set(colours.runs)].filter((c) => colours.kinds.includes(c));
  check(colours.runs.length > 0 && colours.kinds.length > 0, `run colours (${new Set(colours.runs).size}) and token-kind colours (${new Set(colours.kinds).size})`);
  check(shared.length === 0, `no colour means both a run and a token kind (${shared.join(" ") || "none shared"})`);

  // Run labels in words: the legends and the tables' run column.
  const shown = await page.evaluate(() => [
    ...[...document.querySelectorAll("#chart-pass1 text.legend")].map((t) => t.textContent),
    ...[...document.querySelectorAll("table.accuracy tbody tr td:first-child")].map((t) => t.textContent),
  ]);
  const raw = shown.filter((l) => l.includes("=") || /\b(sampling|config)\./.test(l) || /\b[a-z]+_[a-z_]+\b/.test(l));
  check(shown.length > 0 && raw.length === 0, `no label holds '=' or a raw key (${raw.join(" | ") || shown.length + " labels"})`);
  for (const l of labels) check(shown.includes(l), `the label "${l}" is shown`);
  check(errors.length === 0, "no console errors" + (errors.length ? ": " + errors.join(" | ") : ""));
  check(requests.length === 0, "no network requests" + (requests.length ? ": " + requests.join(" ") : ""));
  await page.screenshot({ path: `${shots}/report-1366.png`, fullPage: true });

  // A link per problem and run; the linked pages load and draw the problem.
  const links = await page.$$eval("a[data-problem]", (as) => as.map((a) => ({ href: a.href, problem: a.dataset.problem })));
  const problems = new Set(links.map((l) => l.problem));
  check(links.length === problems.size * labels.length, `a link per problem and run (${links.length} for ${problems.size} problems)`);
  // The first problem's page of every run: LeaP-T's shows routing edges.
  for (const l of links.filter((x) => x.problem === links[0].problem)) {
    const p = await context.newPage();
    const perrors = [];
    p.on("console", (m) => { if (m.type() === "error") perrors.push(m.text()); });
    p.on("pageerror", (e) => perrors.push(String(e)));
    const res = await p.goto(l.href);
    await p.waitForSelector(".path", { timeout: 10000 }).catch(() => {});
    const panes = await p.locator(".paths > .path").count();
    const id = await p.locator(".problem h2 .meta").first().textContent().catch(() => "");
    const method = await p.locator(".run-settings summary").textContent().catch(() => "");
    const edges = await p.locator(".route .edge").count();
    const name = l.href.split("/").slice(-3).join("/");
    check(res && res.ok() && panes >= 4 && (id || "").includes(l.problem), `${name}: loads and draws problem ${l.problem} (${panes} paths)`);
    check(perrors.length === 0, `${name}: no console errors` + (perrors.length ? ": " + perrors.join(" | ") : ""));
    if (/leap-t/.test(method || "")) check(edges > 0, `${name}: LeaP-T's page shows the routing (${edges} edges)`);
    await p.close();
  }
} finally {
  await browser.close();
}
finish();
