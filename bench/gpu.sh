#!/usr/bin/env bash
# The throughput benchmark on a lent H100/H200 (docs/performance.md, "GPU"). The machine has
# CUDA, CMake and ninja but reaches nothing outside, so what the build needs travels in .gpu/
# (ignored): llama.cpp's patched source, the chat template and vocabulary the generated models
# use, and CLI11's headers.
#
#   here:  bash bench/gpu.sh --prepare          # writes .gpu/ (about 13 MB)
#   there: bash bench/gpu.sh [short|diag|long]  # device tool, carry [".gpu"]; figures in $OUT
#   here:  GPU_SH_BUILD=build bash bench/gpu.sh --dry   # the same steps, CPU build, tiny shapes
#
# Every mode first builds ggml with CUDA for sm_90 only (leap, llama-batched-bench, llama-server;
# 299 s on the H200 machine's 16 cores) unless build-cuda/ already has them (a warm machine keeps
# it), then runs `leap bench` on a generated r1-distill-1.5b f16 model:
# short (default): 16 paths, then the diag runs, then 8 paths. Each size: 1 and 2 problems in
#   flight, both KV layouts, independent sampling, the ceiling, the OpenAI backend and the resend
#   pattern, 4 x 256 tokens per path (457 s in all on the H200, the build included).
# diag: where the GPU's time goes: 8 paths, in-process LeaP and independent and the OpenAI
#   backend against llama-server as the bench starts it; then both with --backend-sampling (the
#   top-k cut on the GPU: leap's engine and llama-server's); then the server with 4 CPU threads;
#   then everything with OMP_WAIT_POLICY=PASSIVE.
# long: 16 paths at 16 x 1024 (about 16K tokens per path): LeaP, independent and the ceiling.
# Everything ends by GPU_SH_BUDGET seconds (default 470, so the whole script, build included,
# stays within issue 7's 8 minutes on any machine) after the start: each run gets what is left,
# and one that cannot start with a minute left is skipped. Every finished run leaves a
# line in gpu.log (kept in $OUT with one JSON per run) even when its bench is cut short.
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
deadline=$(( $(date +%s) + ${GPU_SH_BUDGET:-470} ))
left() { echo $(( deadline - $(date +%s) )); }

if [[ "$mode" == "--dry" ]]; then
    # The steps below against an existing CPU build: checks the script, not the GPU.
    B="${GPU_SH_BUILD:-build}/bin"
    PRESET=tiny
    SHORT=(--problems 1,2 --depth 2x32 --summary-tokens 8 --answer-tokens 8)
    SIZES=(4 2)
    DIAG=(--paths 2 --problems 1 --depth 2x32 --summary-tokens 8 --answer-tokens 8)
    LONG=(--paths 4 --problems 1 --depth 3x64 --summary-tokens 8 --answer-tokens 8)
    mode=all
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
        # The logs stay beside the build; $OUT gets one only when its step fails.
        mkdir -p build-cuda
        log "configure (CUDA, sm_90)"
        gen=(); command -v ninja > /dev/null && gen=(-G Ninja)
        cmake -S . -B build-cuda "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DLEAP_CUDA=ON -DLEAP_CUDA_ARCHITECTURES=90 \
            -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" \
            -DLEAP_BUILD_TESTS=OFF -DLEAP_CLI11_INCLUDE="$root/.gpu/CLI11/include" > build-cuda/configure.log 2>&1 \
            || { cp build-cuda/configure.log "$OUT/"; tail -30 build-cuda/configure.log; exit 1; }
        log "build (leap, llama-batched-bench, llama-server)"
        t0=$(date +%s)
        cmake --build build-cuda --target leap llama_tools -j"$(nproc)" > build-cuda/build.log 2>&1 \
            || { cp build-cuda/build.log "$OUT/"; tail -40 build-cuda/build.log; exit 1; }
        log "build took $(( $(date +%s) - t0 )) s"
    fi
    PRESET="${PRESET:-r1-distill-1.5b}"
    SHORT=(--problems 1,2 --depth short)
    SIZES=(16 8)
    DIAG=(--paths 8 --problems 1 --depth short)
    LONG=(--paths 16 --problems 1 --depth 16x1024 --no-unified --no-openai --no-resend)
fi

# One leap bench: NAME, then its arguments. Its table and progress lines go to gpu.log, its JSON
# to $OUT/NAME.json. Skipped with less than a minute left.
bench() {
    local name="$1"; shift
    local t; t=$(left)
    if (( t < 60 )); then log "skipped $name: ${t} s left"; return; fi
    log "$name: leap bench --preset $PRESET $* (at most ${t} s)"
    timeout "$t" "$B/leap" bench --preset "$PRESET" "$@" -o "$OUT/$name.json" 2>&1 \
        | grep -v '^llama\|^load\|^print_info\|^ggml_\|^  Device' | tee -a "$OUT/gpu.log"
    log "$name: exit ${PIPESTATUS[0]}"
}
diag() {
    local d=("${DIAG[@]}" --no-unified --no-ceiling --no-resend)
    bench diag-default "${d[@]}"
    bench diag-backend-sampling "${d[@]}" --backend-sampling --server-args "--backend-sampling"
    bench diag-server-4-threads "${d[@]}" --server-args "-t 4 -tb 4"
    OMP_WAIT_POLICY=PASSIVE bench diag-omp-passive "${d[@]}"
}

# The model is generated once into $HOME/.cache/leap by leap bench itself.
short() {
    bench "bench-short-${SIZES[0]}" --paths "${SIZES[0]}" "${SHORT[@]}"
    diag
    bench "bench-short-${SIZES[1]}" --paths "${SIZES[1]}" "${SHORT[@]}"
}
long() { bench bench-long "${LONG[@]}"; }
case "$mode" in
    short) short ;;
    diag) diag ;;
    long) long ;;
    all) short; long ;;
    *) echo "usage: bash bench/gpu.sh [--prepare|--dry|short|diag|long]"; exit 2 ;;
esac
log "done"
