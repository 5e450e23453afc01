#!/usr/bin/env bash
# LeaP-T vs independent sampling on held-out problems of the nano task (docs/nano.md), with the
# real engine and harness (leap nano-data + leap eval + leap report). Prints the report table.
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
runs=()
for seed in $SEEDS; do
    for temp in $TEMPS; do
        dir="$OUT/independent-n$PATHS-temp$temp-seed$seed"
        echo "== independent, N=$PATHS, temperature $temp, seed $seed" >&2
        "$LEAP" eval "${common[@]}" --method independent --temp "$temp" --seed "$seed" --out "$dir" >&2
        runs+=("$dir")
    done
    for router in $ROUTERS; do
        dir="$OUT/leap-t-n$PATHS-k$K-$router-seed$seed"
        echo "== LeaP-T, N=$PATHS, k=$K, $router, seed $seed" >&2
        "$LEAP" eval "${common[@]}" --method leap-t --temp 1 --peers "$K" --router "$router" --seed "$seed" \
            --out "$dir" >&2
        runs+=("$dir")
        if [ "$MATCH" = 1 ]; then
            dir="$OUT/independent-matched-n$PATHS-k$K-$router-seed$seed"
            echo "== independent with LeaP-T's budget (more paths), seed $seed" >&2
            "$LEAP" eval "${common[@]}" --method leap-t --peers "$K" --router "$router" --match-budget paths \
                --temp 1 --seed "$seed" --out "$dir" >&2
            runs+=("$dir")
        fi
    done
done
"$LEAP" report "${runs[@]}" -o "$OUT/report" --title "LeaP-T nano: LeaP-T vs independent sampling (N=$PATHS)" >&2
cat "$OUT/report.md"
