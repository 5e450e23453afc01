#!/usr/bin/env bash
# A real client against leap serve: the official `openai` npm SDK (pinned, installed into this
# test's own folder) runs tests/sh/lib/serve_sdk_client.mjs against `leap serve` on a tiny model:
# a plain request, the same one streamed (accumulated and compared), errors as the SDK's
# exception classes with their statuses (400 for refused fields, 401 for a wrong key), and a
# seed the server drew sent back.
set -euo pipefail
OPENAI_SDK_VERSION=6.49.0  # the openai package, 6.x (the machines have Node 20; the SDK needs fetch: 18+)
tmp="$LEAP_TEST_TMP/serve_sdk"
mkdir -p "$tmp"
rm -f "$tmp/serve.err" "$tmp/client.out"
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && tail -20 "$tmp/serve.err"; exit 1; }
. "$(dirname "$0")/lib/leap_serve.sh"
export OMP_WAIT_POLICY=PASSIVE

command -v node >/dev/null || fail "node is missing (scripts/install-deps.sh installs it)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || fail "node $(node --version) is too old: the openai SDK needs Node 18 or later"
sdk="$tmp/npm"
installed=$(node -p "try { require('$sdk/node_modules/openai/package.json').version } catch { '' }" 2>/dev/null || true)
if [ "$installed" != "$OPENAI_SDK_VERSION" ]; then
    rm -rf "$sdk"; mkdir -p "$sdk"
    npm install --no-save --no-audit --no-fund --silent --prefix "$sdk" "openai@$OPENAI_SDK_VERSION" > "$tmp/npm.log" 2>&1 \
        || fail "npm install openai@$OPENAI_SDK_VERSION: $(tail -5 "$tmp/npm.log")"
fi
# Next to the SDK, so that `import "openai"` finds it.
cp "$LEAP_SOURCE_DIR/tests/sh/lib/serve_sdk_client.mjs" "$sdk/client.mjs"

model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 3 -o "$model" \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" > /dev/null

key="sdk-test-key-1234"
LEAP_API_KEY="$key" "$LEAP" serve -m "$model" --port 0 -t 1 -N 2 -T 16 --segments 2 --summary-tokens 8 \
    --answer-tokens 8 --peers 1 --alias tiny 2> "$tmp/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=$(wait_for_serve_port $pid "$tmp/serve.err") || exit 1

timeout 600 node "$sdk/client.mjs" "http://127.0.0.1:$port" "$key" > "$tmp/client.out" 2>&1 \
    || fail "the SDK client: $(cat "$tmp/client.out")"
cat "$tmp/client.out"
grep -q '^[1-9][0-9]* passed, 0 failed$' "$tmp/client.out" || fail "no passing checks"

kill -TERM $pid
wait $pid || fail "exit status $? after SIGTERM"
trap - EXIT
echo "PASS"
