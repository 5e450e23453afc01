#!/usr/bin/env bash
# Issue 29 from the command line (docs/reliability.md): impossible settings, corrupt models,
# damaged results folders, bad datasets and trace paths each end with exit status 1 (or CLI11's
# usage status) and a message naming the culprit: no abort (134), no hang, no silent run.
set -uo pipefail
tmp="$LEAP_TEST_TMP/reliability"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 3 -o "$model" -q \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" >/dev/null \
    || fail "make-model"
small=(-N 2 -T 8 --segments 2 --summary-tokens 8 --answer-tokens 8 -t 1)

# expect_refused NAME PATTERN CMD...: CMD fails within 60 s, not by a signal, and says PATTERN.
expect_refused() {
    local name=$1 pattern=$2; shift 2
    timeout 60 "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"
    local rc=$?
    [[ $rc -eq 0 ]] && fail "$name: accepted (exit 0): $*"
    [[ $rc -eq 124 ]] && fail "$name: still running after 60 s: $*"
    [[ $rc -ge 128 ]] && fail "$name: killed by a signal (exit $rc, an abort inside llama.cpp?): $(tail -3 "$tmp/$name.err")"
    grep -qiE -- "$pattern" "$tmp/$name.err" || fail "$name: message lacks '$pattern': $(cat "$tmp/$name.err")"
}

# 1. Engine settings llama.cpp aborts on or takes silently.
expect_refused batch "batch" "$LEAP" solve -m "$model" -p "1+1?" -N 4 -T 8 --segments 2 --answer-tokens 8 -t 1 -b 3
expect_refused fa2 "flash" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --flash-attn 2
expect_refused fa-2 "flash" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --flash-attn -2
expect_refused threads "threads" "$LEAP" solve -m "$model" -p "1+1?" -N 2 -T 8 --segments 2 --answer-tokens 8 -t 10000
expect_refused top_p "top-p" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --top-p 2
expect_refused min_p "min-p" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --min-p -1
for kv in 1 16; do
    expect_refused "kv$kv" "kv-size" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --kv-unified --kv-size $kv
done
for seed in -1 18446744073709551616 1e23; do
    expect_refused "seed$seed" "seed" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --seed=$seed
done
# A chat template that never ends (llama.cpp's Jinja engine had no bound: it hung).
printf '%s' "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}{{ messages[0]['content'] }}" > "$tmp/loop.jinja"
expect_refused template-loop "more than 1000000 steps" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --chat-template-file "$tmp/loop.jinja"
expect_refused serve "batch" "$LEAP" serve -m "$model" -N 2 -b 2 --kv-sequences 8 --port 0 -t 1

# 2. Corrupt metadata: leap info and leap solve refuse it alike, naming file and field.
python3 - "$model" "$tmp" <<'PY'
import math, struct, sys
src, tmp = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
def patch(key, fmt, value, out):
    k = key.encode()
    at = data.index(struct.pack("<Q", len(k)) + k) + 8 + len(k)
    vtype = struct.unpack_from("<I", data, at)[0]
    assert vtype in (4, 6), (key, vtype)  # uint32 or float32
    b = bytearray(data)
    struct.pack_into(fmt, b, at + 4, value)
    open(f"{tmp}/{out}", "wb").write(bytes(b))
