#!/usr/bin/env bash
# `leap report --paper` (its widest tables) of four nano runs (independent sampling at
# temperatures 1 and 0.6, LeaP-T, and LeaP-T's compute-matched baseline) in Debian's chromium,
# driven by playwright-core (pinned, installed into this test's own folder) through
# tests/sh/lib/report_page_check.mjs: nothing wider
# than a 1,366 px window, charts filling the column, a value on every bar, no colour shared by the
# run and token-kind palettes, run labels in words, and a link per problem to its viewer page,
# which loads with no console errors. Screenshot: $LEAP_TEST_TMP/report_browser/report-1366.png.
set -euo pipefail
tmp="$LEAP_TEST_TMP/report_browser"
mkdir -p "$tmp"
rm -rf "$tmp/runs" "$tmp/out" "$tmp"/*.png "$tmp/check.out"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/viewer_lib.sh"
export OMP_WAIT_POLICY=PASSIVE

browser_setup "$tmp" report_page_check.mjs

"$LEAP" nano-data --seed 202 --count 8 -o "$tmp/heldout.jsonl" 2> "$tmp/data.err" || fail "nano-data: $(cat "$tmp/data.err")"
common=(-m "$LEAP_SOURCE_DIR/assets/leap-nano.gguf" --bench "$tmp/heldout.jsonl" -N 4 -T 6 --segments 4 --summary-tokens 6
        --answer-tokens 4 --top-k 0 --top-p 1 --min-p 0 --peers 2 --router dispersed -t 1 --parallel-problems 8 --seed 1)
run() {  # name, extra flags...
    local name=$1; shift
    "$LEAP" eval "${common[@]}" "$@" --out "$tmp/runs/$name" > /dev/null 2> "$tmp/$name.err" \
        || fail "eval $name: $(tail -5 "$tmp/$name.err")"
}
run independent-t1 --method independent --temp 1
run independent-t06 --method independent --temp 0.6
run leap-t --method leap-t --temp 1
run matched --method leap-t --match-budget paths --temp 1
"$LEAP" report "$tmp/runs/independent-t1" "$tmp/runs/independent-t06" "$tmp/runs/leap-t" "$tmp/runs/matched" \
    --paper -o "$tmp/out/report" > /dev/null 2> "$tmp/report.err" || fail "leap report: $(cat "$tmp/report.err")"
[ -d "$tmp/out/report-problems" ] || fail "no problem pages next to the report"

CHROMIUM="$chromium" timeout 300 node "$tmp/npm/check.mjs" "$tmp/out/report.html" "$tmp" \
    "Independent, 4 paths, temperature 1" "Independent, 4 paths, temperature 0.6" \
    "LeaP-T, 4 paths, 2 peers (dispersed)" "Independent, 12 paths (LeaP-T's token budget)" > "$tmp/check.out" 2>&1 \
    || fail "the report check: $(cat "$tmp/check.out")"
cat "$tmp/check.out"
grep -q '^[1-9][0-9]* passed, 0 failed$' "$tmp/check.out" || fail "no passing checks"
[ -s "$tmp/report-1366.png" ] || fail "no screenshot in $tmp"
echo "screenshot: $tmp/report-1366.png"
echo "PASS"
