#!/usr/bin/env bash
# The OpenAI backend against stand-ins for vLLM and SGLang (tests/sh/lib/fake_openai_server.py:
# their HTTP surface and response shapes, each request body checked against the flavor's JSON
# Schema, the temperature-first sampling of both servers run by a llama-server behind): the
# server kind is told from `owned_by`, a seeded sampled run gives the in-process engine's tokens
# through either, --ignore-eos arrives as a logit_bias ban, SGLang without deterministic
# inference is refused for a sampled run. No real vLLM or SGLang can run here (no GPU).
set -euo pipefail
tmp="$LEAP_TEST_TMP/openai_fake_servers"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/llama_server.sh"
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$here/../fixtures/server-requests"

fake_pids=()
stop_all() { for p in "${fake_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; stop_llama_server; }
trap stop_all EXIT

model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 4 --type f32 -o "$model" -q \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" >/dev/null
start_llama_server "$model" "$tmp/server.log"

# start_fake FLAVOR [ARGS...]: sets fake_url (FLAVOR passthrough: a proxy to llama-server).
start_fake() {
    local flavor=$1 port
    shift
    port=$(free_port)
    if [[ $flavor == passthrough ]]; then
        python3 "$here/lib/fake_openai_server.py" --passthrough --upstream "$url" --port "$port" \
            --chat-parser-file "$tmp/chat-parser.txt" > "$tmp/fake-$flavor.log" 2>&1 &
    else
        python3 "$here/lib/fake_openai_server.py" --flavor "$flavor" --upstream "$url" --port "$port" \
            --schema "$fixtures/$flavor-completion-request.schema.json" --log "$tmp/$flavor-requests.jsonl" \
            --chat-parser-file "$tmp/chat-parser.txt" "$@" > "$tmp/fake-$flavor.log" 2>&1 &
    fi
    fake_pids+=($!)
    python3 - "$port" <<'PY' || fail "the fake $flavor server did not start: $(cat "$tmp/fake-$flavor.log")"
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/models", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(1)
PY
    fake_url="http://127.0.0.1:$port"
}

q="What is 17 * 23?"
# leap's lenient chat parser for the llama-server behind the fakes (see fake_openai_server.py),
# recorded from one greedy request leap sends to llama-server through a proxy.
start_fake passthrough
"$LEAP" solve --backend openai --base-url "$fake_url" --tokenizer "$model" -p "$q" -N 1 -T 4 --segments 1 \
    --answer-tokens 2 --temp 0 -c 1024 > /dev/null 2> "$tmp/record.err" || fail "recording: $(cat "$tmp/record.err")"
[[ -s "$tmp/chat-parser.txt" ]] || fail "leap sent llama-server no chat_parser to record"

# The in-process engine's own settings: --backend openai refuses them (the servers have theirs).
in_process=(-t 1 --flash-attn off)
sampled=(-N 3 -T 24 --segments 3 --summary-tokens 12 --answer-tokens 8 --temp 0.6
         --top-p 0.95 --min-p 0.05 --top-k 40 --seed 5 -c 1536)
"$LEAP" solve -m "$model" -p "$q" "${sampled[@]}" "${in_process[@]}" --trace "$tmp/local.json" > /dev/null
"$LEAP" solve -m "$model" -p "$q" "${sampled[@]}" "${in_process[@]}" --ignore-eos --trace "$tmp/local-noeos.json" > /dev/null
"$LEAP" solve -m "$model" -p "$q" "${sampled[@]}" "${in_process[@]}" --sampler-order llama --trace "$tmp/local-llama-order.json" > /dev/null

same_paths() {  # A.json B.json WHAT
    python3 - "$@" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["problems"][0]["paths"]
b = json.load(open(sys.argv[2]))["problems"][0]["paths"]
assert len(a) == len(b) == 3, sys.argv[3]
for i, (x, y) in enumerate(zip(a, b)):
    assert x["text"] == y["text"], f"{sys.argv[3]}: path {i} differs:\n{x['text']!r}\n{y['text']!r}"
    assert x["tokens"] == y["tokens"], f"{sys.argv[3]}: path {i} token counts differ"
    assert x["finish"] == y["finish"], f"{sys.argv[3]}: path {i} finish differs"
PY
}

# The sampler order matters on this model at these settings: llama.cpp's order draws other tokens.
if same_paths "$tmp/local.json" "$tmp/local-llama-order.json" "order" 2>/dev/null; then
    fail "llama.cpp's sampler order gave the same paths: the comparison below would not tell the orders apart"
fi

for flavor in vllm sglang; do
    start_fake "$flavor"
    base=(--backend openai --base-url "$fake_url/v1" --tokenizer "$model" --max-inflight 6 --timeout 60 --retries 2)
    "$LEAP" solve "${base[@]}" -p "$q" "${sampled[@]}" --trace "$tmp/$flavor.json" > /dev/null 2> "$tmp/$flavor.err" \
        || fail "$flavor: solve failed: $(cat "$tmp/$flavor.err")"
    python3 - "$tmp/$flavor.json" "$flavor" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
servers = t["stats"]["servers"] if "servers" in t["stats"] else t["stats"]["http"]["servers"]
assert any(s.get("flavor") == sys.argv[2] for s in servers), servers
PY
    same_paths "$tmp/local.json" "$tmp/$flavor.json" "$flavor seeded sampled run" || fail "$flavor: not the in-process tokens"
    : > "$tmp/$flavor-requests.jsonl"
    "$LEAP" solve "${base[@]}" -p "$q" "${sampled[@]}" --ignore-eos --trace "$tmp/$flavor-noeos.json" > /dev/null \
        2> "$tmp/$flavor-noeos.err" || fail "$flavor --ignore-eos: $(cat "$tmp/$flavor-noeos.err")"
    same_paths "$tmp/local-noeos.json" "$tmp/$flavor-noeos.json" "$flavor --ignore-eos" || fail "$flavor --ignore-eos differs"
    python3 - "$tmp/$flavor-requests.jsonl" "$flavor" <<'PY'
import json, sys
bodies = [json.loads(l) for l in open(sys.argv[1])]
assert bodies, "no request reached the fake server"
for b in bodies:
    assert b.get("logit_bias") and all(v == -100 for v in b["logit_bias"].values()), b.get("logit_bias")
    assert b["ignore_eos"] is True
    key = "include_stop_str_in_output" if sys.argv[2] == "vllm" else "no_stop_trim"
    other = "no_stop_trim" if sys.argv[2] == "vllm" else "include_stop_str_in_output"
    assert key in b and other not in b, sorted(b)
PY
done

# SGLang started without --enable-deterministic-inference ignores seeds: a sampled run is
# refused with the setting to change, and --server-unseeded runs it anyway.
start_fake sglang --undeterministic
rc=0
"$LEAP" solve --backend openai --base-url "$fake_url/v1" --tokenizer "$model" -p "$q" "${sampled[@]}" \
    > /dev/null 2> "$tmp/undet.err" || rc=$?
[[ $rc -ne 0 ]] || fail "an SGLang that ignores seeds was accepted for a sampled run"
grep -q "enable-deterministic-inference" "$tmp/undet.err" || fail "the refusal does not name the setting: $(cat "$tmp/undet.err")"
"$LEAP" solve --backend openai --base-url "$fake_url/v1" --tokenizer "$model" -p "$q" "${sampled[@]}" \
    --server-unseeded > /dev/null 2> "$tmp/unseeded.err" || fail "--server-unseeded: $(cat "$tmp/unseeded.err")"
echo "ok"
