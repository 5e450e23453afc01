#!/usr/bin/env bash
# The LeaP-T nano model (assets/leap-nano.gguf, docs/nano.md) on a fixed set of held-out problems
# and a fixed seed, through the real engine and harness (leap nano-data, leap eval): LeaP-T's
# Pass@1 beats independent sampling's at its best temperature (1, 0.6 and greedy are tried).
set -euo pipefail
tmp="$LEAP_TEST_TMP/nano_leap"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
model="$LEAP_SOURCE_DIR/assets/leap-nano.gguf"
[ -f "$model" ] || fail "$model is missing (it is committed; see docs/nano.md)"
export OMP_WAIT_POLICY=PASSIVE

"$LEAP" nano-data --seed 202 --count 60 -o "$tmp/heldout.jsonl" 2> "$tmp/data.err" || fail "nano-data: $(cat "$tmp/data.err")"
common=(-m "$model" --bench "$tmp/heldout.jsonl" -N 4 -T 6 --segments 4 --summary-tokens 6 --answer-tokens 4
        --top-k 0 --top-p 1 --min-p 0 --peers 2 --router dispersed -t 1 --parallel-problems 16 --seed 1 --json)
run() {  # name, extra flags...
    local name=$1; shift
    "$LEAP" eval "${common[@]}" "$@" --out "$tmp/$name" > "$tmp/$name.json" 2> "$tmp/$name.err" \
        || fail "eval $name: $(tail -5 "$tmp/$name.err")"
}
run independent-t1 --method independent --temp 1
run independent-t06 --method independent --temp 0.6
run independent-greedy --method independent --temp 0
run leap-t --method leap-t --temp 1

python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
m = {k: json.load(open(f"{tmp}/{k}.json"))["heldout"] for k in ("independent-t1", "independent-t06", "independent-greedy", "leap-t")}
for k, v in m.items():
    assert v["n"] == 60, (k, v["n"])
    print(f"{k:20s} Pass@1 {v['pass@1']:.3f}")
assert m["leap-t"]["tokens_per_problem"]["summary"] > 0, "LeaP-T wrote no summaries"
best = max(m[k]["pass@1"] for k in ("independent-t1", "independent-t06", "independent-greedy"))
assert m["leap-t"]["pass@1"] > best, ("LeaP-T does not beat independent sampling at its best temperature",
                                      m["leap-t"]["pass@1"], best)
PY
