#!/usr/bin/env bash
# One-shot GPU check for a lent H100/H200 (no network there): build ggml with CUDA for sm_90
# only, then measure llama.cpp's ceiling (llama-batched-bench) and leap on the same model shape.
# Expects .gpu/ (ignored) carried along: llama-src.tar.gz, llama-models.tar.gz, CLI11/include.
# Writes figures to $OUT (or ./gpu-out). Usage: bash bench/gpu.sh [preset]
set -uo pipefail
OUT="${OUT:-gpu-out}"; mkdir -p "$OUT"
PRESET="${1:-r1-distill-1.5b}"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/gpu.log"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee -a "$OUT/gpu.log"
if [[ ! -f third_party/llama.cpp/include/llama.h ]]; then
    mkdir -p third_party && tar xzf .gpu/llama-src.tar.gz -C third_party && tar xzf .gpu/llama-models.tar.gz -C third_party
fi
log "configure"
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DLEAP_CUDA=ON -DLEAP_CUDA_ARCHITECTURES=90 \
    -DLEAP_BUILD_TESTS=OFF -DLEAP_CLI11_INCLUDE="$PWD/.gpu/CLI11/include" > "$OUT/configure.log" 2>&1 \
    || { tail -30 "$OUT/configure.log"; exit 1; }
log "build (leap, llama-batched-bench)"
t0=$(date +%s)
cmake --build build-cuda --target leap llama-batched-bench -j"$(nproc)" > "$OUT/build.log" 2>&1 \
    || { tail -40 "$OUT/build.log"; exit 1; }
log "build took $(( $(date +%s) - t0 )) s"
B=build-cuda/bin
M=/tmp/model.gguf
$B/leap make-model --preset "$PRESET" --type f16 --seed 1 -o $M -q \
    --chat-template third_party/llama.cpp/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja | tee -a "$OUT/gpu.log"

DEPTH=2048; NTG=128
for kv in -no-kvu -kvu; do
    log "llama-batched-bench $kv"
    timeout 120 $B/llama-batched-bench -m $M -ngl 99 -c $((16 * (DEPTH + NTG + 64))) -b 2048 -ub 512 \
        -npp $DEPTH -ntg $NTG -npl 8,16 $kv 2>&1 | grep -E "^\|" | tee "$OUT/batched$kv.txt"
done
# leap: 16 paths, 4 segments of 384 tokens (~1.8K tokens per path), lengths fixed by --ignore-eos.
for run in "leap " "independent " "leap --kv-unified"; do
    set -- $run
    method=$1; kv=${2:-}
    name="leap-$method${kv:+-unified}"
    log "leap solve $method $kv"
    timeout 150 $B/leap solve -m $M --sample --method $method -n 16 -T 384 --segments 4 --top-k 2 \
        --summary-tokens 64 --answer-tokens 32 --ignore-eos --seed 1 $kv --json > "$OUT/$name.json" 2>> "$OUT/gpu.log"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(d['stats']))" "$OUT/$name.json" \
        | tee -a "$OUT/gpu.log"
done
log "done"
