#!/usr/bin/env bash
# leap solve / eval --backend openai against a real llama-server (built from the same llama.cpp)
# serving a generated model on 127.0.0.1 (with slot files, so the prompt is evaluated once and
# restored into the other slots): greedy results equal the in-process engine's, eval writes the
# same graded paths, and the CLI's errors name what is wrong (no tokenizer, a server
# that does not answer, -m missing in-process). Every process started here is killed on exit.
set -euo pipefail
tmp="$LEAP_TEST_TMP/openai_backend"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/llama_server.sh"

model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 4 --type f32 -o "$model" -q \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" >/dev/null

start_llama_server "$model" "$tmp/server.log" "$tmp/slots"

# Greedy, flash attention off, one thread: the same flags in-process and over HTTP.
# The in-process engine's own settings: --backend openai refuses them (the servers have theirs).
in_process=(-t 1 --flash-attn off)
flags=(-N 3 -T 24 --segments 3 --summary-tokens 12 --answer-tokens 8 --temp 0
       --seed 2 -c 1536)
"$LEAP" solve -m "$model" -p "What is 17 * 23?" "${flags[@]}" "${in_process[@]}" --trace "$tmp/local.json" > "$tmp/local.out"
"$LEAP" solve --backend openai --base-url "$url/v1" --tokenizer "$model" -p "What is 17 * 23?" "${flags[@]}" \
    --share-prompt on \
    --max-inflight 8 --timeout 60 --retries 3 --trace "$tmp/http.json" > "$tmp/http.out" 2> "$tmp/http.err" \
    || fail "solve --backend openai failed: $(cat "$tmp/http.err")"

# Sampled at the paper's settings, the same seed: each request is seeded alike in process and
# on the server (request_seed), the chain is the same (--sampler-order reference sends it as
# llama-server's `samplers`), so the tokens are the same.
sampled=(-N 3 -T 24 --segments 3 --summary-tokens 12 --answer-tokens 8 --temp 0.6
         --top-p 0.95 --min-p 0.05 --top-k 40 --seed 5 -c 1536)
"$LEAP" solve -m "$model" -p "What is 17 * 23?" "${sampled[@]}" "${in_process[@]}" --trace "$tmp/local-sampled.json" > /dev/null
"$LEAP" solve --backend openai --base-url "$url/v1" --tokenizer "$model" -p "What is 17 * 23?" "${sampled[@]}" \
    --share-prompt on --max-inflight 8 --timeout 60 --retries 3 --trace "$tmp/http-sampled.json" > /dev/null \
    2> "$tmp/http-sampled.err" || fail "sampled solve --backend openai failed: $(cat "$tmp/http-sampled.err")"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
a = json.load(open(f"{tmp}/local-sampled.json"))["problems"][0]["paths"]
b = json.load(open(f"{tmp}/http-sampled.json"))["problems"][0]["paths"]
g = json.load(open(f"{tmp}/local.json"))["problems"][0]["paths"]
assert len(a) == len(b) == 3
for i, (x, y) in enumerate(zip(a, b)):
    assert x["text"] == y["text"], f"sampled path {i}: texts differ:\n{x['text']!r}\n{y['text']!r}"
# It is a sampled run: the paths differ from each other and from the greedy run.
assert len({x["text"] for x in a}) > 1, "sampled paths are all the same"
assert [x["text"] for x in a] != [x["text"] for x in g], "sampled run equals the greedy one"
PY

# MoA in the reference's layout: each later layer's path starts a new conversation (its own
# rendered prompt instead of the problem's); sampled with one seed, the same tokens both ways.
moa=(--method moa --moa-layout reference --moa-agents 2 --moa-layers 2 -T 16 --segments 2 --answer-tokens 8
     --write-up-tokens 8 --temp 0.6 --top-p 0.95 --min-p 0.05 --seed 3 -c 1536)
"$LEAP" solve -m "$model" -p "What is 17 * 23?" "${moa[@]}" "${in_process[@]}" --trace "$tmp/local-moa.json" > /dev/null
"$LEAP" solve --backend openai --base-url "$url/v1" --tokenizer "$model" -p "What is 17 * 23?" "${moa[@]}" \
    --max-inflight 8 --timeout 60 --retries 3 --trace "$tmp/http-moa.json" > /dev/null \
    2> "$tmp/http-moa.err" || fail "moa solve --backend openai failed: $(cat "$tmp/http-moa.err")"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
