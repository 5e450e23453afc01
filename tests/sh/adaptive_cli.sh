#!/usr/bin/env bash
# The confidence-aware options on the command line (docs/adaptive.md): bad values refused naming
# the flag, the OpenAI backend refuses what needs log-probabilities, --print-config shows the
# options, and a short nano eval records confidence and early exit in the results, which
# `leap report` shows in its confidence-aware section.
set -euo pipefail
: "${LEAP:?set LEAP to the leap binary}"
: "${LEAP_SOURCE_DIR:?set LEAP_SOURCE_DIR to the repository}"
TMP=$(mktemp -d "${LEAP_TEST_TMP:-/tmp}/adaptive.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
NANO="$LEAP_SOURCE_DIR/assets/leap-nano.gguf"

# expect_error NAME STATUS TEXT ARGS...: leap exits with STATUS and says TEXT on stderr.
expect_error() {
    local name=$1 want=$2 text=$3 status=0
    shift 3
    "$LEAP" "$@" > "$TMP/out" 2> "$TMP/err" || status=$?
    [ "$status" = "$want" ] || fail "$name: exit status $status, want $want ($(cat "$TMP/err"))"
    grep -qF -- "$text" "$TMP/err" || fail "$name: stderr lacks '$text': $(cat "$TMP/err")"
    echo "ok: $name"
}

"$LEAP" nano-data --seed 101 --count 8 -o "$TMP/h.jsonl" > /dev/null
run_flags=(-m "$NANO" --bench "$TMP/h.jsonl" -N 4 -T 6 --segments 4 --summary-tokens 6 --answer-tokens 4
      --top-k 0 --top-p 1 --min-p 0 --temp 1)
base=("${run_flags[@]}" -t 1)  # -t: the in-process engine's only (--backend openai refuses it)
common=("${base[@]}" --method leap-t)
expect_error "quorum above N" 2 "--early-exit-quorum 5" eval "${common[@]}" --early-exit-quorum 5 --out "$TMP/x"
expect_error "prune share 1" 2 "--prune-share must be at least 0 and below 1" eval "${common[@]}" --prune-share 1 --out "$TMP/x"
expect_error "prune without blocks" 2 "--prune-share acts at blocks" eval "${base[@]}" --method independent --prune-share 0.5 --out "$TMP/x"
expect_error "prune-at value" 2 "--prune-at" eval "${common[@]}" --prune-at during --out "$TMP/x"
expect_error "window 0" 2 "--confidence-window must be at least 1" eval "${common[@]}" --confidence-window 0 --out "$TMP/x"
expect_error "openai without logprobs" 1 "does not request" eval "${run_flags[@]}" --method leap-t --confidence --backend openai \
    --base-url http://127.0.0.1:9 --out "$TMP/x"

cfg=$("$LEAP" eval "${common[@]}" --early-exit-quorum 2 --prune-share 0.25 --prune-at after --print-config)
python3 - "$cfg" <<'PY' || fail "--print-config"
import json, sys
c = json.loads(sys.argv[1])
assert c["early_exit_quorum"] == 2 and c["prune_share"] == 0.25 and c["prune_at"] == "after", c
assert c["confidence"]["window"] == 2048 and c["confidence"]["top_k"] == 20, c
PY
plain=$("$LEAP" eval "${common[@]}" --print-config)
case $plain in *early_exit*|*confidence*|*prune*) fail "options off: still in --print-config";; esac
echo "ok: --print-config"

"$LEAP" eval "${common[@]}" --confidence --confidence-window 6 --early-exit-quorum 2 --seed 1 \
    --out "$TMP/run" --json > "$TMP/m.json" 2> /dev/null
python3 - "$TMP/run" "$TMP/m.json" <<'PY' || fail "results"
import glob, json, sys
lines = [json.loads(l) for f in glob.glob(sys.argv[1] + "/*.jsonl") for l in open(f)]
assert len(lines) == 8, len(lines)
stopped = 0
for line in lines:
    paths = line["trace"]["paths"]
    for p, r in zip(paths, line["paths"]):
        c = p["confidence"]
        assert c["tokens"] == p["tokens"]["reasoning"], (c, p["tokens"])
        assert len(c["segments"]) == len(p["segments"]) and c["mean"] > 0, c
        if p["finish"] == "early-exit":
            stopped += 1
            assert p["stopped"] and r["stopped"] and r["answer"] == "", (p, r)
    assert "vote_confidence" in line
    # early exit: the problem stopped only once 2 finished paths agreed
    done = [r for r in line["paths"] if not r.get("stopped")]
    if len(done) < 4:
        answers = [r["answer"] for r in done if r["answer"]]
        assert max(answers.count(a) for a in answers) >= 2, line["paths"]
assert stopped > 0, "no path stopped early"
(s,) = json.load(open(sys.argv[2])).values()
assert "cons@n_confidence" in s and "confidence_auroc" in s and s["stopped_per_problem"] > 0, s
PY
echo "ok: nano eval with confidence and early exit"

# --confidence changes no token: the same texts with and without it.
"$LEAP" eval "${common[@]}" --seed 1 --out "$TMP/plain" --json > /dev/null 2>&1
"$LEAP" eval "${common[@]}" --confidence --seed 1 --out "$TMP/conf" --json > /dev/null 2>&1
python3 - "$TMP/plain" "$TMP/conf" <<'PY' || fail "--confidence changed the tokens"
import glob, json, sys
def texts(d):
    return [[p["text"] for p in json.loads(l)["trace"]["paths"]] for f in sorted(glob.glob(d + "/*.jsonl")) for l in open(f)]
a, b = texts(sys.argv[1]), texts(sys.argv[2])
assert len(a) == 8 and sorted(a) == sorted(b)
PY
echo "ok: --confidence changes no token"

"$LEAP" report "$TMP/run" -o "$TMP/report" > /dev/null
grep -q "Confidence-aware options" "$TMP/report.md" || fail "report.md lacks the section"
grep -q 'id="chart-accuracy-tokens-' "$TMP/report.html" || fail "report.html lacks the chart"
echo "ok: leap report"
