#!/usr/bin/env bash
# The confidence-aware options (docs/adaptive.md) on the nano task: LeaP-T with each option against
# plain LeaP-T, independent sampling and independent sampling with LeaP-T's token budget, on
# held-out problems over several seeds, then one `leap report` (its "Confidence-aware options"
# section: the table and the accuracy-versus-tokens chart).
#   scripts/nano-adaptive.sh [MODEL] [COUNT] [OUT]
# Environment: LEAP (binary), SEEDS ("1 2"), PATHS (4), K (2), THREADS (1), DATA_SEED (101),
# WINDOW (6: one segment of the nano protocol), SETTINGS (the names below; default all).
set -euo pipefail
LEAP=${LEAP:-build/bin/leap}
MODEL=${1:-assets/leap-nano.gguf}
COUNT=${2:-300}
OUT=${3:-results/nano-adaptive}
SEEDS=${SEEDS:-1 2}
PATHS=${PATHS:-4}
K=${K:-2}
THREADS=${THREADS:-1}
DATA_SEED=${DATA_SEED:-101}
WINDOW=${WINDOW:-6}
SETTINGS=${SETTINGS:-leap-t independent matched quorum2 prune-before prune-after confident quorum3 confident-dispersed}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

mkdir -p "$OUT"
"$LEAP" nano-data --seed "$DATA_SEED" --count "$COUNT" -o "$OUT/nano-heldout.jsonl"
# The nano protocol of scripts/nano-compare.sh: 4 segments of 6 tokens, short summaries and answers.
common=(-m "$MODEL" --bench "$OUT/nano-heldout.jsonl" -N "$PATHS" -T 6 --segments 4 --summary-tokens 6
        --answer-tokens 4 --top-k 0 --top-p 1 --min-p 0 --temp 1 -t "$THREADS" --parallel-problems 64)
leapt=(--method leap-t --peers "$K" --router dispersed --confidence --confidence-window "$WINDOW")
runs=() labels=()
# Seeds outer, so a run cut short still has every setting at the first seed; the report groups
# each setting's seeds (folders that differ only in the seed) and labels the groups in order.
for seed in $SEEDS; do
    for setting in $SETTINGS; do
        case $setting in
            independent) args=(--method independent); label="independent";;
            matched) args=(--method leap-t --peers "$K" --match-budget paths); label="independent, LeaP-T's token budget";;
            leap-t) args=("${leapt[@]}"); label="LeaP-T";;
            quorum2) args=("${leapt[@]}" --early-exit-quorum 2); label="LeaP-T, early exit at 2 agreeing";;
            quorum3) args=("${leapt[@]}" --early-exit-quorum 3); label="LeaP-T, early exit at 3 agreeing";;
            prune-before) args=("${leapt[@]}" --prune-share 0.25 --prune-at before); label="LeaP-T, prune 25% before blocks";;
            prune-after) args=("${leapt[@]}" --prune-share 0.25 --prune-at after); label="LeaP-T, prune 25% after blocks";;
            confident) args=("${leapt[@]/dispersed/confident}"); label="LeaP-T, confident router";;
            confident-dispersed) args=("${leapt[@]/dispersed/confident-dispersed}"); label="LeaP-T, confident-dispersed router";;
            *) echo "nano-adaptive: unknown setting $setting" >&2; exit 2;;
        esac
        dir="$OUT/$setting-seed$seed"
        echo "== $label (seed $seed)" >&2
        [ -s "$dir.json" ] || "$LEAP" eval "${common[@]}" "${args[@]}" --seed "$seed" --out "$dir" --json > "$dir.json"
        runs+=("$dir")
        [ "$seed" = "${SEEDS%% *}" ] && labels+=(--label "$label")
    done
done
"$LEAP" report "${runs[@]}" "${labels[@]}" -o "$OUT/report" \
    --title "LeaP-T nano: confidence-aware options (N=$PATHS, $COUNT held-out problems, seeds $SEEDS)" >&2
echo "$OUT/report.md"
