#!/usr/bin/env bash
# The full `leap bench` (docs/performance.md, "leap bench"): a generated qwen2.5-0.5b f16 model
# (kept in ~/.cache/leap), 4 and 8 paths, 4 segments of 256 tokens, LeaP in both KV layouts,
# independent sampling, llama-batched-bench and the OpenAI backend over llama-server.
# Usage: bash bench/run.sh [OUT.json] [extra leap bench flags, e.g. -m model.gguf -t 16]
# Slow on a small CPU (tens of minutes on 2 cores); `leap bench --quick` is the smoke run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/results/bench-$(date +%Y%m%d-%H%M%S).json}"
shift || true
LEAP="${LEAP:-$root/build/bin/leap}"
[ -x "$LEAP" ] || { echo "build leap first: cmake --build build --target leap llama-batched-bench llama-server"; exit 1; }
mkdir -p "$(dirname "$out")"
"$LEAP" bench --paths 4,8 --depth 4x256 -o "$out" "$@"
echo "JSON: $out"