patch("qwen2.block_count", "<I", 0, "layers0.gguf")
patch("qwen2.block_count", "<I", 513, "layers513.gguf")
patch("qwen2.attention.layer_norm_rms_epsilon", "<f", math.nan, "eps-nan.gguf")
patch("qwen2.attention.layer_norm_rms_epsilon", "<f", -1.0, "eps-neg.gguf")
PY
for v in layers0:block_count layers513:block_count eps-nan:layer_norm_rms_epsilon eps-neg:layer_norm_rms_epsilon; do
    file="$tmp/${v%%:*}.gguf" field=${v#*:}
    expect_refused "info-${v%%:*}" "$field" "$LEAP" info "$file"
    grep -q "$file" "$tmp/info-${v%%:*}.err" || fail "info does not name $file: $(cat "$tmp/info-${v%%:*}.err")"
    expect_refused "solve-${v%%:*}" "$field" "$LEAP" solve -m "$file" -p "1+1?" "${small[@]}"
done

# 3. Datasets: a FIFO does not hang, 1e400 names the file, an unfit problem is recorded and the
#    run goes on.
mkfifo "$tmp/bench.fifo"
expect_refused fifo "regular file" "$LEAP" eval -m "$model" --bench "$tmp/bench.fifo" --out "$tmp/fifo-out" "${small[@]}"
printf '[{"problem": "1+1?", "answer": 1e400}]\n' > "$tmp/overflow.json"
expect_refused overflow "overflow.json" "$LEAP" eval -m "$model" --bench "$tmp/overflow.json" --out "$tmp/o" "${small[@]}"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
long = " ".join(f"word{i}" for i in range(1500))
with open(f"{tmp}/mixed.jsonl", "w") as f:
    for i, p in enumerate(["1+1?", long, "2+2?"]):
        f.write(json.dumps({"problem": p, "answer": str(i)}) + "\n")
PY
"$LEAP" eval -m "$model" --bench "$tmp/mixed.jsonl" --out "$tmp/m" "${small[@]}" -c 600 --json \
    > "$tmp/m.json" 2> "$tmp/m.err" || fail "an unfit problem stopped the run: $(tail -5 "$tmp/m.err")"
grep -q "mixed.jsonl, problem 'mixed-1'" "$tmp/m.err" || fail "the warning names no file and item: $(cat "$tmp/m.err")"
python3 - "$tmp" <<'PY' || exit 1
import json, sys
tmp = sys.argv[1]
lines = {l["id"]: l for l in map(json.loads, open(f"{tmp}/m/mixed.jsonl"))}
assert sorted(lines) == ["mixed-0", "mixed-1", "mixed-2"], sorted(lines)
assert "unfit" in lines["mixed-1"] and "tokens" in lines["mixed-1"]["unfit"], lines["mixed-1"]
assert "unfit" not in lines["mixed-0"] and lines["mixed-0"]["paths"], lines["mixed-0"]
m = json.load(open(f"{tmp}/m.json"))["mixed"]
assert m["n"] == 3, m
PY

# 4. Results folders: a foreign line is not counted; a damaged run.json is named.
cp -r "$tmp/m" "$tmp/f"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
first = json.loads(open(f"{tmp}/f/mixed.jsonl").readline())
first["id"] = "not-in-the-dataset"
open(f"{tmp}/f/mixed.jsonl", "a").write(json.dumps(first) + "\n")
PY
"$LEAP" eval -m "$model" --bench "$tmp/mixed.jsonl" --out "$tmp/f" "${small[@]}" -c 600 --json \
    > "$tmp/f.json" 2> "$tmp/f.err" || fail "rerun with a foreign line failed: $(tail -5 "$tmp/f.err")"
grep -q "mixed.jsonl', line 4: problem 'not-in-the-dataset' is not in the dataset" "$tmp/f.err" \
    || fail "no warning naming the foreign line: $(cat "$tmp/f.err")"
python3 -c "import json,sys; m=json.load(open('$tmp/f.json'))['mixed']; assert m['n']==3, m" || fail "foreign line counted"
printf '{"identity": ' > "$tmp/f/run.json"
expect_refused runjson "f/run.json" "$LEAP" eval -m "$model" --bench "$tmp/mixed.jsonl" --out "$tmp/f" "${small[@]}" -c 600

# 5. --trace: no folders created, no .tmp left behind, and no model time spent first.
expect_refused trace-dir "does not exist" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --trace "$tmp/no/such/dir/t.json"
[[ -e "$tmp/no" ]] && fail "--trace created folders"
mkdir "$tmp/tracedir"
expect_refused trace-is-dir "is a folder" "$LEAP" solve -m "$model" -p "1+1?" "${small[@]}" --trace "$tmp/tracedir"
[[ -e "$tmp/tracedir.tmp" ]] && fail "--trace DIR left DIR.tmp behind"
echo "ok: every attack refused with a named culprit"
