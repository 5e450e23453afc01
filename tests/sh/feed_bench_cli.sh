#!/usr/bin/env bash
# leap-feed-bench: --spread out of range is refused with the flag's name, and a run with it puts
# the sequences at depths spread over D +- W/2 (it prints and records the spread).
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
bench="$LEAP_BIN_DIR/leap-feed-bench"
tmp="$LEAP_TEST_TMP/feed_bench_cli"
rm -rf "$tmp"; mkdir -p "$tmp"
"$LEAP" make-model --preset tiny --seed 1 -o "$tmp/m.gguf" > /dev/null 2>&1 || fail "make-model failed"
for bad in "-D 8 --spread 18" "-D 8 --spread -2"; do
    rc=0; "$bench" -m "$tmp/m.gguf" -S 3 -P 1 -r 1 -t 1 $bad > "$tmp/bad.out" 2>&1 || rc=$?
    [[ $rc == 2 ]] || fail "$bad: exit $rc, not refused: $(cat "$tmp/bad.out")"
    grep -q -- "--spread must be between 0 and 2 \* D" "$tmp/bad.out" || fail "$bad: $(cat "$tmp/bad.out")"
done
"$bench" -m "$tmp/m.gguf" -S 3 -D 16 -P 2 -r 1 -t 1 --spread 8 --json > "$tmp/ok.json" 2> "$tmp/ok.err" \
    || fail "--spread run failed: $(tail -5 "$tmp/ok.err")"
python3 - "$tmp/ok.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["spread"] == 8 and d["S"] == 3 and d["D"] == 16 and d["tokens_per_s"] > 0, d
PY
"$bench" -m "$tmp/m.gguf" -S 3 -D 16 -P 1 -r 1 -t 1 --spread 8 2> /dev/null | grep -q "^S 3  D 16 spread 8  P 1 " \
    || fail "the text line does not name the spread"
echo "ok"
