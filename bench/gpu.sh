#!/usr/bin/env bash
# The throughput benchmark on a lent H100/H200 (docs/performance.md, "GPU"). The machine has
# CUDA, CMake and ninja but reaches nothing outside, so what the build needs travels in .gpu/
# (ignored): llama.cpp's patched source, the chat template and vocabulary the generated models
# use, and CLI11's headers.
#
#   here:  bash bench/gpu.sh --prepare          # writes .gpu/ (about 20 MB)
#   there: bash bench/gpu.sh [short|long]       # device tool, carry [".gpu"]; figures in $OUT
#   here:  GPU_SH_BUILD=build bash bench/gpu.sh --dry   # the same steps, CPU build, tiny shapes
#
# short (default): build ggml with CUDA for sm_90 only (leap, llama-batched-bench, llama-server),
# then `leap bench` on a generated r1-distill-1.5b f16 model: 16 then 8 paths, 1 and 2 problems
# in flight, both KV layouts, independent sampling, the ceiling, the OpenAI backend and the
# resend pattern, 4 x 256 tokens per path. Everything ends by GPU_SH_BUDGET seconds (default
# 540) after the start: each size gets what is left, and a size that cannot start with a minute
# left is skipped. Every finished run leaves a line in gpu.log even when its size is cut short.
# long: reuses build-cuda/ (a warm machine keeps it) and runs 16 paths at 16 x 1024 (about 16K
# tokens per path): LeaP, independent and the ceiling.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode="${1:-short}"

if [[ "$mode" == "--prepare" ]]; then
    set -e
    src=third_party/llama.cpp
    [[ -f $src/include/llama.h ]] || { echo "no $src: run scripts/fetch-llama.sh (or make build) first"; exit 1; }
    [[ -f /usr/include/CLI/CLI.hpp ]] || { echo "CLI11 headers missing: apt-get install libcli11-dev"; exit 1; }
    rm -rf .gpu && mkdir -p .gpu/CLI11/include
    # The source as patched here (the patch is applied by fetch-llama.sh), without git history,
    # model files or what the CUDA build does not read.
    tar czf .gpu/llama-src.tar.gz -C third_party --exclude=llama.cpp/.git --exclude=llama.cpp/models \
        --exclude=llama.cpp/docs --exclude=llama.cpp/media --exclude=llama.cpp/gguf-py \
        --exclude=llama.cpp/examples --exclude=llama.cpp/tools/server/public \
        --exclude=llama.cpp/app --exclude=llama.cpp/benches llama.cpp
    tar czf .gpu/llama-models.tar.gz -C third_party llama.cpp/models/templates llama.cpp/models/ggml-vocab-qwen2.gguf
    cp -r /usr/include/CLI .gpu/CLI11/include/
    du -sh .gpu
    grep -qx '/.gpu/' .gitignore || echo "note: .gpu/ must stay ignored (it is in .gitignore)"
    exit 0
fi

OUT="${OUT:-gpu-out}"; mkdir -p "$OUT"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/gpu.log"; }
deadline=$(( $(date +%s) + ${GPU_SH_BUDGET:-540} ))
left() { echo $(( deadline - $(date +%s) )); }

if [[ "$mode" == "--dry" ]]; then
    # The steps below against an existing CPU build: checks the script, not the GPU.
    B="${GPU_SH_BUILD:-build}/bin"
    PRESET=tiny
    SHORT=(--problems 1,2 --depth 2x32 --summary-tokens 8 --answer-tokens 8)
    SIZES=(4 2)
    LONG=(--paths 4 --problems 1 --depth 3x64 --summary-tokens 8 --answer-tokens 8)
    mode=short-and-long
else
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee -a "$OUT/gpu.log"
    [[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="/usr/local/cuda/bin:$PATH"
    { nvcc --version | tail -2; cmake --version | head -1; c++ --version | head -1; echo "cores $(nproc)"; } 2>&1 | tee -a "$OUT/gpu.log"
    if [[ ! -f third_party/llama.cpp/include/llama.h ]]; then
        [[ -f .gpu/llama-src.tar.gz ]] || { echo "no .gpu/: run 'bash bench/gpu.sh --prepare' here and carry .gpu"; exit 1; }
        mkdir -p third_party && tar xzf .gpu/llama-src.tar.gz -C third_party && tar xzf .gpu/llama-models.tar.gz -C third_party
    fi
    B=build-cuda/bin
    if [[ ! -x $B/leap || ! -x $B/llama-server || ! -x $B/llama-batched-bench ]]; then
        log "configure (CUDA, sm_90)"
        gen=(); command -v ninja > /dev/null && gen=(-G Ninja)
        cmake -S . -B build-cuda "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DLEAP_CUDA=ON -DLEAP_CUDA_ARCHITECTURES=90 \
            -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" \
            -DLEAP_BUILD_TESTS=OFF -DLEAP_CLI11_INCLUDE="$root/.gpu/CLI11/include" > "$OUT/configure.log" 2>&1 \
            || { tail -30 "$OUT/configure.log"; exit 1; }
        log "build (leap, llama-batched-bench, llama-server)"
        t0=$(date +%s)
        cmake --build build-cuda --target leap llama_tools -j"$(nproc)" > "$OUT/build.log" 2>&1 \
            || { tail -40 "$OUT/build.log"; exit 1; }
        log "build took $(( $(date +%s) - t0 )) s"
    fi
    PRESET="${PRESET:-r1-distill-1.5b}"
    SHORT=(--problems 1,2 --depth short)
    SIZES=(16 8)
    LONG=(--paths 16 --problems 1 --depth 16x1024 --no-unified --no-openai --no-resend)
fi

# The model is generated once into $HOME/.cache/leap by leap bench itself.
if [[ "$mode" == "short" || "$mode" == "short-and-long" ]]; then
    # One leap bench per size, the larger first: a run cut short by its timeout loses one size.
    for n in "${SIZES[@]}"; do
        t=$(left)
        if (( t < 60 )); then log "skipped --paths $n: ${t} s left"; continue; fi
        log "leap bench --paths $n ${SHORT[*]} --preset $PRESET (at most ${t} s)"
        timeout "$t" "$B/leap" bench --preset "$PRESET" --paths "$n" "${SHORT[@]}" -o "$OUT/bench-short-$n.json" \
            > "$OUT/bench-short-$n.txt" 2>> "$OUT/gpu.log"
        log "leap bench exit $?"
        cat "$OUT/bench-short-$n.txt"
    done
fi
if [[ "$mode" == "long" || "$mode" == "short-and-long" ]]; then
    t=$(left)
    (( t >= 60 )) || { log "skipped the long run: ${t} s left"; exit 0; }
    log "leap bench ${LONG[*]} --preset $PRESET (at most ${t} s)"
    timeout "$t" "$B/leap" bench --preset "$PRESET" "${LONG[@]}" -o "$OUT/bench-long.json" \
        > "$OUT/bench-long.txt" 2>> "$OUT/gpu.log"
    log "leap bench exit $?"
    cat "$OUT/bench-long.txt"
fi
log "done"
