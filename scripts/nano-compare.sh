#!/usr/bin/env bash
# LeaP-T vs independent sampling on held-out problems of the nano task (docs/nano.md), with the
# real engine and harness (leap nano-data + leap eval + leap report). Prints the report table.
#   scripts/nano-compare.sh [MODEL] [COUNT] [OUT]
# Environment: LEAP (the binary), SEEDS ("1 2"), PATHS (4), K (2), ROUTER (dispersed), THREADS.
set -euo pipefail
LEAP=${LEAP:-build/bin/leap}
MODEL=${1:-assets/leap-nano.gguf}
COUNT=${2:-100}
OUT=${3:-results/nano}
SEEDS=${SEEDS:-1}
PATHS=${PATHS:-4}
K=${K:-2}
ROUTER=${ROUTER:-dispersed}
THREADS=${THREADS:-$(nproc)}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

mkdir -p "$OUT"
# Held-out problems: stream 101 (training draws from streams no nano-data seed gives).
"$LEAP" nano-data --seed 101 --count "$COUNT" -o "$OUT/nano-heldout.jsonl"
# The nano protocol: 3 segments of 40 tokens (a step is 7), pure sampling so the model's own
# slip rate shows, short summaries and answers.
common=(-m "$MODEL" --bench "$OUT/nano-heldout.jsonl" -n "$PATHS" -T 40 --segments 3 --summary-tokens 16
        --answer-tokens 8 --temperature 1 --top-p 1 --min-p 0 --sample-top-k 0 -t "$THREADS"
        --parallel-problems 8)
runs=()
labels=()
for method in independent leap-t; do
    for seed in $SEEDS; do
        dir="$OUT/$method-n$PATHS-k$K-$ROUTER-seed$seed"
        echo "== $method, N=$PATHS, seed $seed" >&2
        "$LEAP" eval "${common[@]}" --method "$method" --top-k "$K" --router "$ROUTER" --seed "$seed" --out "$dir" >&2
        runs+=("$dir")
    done
    labels+=("$method")
done
"$LEAP" report "${runs[@]}" -o "$OUT/report" --title "LeaP-T nano: LeaP-T vs independent (N=$PATHS, k=$K, $ROUTER)" >&2
cat "$OUT/report.md"
