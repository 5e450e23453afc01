// The LeaP trace viewer. With a trace embedded (leap view) it draws that run; with none (leap
// serve at /) it asks for a problem and draws the run from the streaming API as it comes.
// Text from the trace is only ever set as textContent, never parsed as HTML.
"use strict";

const KINDS = ["reasoning", "summary", "injected", "answer"];
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
  }
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// The settings that say what the run was, flattened ("sampling.temperature"), as a compact grid.
function settingsTable(config, model) {
  const rows = [];
  if (model) rows.push(["model", model]);
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj || {})) {
      if (v && typeof v === "object" && !Array.isArray(v)) walk(v, prefix + k + ".");
      else if (typeof v === "number" && !Number.isInteger(v)) rows.push([prefix + k, String(+v.toPrecision(4))]);
      else rows.push([prefix + k, typeof v === "string" ? v : JSON.stringify(v)]);
    }
  };
  walk(config, "");
  const grid = el("div", { class: "settings" });
  for (const [k, v] of rows) grid.append(el("div", { class: "setting" }, el("span", { class: "k" }, k), " ", el("span", { class: "v" }, v)));
  return grid;
}

function tokenBar(tokens, scale) {
  const bar = el("div", { class: "tokbar", title: KINDS.map((k) => `${k} ${tokens[k] || 0}`).join(", ") });
  for (const k of KINDS) {
    const n = tokens[k] || 0;
    if (n > 0) bar.append(el("span", { class: "k-" + k, style: `width:${(100 * n) / scale}%` }));
  }
  return bar;
}

function legend() {
  const l = el("div", { class: "legend" }, "tokens:");
  for (const k of KINDS) l.append(el("i", { class: "k-" + k }), k);
  return l;
}

// Path i's blocks by block index.
function blocksByIndex(path) {
  const m = new Map();
  for (const b of path.blocks || []) m.set(b.block, b);
  return m;
}

// What a summary says past its opener ("Up to now, I have established that" + " x=9"), spaces
// collapsed, so two paths' summaries compare by content whatever opener each drew.
function summaryContent(b) {
  let text = b.summary || "";
  const opener = ((b.summary_request || "").split("<summarize>")[1] || "").trim();
  if (opener && text.startsWith(opener)) text = text.slice(opener.length);
  return text.replace(/\s+/g, " ").trim();
}

// The peers whose result a path took up after block b: its summary at the next block says what a
// peer's summary at block b said and its own did not. Returns [{path, block, peer}].
function adoptions(paths) {
  const out = [];
  paths.forEach((p, i) => {
    const mine = blocksByIndex(p);
    for (const [b, block] of mine) {
      const next = mine.get(b + 1);
      if (!next) continue;
      const before = summaryContent(block), after = summaryContent(next);
      if (!after || after === before) continue;
      for (const h of block.peers || []) {
        const heard = blocksByIndex(paths[h.peer] || {}).get(b);
        if (heard && summaryContent(heard) === after) out.push({ path: i, block: b, peer: h.peer });
      }
    }
  });
  return out;
}

// One path's pane: its answer against the vote, its tokens, then its text segment by segment
// with the block after each segment (the summary it wrote, the comment block it received).
function pathPane(problem, path, i, scale) {
  const answers = problem.answers || [];
  const answer = answers[i] !== undefined ? answers[i] : path.answer_graded;
  const vote = problem.vote || {};
  const pane = el("section", { class: "path", "data-path": String(i) });
  const title = el("h3", {}, el("span", {}, `Path ${i}`), el("span", { class: "meta" }, path.finish || ""));
  pane.append(title);

  const final = el("div", { class: "final", "data-role": "final-answer" }, "answer: ", answer ? answer : "(none)");
  if (vote.voters !== undefined && answer) {
    const agrees = (vote.majority || []).includes(i);
    final.append(el("span", { class: "badge " + (agrees ? "agree" : "disagree") }, agrees ? "agrees with the vote" : "outvoted"));
  }
  const correct = (problem.correct || [])[i];
  if (correct !== undefined && correct !== null)
    final.append(el("span", { class: "badge " + (correct ? "correct" : "wrong") }, correct ? "correct" : "wrong"));
  pane.append(final);

  for (const a of (problem._adoptions || []).filter((a) => a.path === i))
    pane.append(el("div", { class: "adopted-note" }, el("span", { class: "badge adopted" }, "took a peer's result"),
       ` path ${a.peer}'s, heard at block ${a.block + 1}`));
  const tokens = path.tokens || {};
  pane.append(tokenBar(tokens, scale));
  pane.append(el("div", { class: "meta" }, KINDS.map((k) => `${k} ${tokens[k] || 0}`).join(" · ")));
  if (path.group !== undefined) pane.append(el("div", { class: "meta" }, `group ${path.group}${path.pruned ? ", pruned after its block" : ""}`));

  const blocks = blocksByIndex(path);
  (path.segments || []).forEach((text, s) => {
    const seg = el("div", { class: "segment", "data-segment": String(s) }, el("span", { class: "label" }, `segment ${s + 1}`),
      el("div", { class: "text" }, text));
    pane.append(seg);
    const b = blocks.get(s);
    if (b) pane.append(blockView(b));
  });
  // Blocks past the last segment listed (the live page lists other paths' text as one line).
  for (const [index, b] of [...blocks].sort((a, b) => a[0] - b[0]))
    if (index >= (path.segments || []).length) pane.append(blockView(b));
  if (path.answer !== undefined) {
    pane.append(el("div", { class: "answer-text" }, el("span", { class: "label" }, "final answer text"),
      el("div", { class: "text" }, path.answer)));
  }
  for (const note of path.notes || []) pane.append(el("div", { class: "meta" }, "note: " + note));
  return pane;
}

