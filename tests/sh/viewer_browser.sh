#!/usr/bin/env bash
# The `leap view` page of a nano LeaP-T trace in a real browser: Debian's chromium driven by
# playwright-core (pinned, installed into this test's own folder) through
# tests/sh/lib/viewer_page_check.mjs. Screenshots (desktop and a phone's 390 px) are kept under
# $LEAP_TEST_TMP/viewer_browser as the test's artefacts.
set -euo pipefail
PLAYWRIGHT_CORE_VERSION=1.65.1  # drives the system's chromium; downloads no browser of its own
tmp="$LEAP_TEST_TMP/viewer_browser"
mkdir -p "$tmp"
rm -f "$tmp"/*.png "$tmp/check.out"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/viewer_trace.sh"
export OMP_WAIT_POLICY=PASSIVE

chromium=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$chromium" ] && [ -x "$chromium" ] || fail "chromium is missing (scripts/install-deps.sh installs Debian's chromium)"
command -v node >/dev/null || fail "node is missing (scripts/install-deps.sh installs it)"
npm_dir="$tmp/npm"
installed=$(node -p "try { require('$npm_dir/node_modules/playwright-core/package.json').version } catch { '' }" 2>/dev/null || true)
if [ "$installed" != "$PLAYWRIGHT_CORE_VERSION" ]; then
    rm -rf "$npm_dir"; mkdir -p "$npm_dir"
    npm install --no-save --no-audit --no-fund --silent --prefix "$npm_dir" "playwright-core@$PLAYWRIGHT_CORE_VERSION" \
        > "$tmp/npm.log" 2>&1 || fail "npm install playwright-core@$PLAYWRIGHT_CORE_VERSION: $(tail -5 "$tmp/npm.log")"
fi
# Next to the package, so that `import "playwright-core"` finds it.
cp "$LEAP_SOURCE_DIR/tests/sh/lib/viewer_page_check.mjs" "$npm_dir/check.mjs"

nano_trace "$tmp/t.json" || fail "leap solve: $(cat "$tmp/t.json.out")"
answer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["problems"][0]["vote"]["answer"])' "$tmp/t.json")
[ -n "$answer" ] || fail "the nano run has no voted answer: the fixture run changed"
"$LEAP" view "$tmp/t.json" --gold 3 -o "$tmp/page.html" 2> "$tmp/view.err" || fail "leap view: $(cat "$tmp/view.err")"

CHROMIUM="$chromium" timeout 300 node "$npm_dir/check.mjs" "$tmp/page.html" 4 "$answer" "$tmp" > "$tmp/check.out" 2>&1 \
    || fail "the page check: $(cat "$tmp/check.out")"
cat "$tmp/check.out"
grep -q '^[1-9][0-9]* passed, 0 failed$' "$tmp/check.out" || fail "no passing checks"
[ -s "$tmp/viewer-desktop.png" ] && [ -s "$tmp/viewer-phone.png" ] || fail "no screenshots in $tmp"
echo "screenshots: $tmp/viewer-desktop.png $tmp/viewer-phone.png"
echo "PASS"
