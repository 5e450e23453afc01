#!/usr/bin/env bash
# `leap route`: JSON in on stdin, one JSON line out; bad input exits non-zero with a message.
set -euo pipefail
: "${LEAP:?set LEAP to the leap binary}"

fail() { echo "FAIL: $*" >&2; exit 1; }

expect_out() {  # expect_out NAME INPUT EXPECTED
    local got
    got=$(printf '%s' "$2" | "$LEAP" route) || fail "$1: exit status $?"
    [[ "$got" == "$3" ]] || fail "$1: got '$got', want '$3'"
    echo "ok: $1"
}

# indel similarity of these length-4 strings is LCS/4:
#   0-1 .75  0-2 .5  0-3 0  1-2 .75  1-3 .25  2-3 .5
FOUR='"summaries": ["aaaa", "aaab", "aabb", "bbbb"]'

expect_out "defaults (dispersed, k=2, indel)" "{$FOUR}" \
    '{"peers":[[3,2],[3,0],[0,3],[0,1]],"scores":[[0.0,0.5],[0.25,0.75],[0.5,0.5],[0.0,0.25]]}'
expect_out "clustered k=1" "{$FOUR, \"router\": \"clustered\", \"k\": 1}" \
    '{"peers":[[1],[0],[1],[2]],"scores":[[0.75],[0.75],[0.75],[0.5]]}'
expect_out "inactive path" "{$FOUR, \"active\": [true, false, true, true]}" \
    '{"peers":[[3,2],[],[0,3],[0,2]],"scores":[[0.0,0.5],[],[0.5,0.5],[0.0,0.5]]}'
expect_out "hybrid k=3 dedup" "{$FOUR, \"router\": \"hybrid\", \"k\": 3}" \
    '{"peers":[[3,1,2],[3,0,2],[0,1,3],[0,2,1]],"scores":[[0.0,0.75,0.5],[0.25,0.75,0.75],[0.5,0.75,0.5],[0.0,0.5,0.25]]}'
expect_out "hybrid k=3 reference parity" "{$FOUR, \"router\": \"hybrid\", \"k\": 3, \"reference_parity\": true}" \
    '{"peers":[[3,1,2],[3,0,2],[0,1,0],[0,2,1]],"scores":[[0.0,0.75,0.5],[0.25,0.75,0.75],[0.5,0.75,0.5],[0.0,0.5,0.25]]}'
# kitten/sitting: edit distance 3 over 7 -> 4/7 = 0.5714285714285714; no shared letters with "xyz".
expect_out "levenshtein, all" \
    '{"summaries": ["kitten", "sitting", "xyz"], "router": "all", "similarity": "levenshtein", "k": 5}' \
    '{"peers":[[1,2],[0,2],[0,1]],"scores":[[0.5714285714285714,0.0],[0.5714285714285714,0.0],[0.0,0.0]]}'
# "café" vs "cafe": 4 code points each, one substitution -> 0.75 (over bytes it would be 0.6).
expect_out "UTF-8 code points" \
    '{"summaries": ["cafe", "caf\u00e9"], "similarity": "levenshtein", "k": 1}' \
    '{"peers":[[1],[0]],"scores":[[0.75],[0.75]]}'
expect_out "no paths" '{"summaries": []}' '{"peers":[],"scores":[]}'
# Confident routers (docs/adaptive.md): the k most confident peers; confident-dispersed, the least
# similar among the more confident half (here {1, 3} for path 0: 3 is the less similar).
expect_out "confident k=2" "{$FOUR, \"router\": \"confident\", \"confidence\": [0.1, 0.9, 0.5, 0.7]}" \
    '{"peers":[[1,3],[3,2],[1,3],[1,2]],"scores":[[0.75,0.0],[0.25,0.75],[0.75,0.5],[0.25,0.5]]}'
expect_out "confident-dispersed k=1" "{$FOUR, \"router\": \"confident-dispersed\", \"k\": 1, \"confidence\": [0.1, 0.9, 0.5, 0.7]}" \
    '{"peers":[[3],[3],[3],[1]],"scores":[[0.0],[0.25],[0.5],[0.25]]}'

# Random: same seed, same answer; valid draw (checked with python3).
R1=$(printf '%s' '{"summaries": ["a","b","c","d","e","f"], "router": "random", "k": 3, "seed": 7}' | "$LEAP" route)
R2=$(printf '%s' '{"summaries": ["a","b","c","d","e","f"], "router": "random", "k": 3, "seed": 7}' | "$LEAP" route)
[[ "$R1" == "$R2" ]] || fail "random: not deterministic: '$R1' vs '$R2'"
python3 - "$R1" <<'PY' || fail "random: invalid draw $R1"
import json, sys
out = json.loads(sys.argv[1])
assert len(out["peers"]) == 6
for i, row in enumerate(out["peers"]):
    assert len(row) == 3 and len(set(row)) == 3 and i not in row and all(0 <= j < 6 for j in row), row
PY
echo "ok: random"

# Bad input: non-zero exit, no stdout, "leap: error:" with the culprit on stderr.
expect_error() {  # expect_error NAME INPUT PATTERN
    local rc=0 out err
    err=$(mktemp)
    out=$(printf '%s' "$2" | "$LEAP" route 2>"$err") || rc=$?
    local msg
    msg=$(cat "$err")
    rm -f "$err"
    [[ $rc -ne 0 ]] || fail "$1: exit status 0 (stdout '$out')"
    [[ -z "$out" ]] || fail "$1: unexpected stdout '$out'"
    [[ "$msg" == *"leap: error:"* && "$msg" == *"$3"* ]] || fail "$1: stderr '$msg' lacks '$3'"
    echo "ok: $1 -> $msg"
}
expect_error "malformed JSON" '{"summaries": [' 'not valid JSON'
expect_error "missing summaries" '{"router": "all"}' 'missing "summaries"'
expect_error "k not an integer" '{"summaries": ["a"], "k": "x"}' '"k" must be a positive integer, got "x"'
expect_error "k zero" '{"summaries": ["a"], "k": 0}' '"k" must be a positive integer, got 0'
expect_error "unknown router" '{"summaries": ["a"], "router": "nearest"}' 'unknown router "nearest"'
expect_error "unknown similarity" '{"summaries": ["a"], "similarity": "cosine"}' 'unknown similarity "cosine"'
expect_error "summary not a string" '{"summaries": ["a", 3]}' '"summaries[1]" must be a string'
expect_error "active length" '{"summaries": ["a", "b"], "active": [true]}' '"active" has 1 entries'
expect_error "negative seed" '{"summaries": ["a"], "seed": -1}' '"seed" must be a non-negative integer'
expect_error "unknown key" '{"summaries": ["a"], "K": 2}' 'unknown key "K"'
expect_error "confident without confidence" '{"summaries": ["a", "b"], "router": "confident"}' '0 confidences for 2 summaries'
expect_error "confidence not a number" '{"summaries": ["a"], "confidence": ["x"]}' '"confidence[0]" must be a number'

echo "route_cli: all passed"
