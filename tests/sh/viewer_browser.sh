#!/usr/bin/env bash
# The `leap view` page of a nano LeaP-T trace in a real browser: Debian's chromium driven by
# playwright-core (pinned, installed into this test's own folder) through
# tests/sh/lib/viewer_page_check.mjs. Screenshots (desktop and a phone's 390 px) are kept under
# $LEAP_TEST_TMP/viewer_browser as the test's artefacts. An independent-sampling trace (no block)
# is drawn too.
set -euo pipefail
tmp="$LEAP_TEST_TMP/viewer_browser"
mkdir -p "$tmp"
rm -f "$tmp"/*.png "$tmp/check.out"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/viewer_lib.sh"
export OMP_WAIT_POLICY=PASSIVE

browser_setup "$tmp" viewer_page_check.mjs

nano_trace "$tmp/t.json" || fail "leap solve: $(cat "$tmp/t.json.out")"
answer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["problems"][0]["vote"]["answer"])' "$tmp/t.json")
[ -n "$answer" ] || fail "the nano run has no voted answer: the fixture run changed"
"$LEAP" view "$tmp/t.json" --gold 3 -o "$tmp/page.html" 2> "$tmp/view.err" || fail "leap view: $(cat "$tmp/view.err")"
nano_trace "$tmp/independent.json" independent || fail "leap solve --method independent: $(cat "$tmp/independent.json.out")"
"$LEAP" view "$tmp/independent.json" -o "$tmp/independent.html" 2> "$tmp/view.err" || fail "leap view: $(cat "$tmp/view.err")"

CHROMIUM="$chromium" timeout 300 node "$tmp/npm/check.mjs" "$tmp/page.html" 4 "$answer" "$tmp" "$tmp/independent.html" > "$tmp/check.out" 2>&1 \
    || fail "the page check: $(cat "$tmp/check.out")"
cat "$tmp/check.out"
grep -q '^[1-9][0-9]* passed, 0 failed$' "$tmp/check.out" || fail "no passing checks"
[ -s "$tmp/viewer-desktop.png" ] && [ -s "$tmp/viewer-phone.png" ] || fail "no screenshots in $tmp"
echo "screenshots: $tmp/viewer-desktop.png $tmp/viewer-phone.png"
echo "PASS"
