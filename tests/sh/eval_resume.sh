#!/usr/bin/env bash
# A real `leap eval` on a generated tiny model: killed mid-run and rerun, it loses and repeats no
# problem, and gives the same results as a run that was never interrupted.
set -euo pipefail
tmp="$LEAP_TEST_TMP/eval_resume"
rm -rf "$tmp"; mkdir -p "$tmp"
data="$LEAP_SOURCE_DIR/../shared/data/benchmarks"
model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 3 -o "$model" -q \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" >/dev/null
fail() { echo "FAIL: $*"; exit 1; }
args=(eval -m "$model" --bench aime24 --data-dir "$data" --limit 8 -N 3 -T 48 --segments 3
      --summary-tokens 24 --answer-tokens 16 --parallel-problems 2 -t 1 --flash-attn off --seed 5)
run() { local out=$1; shift; "$LEAP" "${args[@]}" --out "$out" "$@"; }

# 1. Start, kill -9 once a few problems are recorded.
"$LEAP" "${args[@]}" --out "$tmp/a" > "$tmp/a.log" 2>&1 &
pid=$!  # the leap process itself, so kill -9 stops the writer
for _ in $(seq 1 600); do
    n=$( (cat "$tmp/a/aime24.jsonl" 2>/dev/null || true) | wc -l)
    [[ $n -ge 2 ]] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
n_killed=$(wc -l < "$tmp/a/aime24.jsonl")
[[ $n_killed -ge 1 && $n_killed -lt 8 ]] || fail "expected a partial results file after the kill, got $n_killed lines"
cp "$tmp/a/aime24.jsonl" "$tmp/before.jsonl"

# 2. Rerun the same command: it resumes and completes.
run "$tmp/a" --json > "$tmp/a.json" 2> "$tmp/a2.log"
grep -q "already done" "$tmp/a2.log" || fail "the rerun did not say it resumed: $(cat "$tmp/a2.log")"
python3 - "$tmp" "$n_killed" <<'PY'
import json, sys
tmp, n_killed = sys.argv[1], int(sys.argv[2])
lines = [json.loads(l) for l in open(f"{tmp}/a/aime24.jsonl")]
ids = [l["id"] for l in lines]
assert len(ids) == 8 and len(set(ids)) == 8, f"expected 8 distinct problems, got {ids}"
assert sorted(ids) == sorted(f"aime24-{i}" for i in range(8)), ids
# what was written before the kill is untouched
before = open(f"{tmp}/before.jsonl").read()
assert open(f"{tmp}/a/aime24.jsonl").read().startswith(before), "lines written before the kill changed"
m = json.load(open(f"{tmp}/a.json"))
for key in ("pass@1", "cons@n", "n", "tokens_per_problem"):
    assert key in m["aime24"], f"missing {key} in {m}"
assert m["aime24"]["n"] == 8, m["aime24"]["n"]
PY

# 3. An uninterrupted run gives the same paths (seeds follow the problem, not the order run).
run "$tmp/b" > /dev/null 2>&1
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
def load(d):
    return {l["id"]: [p["text"] for p in l["trace"]["paths"]] for l in map(json.loads, open(f"{tmp}/{d}/aime24.jsonl"))}
a, b = load("a"), load("b")
assert a.keys() == b.keys()
diff = [k for k in a if a[k] != b[k]]
assert not diff, f"resumed run differs from an uninterrupted one on {diff}"
PY

# 4. Two runs writing one folder at once: the second is refused.
"$LEAP" "${args[@]}" --out "$tmp/e" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do [[ -f "$tmp/e/run.json" ]] && break; sleep 0.05; done
if run "$tmp/e" > /dev/null 2> "$tmp/e.log"; then fail "a second concurrent run was accepted"; fi
grep -q "another" "$tmp/e.log" || fail "unexpected message: $(cat "$tmp/e.log")"
kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true

# 5. Rerunning into the same folder with other settings is refused.
if run "$tmp/a" --peers 1 > /dev/null 2> "$tmp/c.log"; then fail "a rerun with other settings was accepted"; fi
grep -q -- "--force" "$tmp/c.log" || fail "unexpected message: $(cat "$tmp/c.log")"

# 6. A malformed dataset line is named.
printf '{"problem": "1+1?", "answer": "2"}\n{"problem": 5, "answer": "3"}\n' > "$tmp/bad.jsonl"
if "$LEAP" eval -m "$model" --bench "$tmp/bad.jsonl" --out "$tmp/d" > /dev/null 2> "$tmp/d.log"; then fail "bad dataset accepted"; fi
grep -q "bad.jsonl:2" "$tmp/d.log" || fail "unexpected message: $(cat "$tmp/d.log")"
echo "ok: killed after $n_killed of 8 problems; resumed with none lost or repeated"
