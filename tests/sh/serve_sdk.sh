#!/usr/bin/env bash
# A real client against leap serve: the official `openai` npm SDK (pinned, installed into this
# test's own folder) runs tests/sh/lib/serve_sdk_client.mjs against `leap serve` on a tiny model:
# a plain request, the same one streamed (accumulated and compared), errors as the SDK's
# exception classes with their statuses (400 for refused fields, 401 for a wrong key), and a
# seed the server drew sent back. Twice: in process, and with `--backend openai` in front of a
# llama-server (started here on the same model), where a streamed request whose client leaves
# mid-run must leave no slot of the llama-server generating.
set -euo pipefail
OPENAI_SDK_VERSION=6.49.0  # the openai package, 6.x (the machines have Node 20; the SDK needs fetch: 18+)
tmp="$LEAP_TEST_TMP/serve_sdk"
mkdir -p "$tmp"
rm -f "$tmp/serve.err" "$tmp/client.out"
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && tail -20 "$tmp/serve.err"; exit 1; }
. "$(dirname "$0")/lib/leap_serve.sh"
. "$(dirname "$0")/lib/llama_server.sh"
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
method=(-N 2 -T 16 --segments 2 --summary-tokens 8 --answer-tokens 8 --peers 1 --alias tiny)
pid=""
stop_all() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; stop_llama_server; }
trap stop_all EXIT

# run_client LABEL ARGS...: leap serve with ARGS, the SDK script against it, then SIGTERM.
run_client() {
    local label=$1; shift
    LEAP_API_KEY="$key" "$LEAP" serve --port 0 "$@" "${method[@]}" 2> "$tmp/serve.err" &
    pid=$!
    port=$(wait_for_serve_port $pid "$tmp/serve.err") || exit 1
    timeout 600 node "$sdk/client.mjs" "http://127.0.0.1:$port" "$key" > "$tmp/client.out" 2>&1 \
        || fail "$label: the SDK client: $(cat "$tmp/client.out")"
    sed "s/^/$label: /" "$tmp/client.out"
    grep -q '^[1-9][0-9]* passed, 0 failed$' "$tmp/client.out" || fail "$label: no passing checks"
}
stop_serve() {
    kill -TERM $pid
    wait $pid || fail "exit status $? after SIGTERM"
    pid=""
}

run_client in-process -m "$model" -t 1
stop_serve

# Slots of 4,096 tokens (the model's training context) and paths of 4,000: room for the long request below.
start_llama_server "$model" "$tmp/llama-server.log" "" $((4 * 4096))
run_client openai --backend openai --base-url "$url" -m "$model" -c 4000
grep -q "server(s) (--backend openai)" "$tmp/serve.err" || fail "serve did not say it fronts the server"
# A streamed request with one long segment (3,500 tokens: several seconds on this model) whose
# client leaves while the llama-server generates it: leap cancels the paths' requests there
# (it closes their connections; llama-server stops the task of a client that went away), so no
# slot is processing soon after and no new task starts.
python3 - "$port" "$key" "$url" <<'PY' || fail "disconnect: $(tail -5 "$tmp/serve.err")"
import json, sys, time, urllib.request
port, key, upstream = sys.argv[1:4]
body = json.dumps({"messages": [{"role": "user", "content": "Count to a thousand."}], "stream": True, "seed": 1,
                   "leap": {"segments": 1, "segment_tokens": 3500}}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body,
                             {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
resp = urllib.request.urlopen(req, timeout=60)
resp.readline()  # the role chunk: the request runs
def slots():
    return json.load(urllib.request.urlopen(f"{upstream}/slots", timeout=5))
def processing():
    return sum(1 for s in slots() if s.get("is_processing"))
busy = 0
for _ in range(200):  # the paths' requests reach the llama-server
    busy = processing()
    if busy: break
    time.sleep(0.02)
assert busy > 0, "no slot of the llama-server ever processed the request"
time.sleep(0.2)
resp.close()  # the client goes away mid-generation
# llama-server checks a waiting request's connection after a second in which it posted no result
# of any task (a /slots query is one): ask again only after that.
left = 1
for wait in (2.5, 1.5):
    time.sleep(wait)
    left = processing()
    if left == 0: break
assert left == 0, f"{left} llama-server slots still generating 4 s after the client left"
tasks = [s.get("id_task") for s in slots()]
time.sleep(1.0)
assert [s.get("id_task") for s in slots()] == tasks and processing() == 0, "leap sent requests after its client left"
metrics = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                 headers={"Authorization": f"Bearer {key}"}), timeout=10).read().decode()
assert "leap_requests_cancelled_total 1" in metrics, metrics
assert "leap_kv_cells" not in metrics, "in-process KV figures with --backend openai"
print("openai: ok a client that leaves mid-run stops its requests on the llama-server")
PY
stop_serve
trap - EXIT
stop_llama_server
echo "PASS"