a = json.load(open(f"{tmp}/local-moa.json"))["problems"][0]
b = json.load(open(f"{tmp}/http-moa.json"))["problems"][0]
assert len(a["moa_user_messages"]) == 1 and "Response 2:" in a["moa_user_messages"][0], a.get("moa_user_messages")
assert a["moa_user_messages"] == b["moa_user_messages"], "the layers' user messages differ"
for i, (x, y) in enumerate(zip(a["paths"], b["paths"])):
    assert x["text"] == y["text"], f"moa path {i}: texts differ:\n{x['text']!r}\n{y['text']!r}"
    assert x["layers"][0]["text"] == y["layers"][0]["text"], f"moa path {i}: layer 1 differs"
    assert x["tokens"] == y["tokens"], f"moa path {i}: token counts differ {x['tokens']} {y['tokens']}"
PY

# eval over a small dataset file, both ways.
printf '%s\n' '{"problem": "What is 2 + 2?", "answer": 4}' '{"problem": "What is 3 * 5?", "answer": "15"}' \
    '{"problem": "What is 10 - 7?", "answer": 3}' > "$tmp/mini.jsonl"
"$LEAP" eval -m "$model" --bench "$tmp/mini.jsonl" "${flags[@]}" "${in_process[@]}" --parallel-problems 2 --out "$tmp/eval-local" \
    --bootstrap 10 > /dev/null 2>&1 || fail "in-process eval failed"
"$LEAP" eval --backend openai --base-url "$url" --tokenizer "$model" --bench "$tmp/mini.jsonl" "${flags[@]}" \
    --parallel-problems 2 --out "$tmp/eval-http" --bootstrap 10 > /dev/null 2> "$tmp/eval.err" \
    || fail "eval --backend openai failed: $(cat "$tmp/eval.err")"

python3 - "$tmp" <<'PY'
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
assert s["http"]["requests"] > 0 and s["http"]["server_prompt_cached"] > 0, s["http"]
assert s["http"]["prompt_shares"] == 1 and s["http"]["slot_restores"] == 2, s["http"]  # 3 paths, 1 problem
assert b["model"].endswith("tiny.gguf"), b["model"]

def lines(d):
    out = {}
    for l in open(f"{tmp}/{d}/mini.jsonl"):
        j = json.loads(l)
        out[j["id"]] = [p["text"] for p in j["trace"]["paths"]]
    return out
la, lb = lines("eval-local"), lines("eval-http")
assert sorted(la) == sorted(lb) == ["mini-0", "mini-1", "mini-2"], (sorted(la), sorted(lb))
for k in la:
    assert la[k] == lb[k], f"{k}: eval path texts differ"
ident = json.load(open(f"{tmp}/eval-http/run.json"))["identity"]
assert ident["config"].get("backend") == "openai" and ident["model"] == "tiny.gguf", ident
PY

expect_error() {  # expect_error NAME PATTERN CMD...
    local name=$1 pattern=$2; shift 2
    if "$@" > "$tmp/err.out" 2>&1; then fail "$name: expected an error"; fi
    grep -q -- "$pattern" "$tmp/err.out" || fail "$name: expected '$pattern' in: $(cat "$tmp/err.out")"
}
expect_error "no tokenizer" "needs the served model's tokenizer" \
    "$LEAP" solve --backend openai --base-url "$url" --server-kind openai -p "x" "${flags[@]}"
expect_error "no base url" "at least one --base-url" \
    "$LEAP" solve --backend openai --tokenizer "$model" -p "x" "${flags[@]}"
dead=$(free_port)
expect_error "server down" "http://127.0.0.1:$dead does not answer" \
    "$LEAP" solve --backend openai --base-url "http://127.0.0.1:$dead" --tokenizer "$model" --retries 0 -p "x" "${flags[@]}"
expect_error "no model in-process" "-m/--model is required" "$LEAP" solve -p "x" "${flags[@]}"
expect_error "bad backend" "backend" "$LEAP" solve --backend vllm -m "$model" -p "x" "${flags[@]}"
expect_error "bad share-prompt" "share-prompt" \
    "$LEAP" solve --backend openai --base-url "$url" --tokenizer "$model" --share-prompt maybe -p "x" "${flags[@]}"
echo "ok: openai backend over llama-server equals in-process; errors name the culprit"
