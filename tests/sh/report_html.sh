#!/usr/bin/env bash
# `leap report`: from synthetic results folders (docs/results.md format), the HTML must be
# well-formed, hold the three SVG charts with one bar per run and benchmark scaled to [0, 100] %,
# legends with the (escaped) labels, the paper's numbers with --paper, and "—" for missing data.
set -euo pipefail
: "${LEAP:?set LEAP to the leap binary}"
: "${LEAP_TEST_TMP:?set LEAP_TEST_TMP}"

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $LEAP == /* ]] || LEAP="$PWD/$LEAP"
T="$LEAP_TEST_TMP/report_html"
[[ $T == /* ]] || T="$PWD/$T"
rm -rf "$T"
mkdir -p "$T"

# make_run DIR METHOD SEED BENCH=PATTERN... ; PATTERN: problems separated by '/', each a string of
# 1 (correct path) and 0 (wrong path); the majority vote is correct when more than half are.
python3 - "$T" <<'PY'
import json, os, sys
root = sys.argv[1]
def make_run(name, method, seed, benches, model="tiny-test.gguf", router="dispersed", top_k=2):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    identity = {"model": model, "config": {"method": method, "paths": 2, "segment_tokens": 64, "segments": 3,
                "summary_tokens": 16, "answer_tokens": 16, "single_block": 0, "router": router, "top_k": top_k,
                "similarity": "levenshtein", "reference_parity": False, "seed": seed,
                "sampling": {"temperature": 0.6, "top_k": 40, "top_p": 0.95, "min_p": 0.0}},
                "prompts": "builtin", "shuffle_options": True, "shuffle_seed": 0, "limit": 0}
    json.dump({"identity": identity, "leap_version": "test"}, open(os.path.join(d, "run.json"), "w"))
    for bench, pattern in benches.items():
        with open(os.path.join(d, bench + ".jsonl"), "w") as f:
            for i, prob in enumerate(pattern.split("/")):
                paths = [{"answer": "1" if c == "1" else "2", "correct": c == "1", "finish": "stop",
                          "tokens": {"reasoning": 100, "summary": 10, "injected": 20, "answer": 5}} for c in prob]
                ok = prob.count("1") * 2 > len(prob)
                vote = {"answer": "1" if ok else "2", "votes": 2, "voters": len(prob), "correct": ok}
                line = {"id": f"{bench}-{i}", "bench": bench, "index": i, "gold": "1", "multiple_choice": False,
                        "paths": paths, "vote": vote, "shortest_majority": vote,
                        "tokens": {"prompt": 50, "reasoning": 100 * len(prob), "summary": 10 * len(prob),
                                   "injected": 20 * len(prob), "answer": 5 * len(prob)},
                        "trace": {}, "timings": {"wall_s": 2.5, "paths_done_s": [2.0, 2.5]}}
                f.write(json.dumps(line) + "\n")
make_run("A", "leap", 1, {"aime24": "11/10/00/10", "gpqa": "11/01"})          # Pass@1 50.00, 75.00
make_run("B", "independent", 1, {"aime24": "10/00/00/00", "gpqa": "10/00"})   # 12.50, 25.00
make_run("C", "leap-t", 1, {"aime24": "11/11/11/11"})                         # 100.00, no gpqa
PY

# check_html FILE SVGS BARS LABEL... : parse with html.parser; prints facts for the caller's greps.
check_html() {
    python3 - "$@" <<'PY'
import sys, re
from html.parser import HTMLParser
path, n_svg, n_bars, labels = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
VOID = {"meta", "br", "hr", "img", "link", "input", "col", "wbr", "area", "base", "source"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.svgs, self.texts = [], [], [], []
        self.cur_svg = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            if self.cur_svg is not None: self.errors.append("nested svg")
            self.cur_svg = {"id": a.get("id"), "bars": [], "legend": [], "ticks": [], "paper": 0, "missing": 0, "in": None}
        self.element(tag, a)
        if tag not in VOID: self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.element(tag, dict(attrs))
    def element(self, tag, a):
        s = self.cur_svg
        if s is None: return
        cls = a.get("class", "")
        if tag == "rect" and cls == "bar": s["bars"].append(a)
        if tag == "path" and cls == "paper": s["paper"] += 1
        if tag == "text": s["in"] = cls
    def handle_endtag(self, tag):
        if tag in VOID: return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}> at {self.getpos()}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag: pass
            return
        self.stack.pop()
        if tag == "text" and self.cur_svg: self.cur_svg["in"] = None
        if tag == "svg":
            self.svgs.append(self.cur_svg); self.cur_svg = None
    def handle_data(self, data):
        self.texts.append(data)
        s = self.cur_svg
        if s and s["in"] == "legend": s["legend"].append(data)
        if s and s["in"] == "tick": s["ticks"].append(data)
        if s and s["in"] == "missing" and data.strip() == "\u2014": s["missing"] += 1
text = open(path, encoding="utf-8").read()
p = P(); p.feed(text); p.close()
def bad(msg): print("FAIL:", msg, file=sys.stderr); sys.exit(1)
if p.errors: bad("unbalanced tags: " + "; ".join(p.errors[:5]))
if p.stack: bad("unclosed tags: " + ",".join(p.stack))
if not text.startswith("<!DOCTYPE html>"): bad("no doctype")
if re.search(r"<(link|script)\b|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", text): bad("external resource referenced")
if len(p.svgs) != n_svg: bad(f"{len(p.svgs)} <svg> elements, want {n_svg}")
for s in p.svgs:
    if len(s["bars"]) != n_bars: bad(f"svg {s['id']}: {len(s['bars'])} bars, want {n_bars}")
    if not s["ticks"]: bad(f"svg {s['id']}: no tick labels")
    legend = " ".join(s["legend"])
    for l in labels:
        if l not in legend: bad(f"svg {s['id']}: legend lacks {l!r} (legend: {legend!r})")
    for b in s["bars"]:
        if float(b["height"]) < 0 or float(b["width"]) <= 0: bad(f"svg {s['id']}: bad bar {b}")
for s in p.svgs:
    if s["id"] in ("chart-pass1", "chart-cons"):
        if s["ticks"] != ["0", "20", "40", "60", "80", "100"]: bad(f"svg {s['id']}: ticks {s['ticks']}")
        # bars scaled to [0, 100] %: height / plot height is the value; plot height = y(0) - y(100)
        heights = sorted(round(float(b["height"]) / 240 * 100, 2) for b in s["bars"])
        print(s["id"], "heights", " ".join(f"{h:.2f}" for h in heights))
    print(s["id"], "paper", s["paper"], "missing", s["missing"])
alltext = "".join(p.texts)
for l in labels:
    if l not in alltext: bad(f"label {l!r} not in the page text")
print("ok html", path)
PY
}

# 1. Two runs, both benchmarks, custom labels (one needing escaping), --paper, nested -o.
out=$("$LEAP" report "$T/A" "$T/B" -o "$T/out/deep/rep" --paper --title 'Test <report> & "co"' \
      --label 'leap ours' --label 'base <&> "q"') || fail "report exit status $?"
[[ -f "$T/out/deep/rep.md" && -f "$T/out/deep/rep.html" ]] || fail "rep.md/rep.html not written ($out)"
ls "$T/out/deep" | grep -q tmp && fail "temporary file left behind"
facts=$(check_html "$T/out/deep/rep.html" 3 4 'leap ours' 'base <&> "q"') || fail "html check: $facts"
echo "$facts"
grep -q '^chart-pass1 heights 12.50 25.00 50.00 75.00$' <<<"$facts" || fail "Pass@1 bar heights: $facts"
grep -q '^chart-cons heights 0.00 0.00 25.00 50.00$' <<<"$facts" || fail "Cons@N bar heights: $facts"
# paper diamonds: leap (60.52, 55.56) and independent (51.35, 46.91), plus the legend's
grep -q '^chart-pass1 paper 5 missing 0$' <<<"$facts" || fail "paper markers: $facts"
H="$T/out/deep/rep.html"
grep -qF 'base &lt;&amp;&gt; &quot;q&quot;' "$H" || fail "label not escaped in HTML"
grep -qF '<&>' "$H" && fail "raw <&> in HTML"
grep -qF 'Test &lt;report&gt; &amp; &quot;co&quot;' "$H" || fail "title not escaped"
for n in 60.52 51.35 55.56 46.91 2505.07787; do grep -qF "$n" "$H" || fail "paper number $n missing from HTML"; done
M="$T/out/deep/rep.md"
grep -E '^\| leap ours \| 4 \| 2 \| 1 \| 50\.00 \[' "$M" >/dev/null || fail "md: leap aime24 row: $(grep -n 'leap ours' "$M")"
grep -E '^\| base \\<\\&\\> "q" \| 4 \| 2 \| 1 \| 12\.50 \[.*\| 51\.35 \|' "$M" >/dev/null || fail "md: baseline row: $(cat "$M")"
grep -qF '60.52' "$M" || fail "md lacks the paper's 60.52"
echo "ok: two runs, --paper, escaping"

# 2. Without --paper: no paper numbers or markers; default labels from run.json.
(cd "$T/out" && "$LEAP" report "$T/A" "$T/B" >/dev/null) || fail "report with default -o"
[[ -f "$T/out/report.md" && -f "$T/out/report.html" ]] || fail "default output report.{md,html} not in cwd"
facts=$(check_html "$T/out/report.html" 3 4 'LeaP, 2 paths, 2 peers (dispersed)' 'Independent, 2 paths') || fail "html check: $facts"
grep -q '^chart-pass1 paper 0 ' <<<"$facts" || fail "paper markers without --paper: $facts"
grep -qF '60.52' "$T/out/report.html" && fail "paper number without --paper"
echo "ok: default labels, no --paper"

# 3. A benchmark missing from one run: 3 bars, a "—" in each chart and in the table.
facts=$(check_html <("$LEAP" report "$T/A" "$T/C" -o "$T/out/miss" >/dev/null && cat "$T/out/miss.html") \
        3 3 'LeaP, 2 paths, 2 peers (dispersed)' 'LeaP-T, 2 paths, 2 peers (dispersed)') || fail "html check (missing bench): $facts"
grep -q '^chart-pass1 paper 0 missing 1$' <<<"$facts" || fail "missing marker: $facts"
grep -q '^chart-tokens paper 0 missing 1$' <<<"$facts" || fail "missing marker (tokens): $facts"
grep -q '^chart-pass1 heights 50.00 75.00 100.00$' <<<"$facts" || fail "bar heights with a missing bench: $facts"
grep -E '^\| LeaP-T, 2 paths, 2 peers \(dispersed\) \| — \| — \|' "$T/out/miss.md" >/dev/null || fail "md: no — row for the missing gpqa"
# every table row has as many cells as its header
for f in "$T/out/miss.md" "$T/out/deep/rep.md"; do
    awk -F'|' '/^\|/ { if (prev && NF != prev) { print FILENAME ": line " NR " has " NF-2 " cells, header " prev-2; bad=1 } prev=NF; next } { prev=0 } END { exit bad }' "$f" || fail "ragged Markdown table in $f"
done
echo "ok: missing benchmark"

# 4. Errors name the culprit.
expect_error() {  # expect_error NAME PATTERN ARGS...
    local name=$1 pattern=$2 rc=0 err
    shift 2
    err=$("$LEAP" report "$@" -o "$T/out/err" 2>&1 >/dev/null) || rc=$?
    [[ $rc -ne 0 ]] || fail "$name: exit status 0"
    grep -qF -- "$pattern" <<<"$err" || fail "$name: stderr '$err' lacks '$pattern'"
    echo "ok: $name"
}
expect_error "missing folder" "$T/nope" "$T/A" "$T/nope"
expect_error "too many labels" "3 --label values for 2 run(s)" "$T/A" "$T/B" --label a --label b --label c
mkdir -p "$T/bad" && cp "$T/A/run.json" "$T/bad/" && printf '{"id":"x"}\n' > "$T/bad/aime24.jsonl"
expect_error "line without paths" "aime24.jsonl', line 1" "$T/bad"
[[ ! -e "$T/out/err.html" ]] || fail "an error still wrote the report"
echo "all ok"