function blockView(b) {
  const box = el("div", { class: "block", "data-block": String(b.block) }, el("span", { class: "label" }, `block ${b.block + 1}`));
  if (b.trimmed) box.append(el("div", { class: "text trimmed", title: "the unfinished paragraph dropped before the summary" }, b.trimmed));
  if (b.summary_request) {
    // The request is trigger + <summarize> + opener; the opener is the start of the summary.
    const trigger = b.summary_request.split("<summarize>")[0].trim();
    if (trigger) box.append(el("div", { class: "text trigger" }, trigger));
  }
  if (b.summary !== undefined) box.append(el("div", { class: "text summary", "data-role": "summary" }, b.summary));
  const peers = b.peers || [];
  box.append(el("div", { class: "heard" }, peers.length
    ? "heard " + peers.map((p) => `path ${p.peer} (${fmtScore(p.score)})`).join(", ")
    : "heard no peers"));
  if (b.injected) box.append(el("div", { class: "text comment", "data-role": "comment" }, b.injected));
  return box;
}

function fmtScore(s) { return typeof s === "number" ? s.toFixed(2) : "?"; }

// Block b's routing: every path once as a speaker (top) and once as a listener (bottom), an
// edge from each peer a path heard to that path, labelled with the similarity score.
function routingGraph(paths, b, adopted) {
  const n = paths.length;
  const gap = 84, pad = 40, top = 28, bottom = 208;
  const width = Math.max(2 * pad + (n - 1) * gap, 160);
  const g = svg("svg", { width: width, height: 240, viewBox: `0 0 ${width} 240`, role: "img",
    "aria-label": `routing at block ${b + 1}` });
  const x = (i) => pad + i * gap;
  g.append(svg("text", { class: "row-label", x: 2, y: top - 16 }, "summary of"));
  g.append(svg("text", { class: "row-label", x: 2, y: bottom + 26 }, "heard by"));
  let edges = 0, passed = 0;
  paths.forEach((p, i) => {
    const block = (p.blocks || []).find((x) => x.block === b);
    if (!block) return;
    passed++;
    (block.peers || []).forEach((peer, rank) => {
      const took = adopted.some((a) => a.block === b && a.path === i && a.peer === peer.peer);
      const e = svg("g", { class: took ? "edge adopted" : "edge", "data-from": String(peer.peer), "data-to": String(i) });
      e.append(svg("title", {}, `path ${i} heard path ${peer.peer} (similarity ${fmtScore(peer.score)})` +
        (took ? `, and its next summary says what path ${peer.peer}'s said` : "")));
      e.append(svg("line", { x1: x(peer.peer), y1: top + 12, x2: x(i), y2: bottom - 12, "stroke-width": 1.5 }));
      // The score sits on the edge a fixed distance from the listener: edges into one node
      // arrive at different angles, so their labels stay apart.
      const dx = x(peer.peer) - x(i), dy = top - bottom, len = Math.hypot(dx, dy), d = 36 + 26 * rank;
      e.append(svg("text", { x: x(i) + (dx * d) / len, y: bottom + (dy * d) / len + 3 }, fmtScore(peer.score)));
      g.append(e);
      edges++;
    });
  });
  for (let i = 0; i < n; i++) {
    for (const [y, role] of [[top, "speaker"], [bottom, "listener"]]) {
      const node = svg("g", { class: "node", "data-role": role });
      node.append(svg("circle", { cx: x(i), cy: y, r: 11 }), svg("text", { x: x(i), y: y }, String(i)));
      g.append(node);
    }
  }
  if (!edges) g.append(svg("text", { class: "empty", x: width / 2, y: 120, "text-anchor": "middle" },
    passed ? `${passed} path${passed > 1 ? "s" : ""} passed it, hearing no peer` : "no path passed this block"));
  return el("figure", { class: "route", "data-block": String(b) }, el("figcaption", { class: "meta" }, `block ${b + 1} (after segment ${b + 1})`), g);
}

