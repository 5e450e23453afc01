#!/usr/bin/env bash
# leap serve as users run it: the binary on a free port answers a chat completion (plain and
# streamed), reports itself in /v1/models and /metrics, refuses bad flags and a busy port
# clearly, and stops cleanly (exit 0) on SIGTERM.
set -euo pipefail
tmp="$LEAP_TEST_TMP/serve_cli"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && tail -20 "$tmp/serve.err"; exit 1; }
. "$(dirname "$0")/lib/leap_serve.sh"
export OMP_WAIT_POLICY=PASSIVE
model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 3 -o "$model" \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" > /dev/null

# Impossible settings fail before anything listens, naming the culprit.
if "$LEAP" serve -m "$model" --port 0 -N 4 --kv-sequences 2 2> "$tmp/bad.err"; then fail "-N 4 with 2 sequences started"; fi
grep -q "sequences" "$tmp/bad.err" || fail "no clear error: $(cat "$tmp/bad.err")"
if "$LEAP" serve -m "$tmp/missing.gguf" --port 0 2> "$tmp/bad.err"; then fail "a missing model started"; fi
grep -q "missing.gguf" "$tmp/bad.err" || fail "missing model not named: $(cat "$tmp/bad.err")"

"$LEAP" serve -m "$model" --port 0 -t 1 -N 2 -T 16 --segments 2 --summary-tokens 8 --answer-tokens 8 --peers 1 \
    --alias tiny --cors http://page.example 2> "$tmp/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=$(wait_for_serve_port $pid "$tmp/serve.err") || exit 1
url="http://127.0.0.1:$port"

# A second server on the busy port is refused (no port sharing), naming the port, exit non-zero.
if timeout 60 "$LEAP" serve -m "$model" --port "$port" -t 1 -N 2 -T 16 --segments 2 2> "$tmp/busy.err"; then
    fail "a second server started on busy port $port"
fi
grep -q "port $port is already in use" "$tmp/busy.err" || fail "busy port not named: $(tail -3 "$tmp/busy.err")"

curl -sf "$url/health" | grep -q '"ok"' || fail "/health"
# --cors ORIGIN: preflights of that origin are answered, other origins get no permission.
curl -s -o /dev/null -D "$tmp/preflight.txt" -X OPTIONS "$url/v1/chat/completions" -H 'Origin: http://page.example' \
    -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type'
grep -qi '^access-control-allow-origin: http://page.example' "$tmp/preflight.txt" || fail "no CORS preflight: $(cat "$tmp/preflight.txt")"
curl -s -o /dev/null -D "$tmp/other.txt" "$url/v1/models" -H 'Origin: http://elsewhere.example'
if grep -qi '^access-control-allow-origin' "$tmp/other.txt"; then fail "another origin was allowed"; fi
curl -sf "$url/v1/models" | grep -q '"tiny"' || fail "/v1/models"
curl -sf "$url/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}],"seed":4}' \
    > "$tmp/plain.json" || fail "chat completion"
curl -sfN "$url/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"What is 2+2?"}],"seed":4,"stream":true}' > "$tmp/stream.txt" \
    || fail "streamed chat completion"
status=$(curl -s -o "$tmp/bad.json" -w '%{http_code}' "$url/v1/chat/completions" -d '{"messages":[],"leap":{"paths":0}}')
[ "$status" = 400 ] || fail "bad body got $status"

python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
r = json.load(open(f"{tmp}/plain.json"))
assert r["object"] == "chat.completion" and r["model"] == "tiny", r
assert len(r["leap"]["paths"]) == 2 and r["usage"]["completion_tokens"] > 0, r["usage"]
lines = [l[6:] for l in open(f"{tmp}/stream.txt").read().split("\n") if l.startswith("data: ")]
assert lines[-1] == "[DONE]", lines[-3:]
events = [json.loads(l) for l in lines[:-1]]
assert any(e.get("leap", {}).get("event") == "segment" for e in events), "no progress events"
assert events[-1]["choices"][0]["finish_reason"] in ("stop", "length"), events[-1]
e = json.load(open(f"{tmp}/bad.json"))["error"]
assert e["type"] == "invalid_request_error" and e["param"] == "messages", e
PY
curl -sf "$url/metrics" > "$tmp/metrics.txt" || fail "/metrics"
grep -q '^leap_requests_total{endpoint="/v1/chat/completions",code="200"} 2$' "$tmp/metrics.txt" || fail "request count: $(grep requests_total "$tmp/metrics.txt")"
grep -q '^leap_kv_sequences_in_use 0$' "$tmp/metrics.txt" || fail "KV not freed"
grep -q '^leap_tokens_total{kind="summary"} [1-9]' "$tmp/metrics.txt" || fail "no summary tokens counted"

kill -TERM $pid
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "still running 10 s after SIGTERM"
wait $pid || fail "exit status $? after SIGTERM"
trap - EXIT
echo "PASS"
