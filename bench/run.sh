#!/usr/bin/env bash
# The full `leap bench` (docs/performance.md, "leap bench"): a generated qwen2.5-0.5b f16 model
# (kept in ~/.cache/leap), 4 and 8 paths, LeaP in both KV layouts with 1 and 2 problems in
# flight, independent sampling, llama-batched-bench, the OpenAI backend over llama-server (a slot
# per path) and the resend pattern (no slot affinity) against the same llama-server setup.
# DEPTH=short (default: 4 segments x 256 tokens, about 1K reasoning tokens per path) or
# DEPTH=long (8 x 1024, about 8K), or SEGMENTSxT.
# Usage: [DEPTH=long] bash bench/run.sh [OUT.json] [extra leap bench flags, e.g. -m model.gguf -t 16]
# Slow on a small CPU (short: tens of minutes on 2 cores; long: hours); `leap bench --quick` is
# the smoke run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
depth="${DEPTH:-short}"
out="${1:-$root/results/bench-$depth-$(date +%Y%m%d-%H%M%S).json}"
shift || true
LEAP="${LEAP:-$root/build/bin/leap}"
[ -x "$LEAP" ] || { echo "build leap first: cmake --build build (builds leap, llama-server, llama-batched-bench)"; exit 1; }
mkdir -p "$(dirname "$out")"
"$LEAP" bench --paths 4,8 --problems 1,2 --depth "$depth" -o "$out" "$@"
echo "JSON: $out"
