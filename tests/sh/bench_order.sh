#!/usr/bin/env bash
# leap bench with two path counts runs each N's ceilings right after its own LeaP and independent
# runs (the ratios compare runs of one N, and a shared machine's speed drifts over a long bench),
# and refuses a missing llama-batched-bench before its first run, not after the in-process ones.
set -euo pipefail
tmp="$LEAP_TEST_TMP/bench_order"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
small=(--preset tiny --depth 2x16 --summary-tokens 8 --answer-tokens 4 --problems 1 --no-unified --no-openai --no-resend -t 1
       --model-dir "$tmp/models")

"$LEAP" bench --paths 2,3 "${small[@]}" --json > "$tmp/bench.json" 2> "$tmp/bench.err" \
    || fail "leap bench failed: $(tail -20 "$tmp/bench.err")"
python3 - "$tmp/bench.json" <<'PY'
import json, sys
names = [r["name"] for r in json.load(open(sys.argv[1]))["runs"]]
want = [f"{k}/streams/{n}" for n in (2, 3) for k in ("leap", "independent", "ceiling", "ceiling_at_depth")]
assert names == want, names
PY

# A leap without llama-batched-bench beside it: refused at once, nothing run.
mkdir -p "$tmp/alone"
cp "$LEAP" "$tmp/alone/leap"
rc=0
"$tmp/alone/leap" bench --paths 2 "${small[@]}" > "$tmp/alone.out" 2> "$tmp/alone.err" || rc=$?
[[ $rc -ne 0 ]] || fail "bench without llama-batched-bench succeeded"
grep -q "llama-batched-bench not found beside leap" "$tmp/alone.err" || fail "no clear error: $(cat "$tmp/alone.err")"
grep -q "in-process" "$tmp/alone.err" && fail "runs started before the refusal: $(cat "$tmp/alone.err")"
# --no-ceiling runs without it.
"$tmp/alone/leap" bench --paths 2 "${small[@]}" --no-ceiling --json > "$tmp/alone.json" 2> "$tmp/alone.err" \
    || fail "--no-ceiling failed: $(tail -5 "$tmp/alone.err")"
python3 -c "import json,sys; n=[r['name'] for r in json.load(open(sys.argv[1]))['runs']]; assert n==['leap/streams/2','independent/streams/2'], n" "$tmp/alone.json"
echo "ok"
