#!/usr/bin/env bash
# leap serve's viewer page at /: static (the same bytes on every load, no data in it), answered
# without the API key while every API route still wants it, and in Debian's chromium
# (tests/sh/lib/viewer_serve_check.mjs) a problem submitted with the key fills one pane per path
# live from the streaming API, with routing edges labelled with their similarity scores (from the
# block events) and the vote. Screenshot:
# $LEAP_TEST_TMP/viewer_serve/viewer-serve.png.
set -euo pipefail
tmp="$LEAP_TEST_TMP/viewer_serve"
mkdir -p "$tmp"
rm -f "$tmp/serve.err" "$tmp/check.out" "$tmp"/*.png
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && tail -20 "$tmp/serve.err"; exit 1; }
. "$(dirname "$0")/lib/leap_serve.sh"
. "$(dirname "$0")/lib/viewer_lib.sh"
export OMP_WAIT_POLICY=PASSIVE

browser_setup "$tmp" viewer_serve_check.mjs

model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 3 -o "$model" \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" > /dev/null

key="viewer-test-key-1234"
LEAP_API_KEY="$key" "$LEAP" serve -m "$model" --port 0 -t 1 -N 2 -T 16 --segments 3 --summary-tokens 8 \
    --answer-tokens 8 --peers 1 --alias tiny 2> "$tmp/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=$(wait_for_serve_port $pid "$tmp/serve.err") || exit 1
base="http://127.0.0.1:$port"

# The page: no key needed, HTML, no trace in its data element, the same on every load.
code=$(curl -s -o "$tmp/page1.html" -w '%{http_code} %{content_type}' "$base/")
[ "$code" = "200 text/html; charset=utf-8" ] || fail "GET / without the key: $code"
curl -s -o "$tmp/page2.html" "$base/"
cmp -s "$tmp/page1.html" "$tmp/page2.html" || fail "GET / differs between two loads"
grep -q '<script id="leap-trace" type="application/json"></script>' "$tmp/page1.html" || fail "the served page holds data"
# The API still wants the key.
for route in /v1/models /metrics; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base$route")
    [ "$code" = 401 ] || fail "GET $route without the key answered $code, not 401"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"messages":[{"role":"user","content":"x"}]}' "$base/v1/chat/completions")
[ "$code" = 401 ] || fail "POST /v1/chat/completions without the key answered $code, not 401"

CHROMIUM="$chromium" timeout 600 node "$tmp/npm/check.mjs" "$base" "$key" 2 "$tmp" > "$tmp/check.out" 2>&1 \
    || fail "the page check: $(cat "$tmp/check.out")"
cat "$tmp/check.out"
grep -q '^[1-9][0-9]* passed, 0 failed$' "$tmp/check.out" || fail "no passing checks"
[ -s "$tmp/viewer-serve.png" ] || fail "no screenshot in $tmp"

kill -TERM $pid
wait $pid || fail "exit status $? after SIGTERM"
trap - EXIT
echo "PASS"
