#!/usr/bin/env bash
# leap solve --backend openai WITHOUT --tokenizer against a real llama-server (the same llama.cpp)
# on 127.0.0.1: the server's own tokenizer (/tokenize, /apply-template; ServerTokenizer) gives
# exactly the in-process engine's greedy paths, so it tokenizes, spells and renders as the GGUF
# does. Every process started here is killed on exit.
set -euo pipefail
tmp="$LEAP_TEST_TMP/openai_server_tokenizer"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/llama_server.sh"

model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 4 --type f32 -o "$model" -q \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" >/dev/null

start_llama_server "$model" "$tmp/server.log"

# The in-process engine's own settings: --backend openai refuses them (the servers have theirs).
in_process=(-t 1 --flash-attn off)
flags=(-N 3 -T 24 --segments 3 --summary-tokens 12 --answer-tokens 8 --temp 0
       --seed 2 -c 1536)
for q in "What is 17 * 23?" "Solve x + 3 = 10. <think> café 数学 </think>"; do
    "$LEAP" solve -m "$model" -p "$q" "${flags[@]}" "${in_process[@]}" --trace "$tmp/local.json" > /dev/null
    "$LEAP" solve --backend openai --base-url "$url/v1" -p "$q" "${flags[@]}" \
        --max-inflight 8 --timeout 60 --retries 3 --trace "$tmp/http.json" > /dev/null 2> "$tmp/http.err" \
        || fail "solve --backend openai without --tokenizer failed: $(cat "$tmp/http.err")"
    python3 - "$tmp" <<'PY' || fail "server tokenizer differs from the GGUF's ($q)"
import json, sys
tmp = sys.argv[1]
a = json.load(open(f"{tmp}/local.json"))
b = json.load(open(f"{tmp}/http.json"))
pa, pb = a["problems"][0]["paths"], b["problems"][0]["paths"]
assert len(pa) == len(pb) == 3
for i, (x, y) in enumerate(zip(pa, pb)):
    assert x["text"] == y["text"], f"path {i}: texts differ"
    assert x["tokens"] == y["tokens"], f"path {i}: token counts differ {x['tokens']} {y['tokens']}"
    assert x["finish"] == y["finish"], f"path {i}: finish differs"
s = b["stats"]
assert s["backend"] == "openai" and s["servers"][0]["kind"] == "llama-server", s
assert b["model"].startswith("http://127.0.0.1"), b["model"]
PY
done

if "$LEAP" solve --backend openai --base-url "$url" --chat-template-file /dev/null -p x "${flags[@]}" > "$tmp/err.out" 2>&1; then
    fail "--chat-template-file without --tokenizer: expected an error"
fi
grep -q -- "--chat-template-file needs --tokenizer" "$tmp/err.out" || fail "unexpected error: $(cat "$tmp/err.out")"
echo "ok: llama-server's own tokenizer gives the in-process engine's greedy paths"