function problemView(trace, problem, index) {
  const box = el("article", { class: "problem", "data-problem": String(index) });
  const paths = problem.paths || [];
  box.append(el("h2", {}, "Problem", problem.id !== undefined ? el("span", { class: "meta" }, ` id ${problem.id}`) : null));
  box.append(el("div", { class: "problem-text" }, problem.problem || problem.user_message || ""));
  if (problem.choices && Object.keys(problem.choices).length) {
    box.append(el("div", { class: "meta" }, Object.entries(problem.choices).map(([k, v]) => `${k}: ${v}`).join("   ")));
  }
  const vote = problem.vote || {};
  const line = el("div", { class: "summary-line" });
  line.append(el("span", { "data-role": "vote" }, el("strong", {}, "vote: "), vote.answer ? vote.answer : problem.vote ? "(no answer)" : "(waiting for the paths)",
    vote.voters !== undefined ? ` (${vote.votes} of ${paths.length} paths)` : ""));
  if (problem.gold !== undefined) {
    line.append(el("span", {}, el("strong", {}, "gold: "), String(problem.gold)));
    if (problem.vote_correct !== undefined)
      line.append(el("span", { class: "badge " + (problem.vote_correct ? "correct" : "wrong") }, problem.vote_correct ? "vote correct" : "vote wrong"));
  }
  if (problem.prompt_tokens !== undefined) line.append(el("span", { class: "meta" }, `shared prompt ${problem.prompt_tokens} tokens`));
  if (problem.timings && problem.timings.wall_s !== undefined) line.append(el("span", { class: "meta" }, `${problem.timings.wall_s.toFixed(2)} s`));
  box.append(line);

  const nBlocks = Math.max(0, ...paths.map((p) => Math.max(-1, ...(p.blocks || []).map((b) => b.block)) + 1));
  box.append(el("h3", {}, "Routing: who heard whom at each block"));
  box.append(el("p", { class: "meta" }, "A bold edge: the listener's next summary says what that peer's summary said and its own did not (it took the peer's result)."));
  const routing = el("div", { class: "routing" });
  problem._adoptions = adoptions(paths);
  for (let b = 0; b < nBlocks; b++) routing.append(routingGraph(paths, b, problem._adoptions));
  if (!nBlocks) routing.append(el("p", { class: "meta" }, "No block ran: every path finished within its first segment, or the method has none."));
  box.append(routing);

  box.append(el("h3", {}, "Paths"), legend());
  const scale = Math.max(1, ...paths.map((p) => KINDS.reduce((a, k) => a + ((p.tokens || {})[k] || 0), 0)));
  const panes = el("div", { class: "paths" });
  paths.forEach((p, i) => panes.append(pathPane(problem, p, i, scale)));
  box.append(panes);
  return box;
}

function renderTrace(app, trace) {
  app.replaceChildren();
  const problems = trace.problems || [];
  const settings = el("details", { class: "run-settings" }, el("summary", {}, `Run settings (${(trace.config || {}).method || "method not known yet"}${trace.leap_version ? ", leap " + trace.leap_version : ""})`),
    settingsTable(trace.config, trace.model));
  settings.open = window.innerWidth > 700;  // on a phone the paths come first
  app.append(settings);
  problems.forEach((p, i) => app.append(problemView(trace, p, i)));
  if (trace.stats && trace.stats.tokens) {
    app.append(el("p", { class: "meta" }, "run tokens: " + Object.entries(trace.stats.tokens).map(([k, v]) => `${k} ${v}`).join(" · ")));
  }
}

function main() {
  const app = document.getElementById("app");
  const data = document.getElementById("leap-trace").textContent.trim();
  if (data) {
    try {
      renderTrace(app, JSON.parse(data));
    } catch (err) {
      app.replaceChildren(el("p", { class: "error" }, "This trace could not be drawn: " + err.message));
      throw err;
    }
  } else if (typeof startLive === "function") {
    startLive(app);
  }
}

