#!/usr/bin/env bash
# LeaP-T vs independent sampling on held-out problems of the nano task (docs/nano.md), with the
# real engine and harness (leap nano-data + leap eval + leap report). Ends with a headline (LeaP-T
# vs the best independent run), a short table and the path of the HTML report.
#   scripts/nano-compare.sh [MODEL] [COUNT] [OUT]
# Environment: LEAP (the binary), SEEDS ("1"), PATHS (4), K (2), ROUTERS
# ("dispersed"), TEMPS (independent sampling's temperatures, "1 0.6 0": its best is the baseline),
# MATCH (1: also independent sampling with LeaP-T's token budget), THREADS, DATA_SEED (101),
# T (6) and SEGMENTS (4).
set -euo pipefail
LEAP=${LEAP:-build/bin/leap}
MODEL=${1:-assets/leap-nano.gguf}
COUNT=${2:-100}
OUT=${3:-results/nano}
SEEDS=${SEEDS:-1}
PATHS=${PATHS:-4}
K=${K:-2}  # the k range the nano model was trained on (1..2; docs/nano.md)
ROUTERS=${ROUTERS:-dispersed}
TEMPS=${TEMPS:-1 0.6 0}
MATCH=${MATCH:-0}
THREADS=${THREADS:-$(nproc)}
DATA_SEED=${DATA_SEED:-101}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

mkdir -p "$OUT"
# Held-out problems (training draws from streams no nano-data seed gives).
"$LEAP" nano-data --seed "$DATA_SEED" --count "$COUNT" -o "$OUT/nano-heldout.jsonl"
# The nano protocol: 4 segments of 6 tokens (a try is 3 tokens, a step 1), three blocks, short
# summaries and answers; no top-k/top-p/min-p cut, so temperature alone sets the sampling.
common=(-m "$MODEL" --bench "$OUT/nano-heldout.jsonl" -N "$PATHS" -T "${T:-6}" --segments "${SEGMENTS:-4}"
        --summary-tokens 6 --answer-tokens 4 --top-k 0 --top-p 1 --min-p 0 -t "$THREADS" --parallel-problems 16)
runs=()     # results folders, for leap report
labels=()   # readable run names, in the same order
metrics=()  # LABEL=FILE pairs for the headline
mkdir -p "$OUT/metrics"
# One eval: its results folder, its readable name; the metrics JSON is kept for the headline.
run_eval() {
    local dir=$1 label=$2
    shift 2
    echo "== $label" >&2
    "$LEAP" eval "${common[@]}" "$@" --out "$dir" --json > "$OUT/metrics/$(basename "$dir").json"
    runs+=("$dir")
    labels+=(--label "$label")
    metrics+=("$label=$OUT/metrics/$(basename "$dir").json")
}
for seed in $SEEDS; do
    for temp in $TEMPS; do
        run_eval "$OUT/independent-n$PATHS-temp$temp-seed$seed" "independent, temperature $temp" \
            --method independent --temp "$temp" --seed "$seed"
    done
    for router in $ROUTERS; do
        run_eval "$OUT/leap-t-n$PATHS-k$K-$router-seed$seed" "LeaP-T, $PATHS paths hearing $K peers ($router)" \
            --method leap-t --temp 1 --peers "$K" --router "$router" --seed "$seed"
        if [ "$MATCH" = 1 ]; then
            matched=(--method leap-t --peers "$K" --router "$router" --match-budget paths --temp 1 --seed "$seed")
            n=$("$LEAP" eval "${common[@]}" "${matched[@]}" --print-config |
                python3 -c 'import json, sys; print(json.load(sys.stdin)["paths"])')
            run_eval "$OUT/independent-matched-n$PATHS-k$K-$router-seed$seed" \
                "independent with LeaP-T's token budget ($n paths)" "${matched[@]}"
        fi
    done
done
"$LEAP" report "${runs[@]}" "${labels[@]}" -o "$OUT/report" \
    --title "LeaP-T nano: LeaP-T vs independent sampling (N=$PATHS)" >&2
# The end: a headline, a short table with readable names, and where the full report is.
python3 "$(dirname "$0")/nano-headline.py" "$OUT/report.html" "${metrics[@]}"
