// leap-fa-bench: one ggml_flash_attn_ext on the CPU backend, at a text feed's shape, timed with
// ggml's default kernel choice and with the one-row kernel forced (ggml_backend_cpu_set_use_ref),
// to see which kernel a shape should take (patches/llama.cpp-fa-gqa-tile.patch).
//
//   leap-fa-bench [-S streams] [-H heads] [-G kv_heads] [-D depth] [-d head_size] [-t threads]
//                 [-r reps] ROWS...
//
// For each ROWS (query rows per stream) it prints the median time of the op with each choice.
// The layout is llama.cpp's: Q [d, rows, heads, streams] (a permuted view), K/V F16 cache views
// [d, cells, kv_heads, streams], a causal mask; every stream holds D cells before its rows, and the
// cells are padded to a multiple of 256 as llama.cpp's KV cache pads them (the padding masked).
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

double time_op(int S, int H, int G, int D, int dk, int rows, int threads, int reps, bool one_row) {
    const int n_kv = (D + rows + 255) / 256 * 256;  // llama.cpp pads the cells it attends to (masked)
    ggml_init_params ip = {ggml_tensor_overhead() * 16 + ggml_graph_overhead(), nullptr, true};
    ggml_context * ctx = ggml_init(ip);
    ggml_tensor * q4 = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, dk, H, rows, S);
    ggml_tensor * k4 = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, dk, G, n_kv, S);
    ggml_tensor * v4 = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, dk, G, n_kv, S);
    ggml_tensor * m = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, n_kv, rows, 1, S);
    ggml_tensor * out = ggml_flash_attn_ext(ctx, ggml_permute(ctx, q4, 0, 2, 1, 3), ggml_permute(ctx, k4, 0, 2, 1, 3),
                                            ggml_permute(ctx, v4, 0, 2, 1, 3), m, 1.0f / std::sqrt((float) dk), 0.0f, 0.0f);
    ggml_flash_attn_ext_set_prec(out, GGML_PREC_F32);
    ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    ggml_backend_t backend = ggml_backend_cpu_init();
    ggml_backend_cpu_set_n_threads(backend, threads);
    ggml_backend_cpu_set_use_ref(backend, one_row);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);

    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> qd(ggml_nelements(q4));
    for (float & x : qd) x = normal(rng);
    std::vector<ggml_fp16_t> kd(ggml_nelements(k4)), md(ggml_nelements(m));
    for (auto & x : kd) x = ggml_fp32_to_fp16(normal(rng));
    for (int s = 0; s < S; ++s)
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < n_kv; ++c)
                md[((size_t) s * rows + r) * n_kv + c] = ggml_fp32_to_fp16(c <= D + r ? 0.0f : -INFINITY);
    ggml_backend_tensor_set(q4, qd.data(), 0, ggml_nbytes(q4));
    ggml_backend_tensor_set(k4, kd.data(), 0, ggml_nbytes(k4));
    ggml_backend_tensor_set(v4, kd.data(), 0, ggml_nbytes(v4));
    ggml_backend_tensor_set(m, md.data(), 0, ggml_nbytes(m));

    std::vector<double> ms;
    for (int i = 0; i < reps + 1; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        ggml_backend_graph_compute(backend, gf);
        const auto t1 = std::chrono::steady_clock::now();
        if (i > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // the first warms up
    }
    ggml_backend_buffer_free(buf);
    ggml_backend_free(backend);
    ggml_free(ctx);
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char ** argv) {
    int S = 8, H = 14, G = 2, D = 1024, dk = 64, threads = 2, reps = 5;
    std::vector<int> rows;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        auto next = [&]() {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", f.c_str());
                std::exit(2);
            }
            return std::atoi(argv[++i]);
        };
        if (f == "-S") S = next();
        else if (f == "-H") H = next();
        else if (f == "-G") G = next();
        else if (f == "-D") D = next();
        else if (f == "-d") dk = next();
        else if (f == "-t") threads = next();
        else if (f == "-r") reps = next();
        else if (!f.empty() && f[0] != '-') rows.push_back(std::atoi(f.c_str()));
        else {
            std::fprintf(stderr, "usage: leap-fa-bench [-S streams] [-H heads] [-G kv_heads] [-D depth] [-d head_size] "
                                 "[-t threads] [-r reps] ROWS...\n");
            return 2;
        }
    }
    if (rows.empty() || G <= 0 || H % G != 0) {
        std::fprintf(stderr, "leap-fa-bench: give ROWS, and heads a multiple of kv_heads\n");
        return 2;
    }
    std::printf("streams %d, heads %d/%d, depth %d, head size %d, threads %d (median of %d)\n", S, H, G, D, dk, threads, reps);
    std::printf("%6s %6s %12s %12s %8s\n", "rows", "pairs", "default ms", "one-row ms", "ratio");
    for (int r : rows) {
        const double a = time_op(S, H, G, D, dk, r, threads, reps, false);
        const double b = time_op(S, H, G, D, dk, r, threads, reps, true);
        std::printf("%6d %6d %12.3f %12.3f %8.2f\n", r, r * (H / G), a, b, b / a);
        std::fflush(stdout);
    }
    return 0;
}