document.addEventListener("DOMContentLoaded", main);

// ---- The live page (leap serve at /): a problem in, the run drawn from the streaming API. ----
// The stream carries path 0's reasoning token by token, every path's segments, blocks (its
// summary and whom it heard) and finish as `leap` events, then the vote and every path's answer
// in the last chunk (docs/serve.md). A block event names the peers with the router's scores.

function liveTrace(problem, n) {
  const paths = [];
  for (let i = 0; i < n; i++) paths.push({ path: i, segments: [], blocks: [], tokens: {}, finish: "running" });
  return { config: {}, problems: [{ id: "live", problem: problem, paths: paths, answers: [] }] };
}

function applyEvent(trace, chunk, live) {
  const p = trace.problems[0];
  const ev = chunk.leap || {};
  const delta = ((chunk.choices || [])[0] || {}).delta || {};
  if (delta.reasoning_content) {
    live.reasoning += delta.reasoning_content;
    p.paths[0].segments = [live.reasoning];
  }
  const path = p.paths[ev.path];
  if (ev.event === "segment" && path) {
    path.tokens.reasoning = ev.reasoning_tokens;
    if (ev.path !== 0) path.segments = [`(${ev.segment + 1} segment${ev.segment ? "s" : ""} written; only path 0's text is streamed)`];
  } else if (ev.event === "block" && path) {
    const scores = ev.scores || [];
    path.blocks.push({ block: ev.block, summary: ev.summary, peers: (ev.peers || []).map((j, n) => ({ peer: j, score: scores[n] })) });
  } else if (ev.event === "path_done" && path) {
    path.finish = ev.finish;
  }
  if (ev.vote) {  // the last chunk: the plain response's leap object
    trace.config = Object.assign({ method: ev.method }, ev.config || {});
    p.vote = ev.vote;
    (ev.paths || []).forEach((r, i) => {
      const q = p.paths[i];
      if (!q) return;
      p.answers[i] = r.answer;
      q.answer = r.final;
      q.finish = r.finish;
      q.tokens = r.tokens || q.tokens;
    });
  }
}

function startLive(app) {
  const keyBox = el("input", { type: "password", id: "api-key", placeholder: "API key (if the server has one)", autocomplete: "off" });
  keyBox.value = sessionStorage.getItem("leap-api-key") || "";
  const problem = el("textarea", { id: "problem", placeholder: "A problem, e.g. What is 17 * 23?" });
  const paths = el("input", { type: "number", id: "paths", min: "1", value: "4", title: "paths (N)" });
  const segments = el("input", { type: "number", id: "segments", min: "1", placeholder: "default", title: "segments (M)" });
  const run = el("button", { type: "submit", id: "run" }, "Run");
  const status = el("div", { class: "status", id: "status" }, "");
  const out = el("div", { id: "run-view" });
  const form = el("form", { class: "ask" }, problem,
    el("div", { class: "row" }, el("label", {}, "paths ", paths), el("label", {}, "segments ", segments), keyBox, run), status);
  app.replaceChildren(form, out);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem("leap-api-key", keyBox.value);
    const n = Number(paths.value) || 4;
    const leap = { paths: n };
    if (segments.value) leap.segments = Number(segments.value);
    const trace = liveTrace(problem.value, n);
    const live = { reasoning: "" };
    let pending = false;
    const draw = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; renderTrace(out, trace); });
    };
    run.disabled = true;
    status.textContent = "running...";
    try {
      const headers = { "Content-Type": "application/json" };
      if (keyBox.value) headers.Authorization = "Bearer " + keyBox.value;
      const res = await fetch("/v1/chat/completions", { method: "POST", headers,
        body: JSON.stringify({ messages: [{ role: "user", content: problem.value }], stream: true, leap }) });
      if (!res.ok) {
        let msg = `HTTP ${res.status}`;
        try { msg += ": " + (await res.json()).error.message; } catch (_) { /* not JSON */ }
        if (res.status === 401) msg += " (enter the server's API key)";
        throw new Error(msg);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6);
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.error) throw new Error(chunk.error.message || "the server reported an error");
            applyEvent(trace, chunk, live);
          }
        }
        draw();
      }
      renderTrace(out, trace);
      status.textContent = "done";
    } catch (err) {
      status.textContent = "";
      status.append(el("span", { class: "error", id: "live-error" }, String(err.message || err)));
    } finally {
      run.disabled = false;
    }
  });
}
