// ggml's CPU flash attention (ggml_flash_attn_ext) against a double-precision reference, for the
// shapes of LeaP's text feeds: several KV streams (ne[3]), a few to ~130 query rows per stream,
// GQA ratios 1, 2 and 7, depths 0 to ~2,100 cells, F16 K/V, causal masks. patches/
// llama.cpp-fa-gqa-tile.patch lets the tiled kernel fill a tile with the (row, head) pairs of the
// query heads that share a K/V head; every pair must still read its own query row's mask row, its
// own head's query, ALiBi slope and sink, and its group's K/V head. The same inputs also go through
// the one-row kernel (ggml_backend_cpu_set_use_ref: the path unpatched llama.cpp takes below 64
// rows per stream), and both outputs must agree with the reference.
#include <gtest/gtest.h>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

struct FaShape {
    int rows;        // query rows per stream (tokens of the micro-batch)
    int n_head_kv;   // K/V heads
    int ratio;       // query heads per K/V head
    int depth;       // cells already in each stream before the rows' own cells
    int streams;     // ne[3]
    int dk = 64;     // head size (K and V)
    float max_bias = 0.0f;
    float softcap = 0.0f;
    bool sinks = false;

    int n_head() const { return n_head_kv * ratio; }
    int n_kv() const { return depth + rows; }
    std::string name() const {
        return "rows " + std::to_string(rows) + ", heads " + std::to_string(n_head()) + "/" +
               std::to_string(n_head_kv) + ", depth " + std::to_string(depth) + ", streams " +
               std::to_string(streams) + ", dk " + std::to_string(dk) +
               (max_bias > 0 ? ", alibi" : "") + (softcap > 0 ? ", softcap" : "") +
               (sinks ? ", sinks" : "");
    }
};

// The inputs, as the test holds them: K, V and the mask already rounded to f16 (kept here as
// f16 bits and as the float they stand for, so the reference sees exactly what ggml sees).
struct FaInputs {
    std::vector<float> q;                 // [stream][row][head][dk]
    std::vector<ggml_fp16_t> k16, v16;    // [stream][cell][kv head][dk], the KV cache's layout
    std::vector<float> k, v;
    std::vector<ggml_fp16_t> mask16;      // [stream][row][cell]
    std::vector<float> mask;
    std::vector<float> sinks;             // [head]
    float scale;
};

FaInputs make_inputs(const FaShape & s, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    FaInputs in;
    const int n_kv = s.n_kv();
    in.scale = 1.0f / std::sqrt((float) s.dk);
    in.q.resize((size_t) s.streams * s.rows * s.n_head() * s.dk);
    for (float & x : in.q) x = normal(rng);
    const size_t nkv = (size_t) s.streams * n_kv * s.n_head_kv * s.dk;
    in.k16.resize(nkv);
    in.v16.resize(nkv);
    in.k.resize(nkv);
    in.v.resize(nkv);
    for (size_t i = 0; i < nkv; ++i) {
        in.k16[i] = ggml_fp32_to_fp16(normal(rng));
        in.k[i] = ggml_fp16_to_fp32(in.k16[i]);
        in.v16[i] = ggml_fp32_to_fp16(uniform(rng));
        in.v[i] = ggml_fp16_to_fp32(in.v16[i]);
    }
    // Causal mask per stream: row r sits at position depth_s + r of its stream and sees the cells
    // up to it. Each stream holds a different number of cells (depth_s = depth - 5*stream, as
    // LeaP's paths differ in length); the cells past a stream's own are empty (-inf), and the
    // mask adds a small per-cell bias elsewhere so that a pair reading another row's mask row
    // (or another stream's) gives a different result even where both rows see the same cells.
    in.mask16.resize((size_t) s.streams * s.rows * n_kv);
    in.mask.resize(in.mask16.size());
    for (int st = 0; st < s.streams; ++st) {
        const int depth_s = std::max(0, s.depth - 5 * st);
        for (int r = 0; r < s.rows; ++r) {
            for (int c = 0; c < n_kv; ++c) {
                // cells [depth_s, depth) of a shorter stream are empty; the rows' own cells
                // are depth..depth+rows-1 (a KV stream's cells need not be contiguous)
                const bool visible = c < depth_s || (c >= s.depth && c - s.depth <= r);
                const float m = visible ? 0.25f * uniform(rng) : -INFINITY;
                const size_t i = ((size_t) st * s.rows + r) * n_kv + c;
                in.mask16[i] = ggml_fp32_to_fp16(m);
                in.mask[i] = ggml_fp16_to_fp32(in.mask16[i]);
            }
        }
    }
    if (s.sinks) {
        in.sinks.resize(s.n_head());
        for (float & x : in.sinks) x = 2.0f * normal(rng);
    }
    return in;
}

// ALiBi slope of head h, as ggml defines it (n_head_log2 = largest power of 2 <= n_head).
double alibi_slope(const FaShape & s, int h) {
    if (s.max_bias <= 0.0f) return 1.0;
    const int n_head_log2 = 1 << (int) std::floor(std::log2((double) s.n_head()));
    const double m0 = std::pow(2.0, -(double) s.max_bias / n_head_log2);
    const double m1 = std::pow(2.0, -(double) s.max_bias / 2.0 / n_head_log2);
    return h < n_head_log2 ? std::pow(m0, h + 1) : std::pow(m1, 2 * (h - n_head_log2) + 1);
}

// softmax(scale * q.k [softcapped] + slope * mask [+ sink in the denominator]) . v, in double.
// Output layout as ggml's: [stream][row][head][dk]. A row that sees no cell (and has no sink)
// gives zeros, as both ggml kernels do.
std::vector<double> reference(const FaShape & s, const FaInputs & in) {
    const int n_kv = s.n_kv(), H = s.n_head(), HKV = s.n_head_kv, dk = s.dk;
    std::vector<double> out((size_t) s.streams * s.rows * H * dk, 0.0);
    std::vector<double> score(n_kv);
    for (int st = 0; st < s.streams; ++st) {
        for (int r = 0; r < s.rows; ++r) {
            const float * mrow = &in.mask[((size_t) st * s.rows + r) * n_kv];
            for (int h = 0; h < H; ++h) {
                const int hkv = h / s.ratio;
                const float * q = &in.q[(((size_t) st * s.rows + r) * H + h) * dk];
                const double slope = alibi_slope(s, h);
                double mx = -INFINITY;
                for (int c = 0; c < n_kv; ++c) {
                    if (mrow[c] == -INFINITY) {
                        score[c] = -INFINITY;
                        continue;
                    }
                    const float * k = &in.k[(((size_t) st * n_kv + c) * HKV + hkv) * dk];
                    double dot = 0.0;
                    for (int d = 0; d < dk; ++d) dot += (double) q[d] * k[d];
                    double x = dot * in.scale;
                    if (s.softcap > 0.0f) x = s.softcap * std::tanh(x / s.softcap);
                    score[c] = x + slope * mrow[c];
                    mx = std::max(mx, score[c]);
                }
                if (s.sinks) mx = std::max(mx, (double) in.sinks[h]);
                if (mx == -INFINITY) continue;
                double sum = s.sinks ? std::exp(in.sinks[h] - mx) : 0.0;
                double * o = &out[(((size_t) st * s.rows + r) * H + h) * dk];
                for (int c = 0; c < n_kv; ++c) {
                    if (score[c] == -INFINITY) continue;
                    const double p = std::exp(score[c] - mx);
                    sum += p;
                    const float * v = &in.v[(((size_t) st * n_kv + c) * HKV + hkv) * dk];
                    for (int d = 0; d < dk; ++d) o[d] += p * v[d];
                }
                for (int d = 0; d < dk; ++d) o[d] /= sum;
            }
        }
    }
    return out;
}

// One ggml_flash_attn_ext on the CPU backend, laid out as llama.cpp's graph lays it out: Q a
// permuted view of [dk, head, row, stream], K and V permuted views of the cache's
// [dk, kv head, cell, stream] (F16), the mask [cell, row, 1, stream] (F16).
std::vector<float> run_ggml(const FaShape & s, const FaInputs & in, bool one_row_kernel, int n_threads) {
    const int n_kv = s.n_kv(), H = s.n_head(), HKV = s.n_head_kv, dk = s.dk;
    ggml_init_params ip = {ggml_tensor_overhead() * 16 + ggml_graph_overhead(), nullptr, true};
    ggml_context * ctx = ggml_init(ip);
    ggml_tensor * q4 = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, dk, H, s.rows, s.streams);
    ggml_tensor * k4 = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, dk, HKV, n_kv, s.streams);
    ggml_tensor * v4 = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, dk, HKV, n_kv, s.streams);
    ggml_tensor * m = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, n_kv, s.rows, 1, s.streams);
    ggml_tensor * sinks = s.sinks ? ggml_new_tensor_1d(ctx, GGML_TYPE_F32, H) : nullptr;
    ggml_tensor * q = ggml_permute(ctx, q4, 0, 2, 1, 3);
    ggml_tensor * k = ggml_permute(ctx, k4, 0, 2, 1, 3);
    ggml_tensor * v = ggml_permute(ctx, v4, 0, 2, 1, 3);
    ggml_tensor * out = ggml_flash_attn_ext(ctx, q, k, v, m, in.scale, s.max_bias, s.softcap);
    ggml_flash_attn_ext_set_prec(out, GGML_PREC_F32);
    if (sinks) ggml_flash_attn_ext_add_sinks(out, sinks);
    ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);

    ggml_backend_t backend = ggml_backend_cpu_init();
    ggml_backend_cpu_set_n_threads(backend, n_threads);
    ggml_backend_cpu_set_use_ref(backend, one_row_kernel);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
    ggml_backend_tensor_set(q4, in.q.data(), 0, ggml_nbytes(q4));
    ggml_backend_tensor_set(k4, in.k16.data(), 0, ggml_nbytes(k4));
    ggml_backend_tensor_set(v4, in.v16.data(), 0, ggml_nbytes(v4));
    ggml_backend_tensor_set(m, in.mask16.data(), 0, ggml_nbytes(m));
    if (sinks) ggml_backend_tensor_set(sinks, in.sinks.data(), 0, ggml_nbytes(sinks));
    EXPECT_EQ(ggml_backend_graph_compute(backend, gf), GGML_STATUS_SUCCESS);
    std::vector<float> result(ggml_nelements(out));
    EXPECT_EQ(result.size(), (size_t) s.streams * s.rows * H * dk);
    ggml_backend_tensor_get(out, result.data(), 0, ggml_nbytes(out));
    ggml_backend_buffer_free(buf);
    ggml_backend_free(backend);
    ggml_free(ctx);
    return result;
}

double max_abs_diff(const std::vector<float> & a, const std::vector<double> & b) {
    double worst = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs((double) a[i] - b[i]);
        if (!(d <= worst)) worst = d;  // a NaN counts as the worst
    }
    return worst;
}

// Tolerances on |output - reference| (outputs are weighted means of V in [-1, 1]). The tiled
// kernel works in f32 (Q, K, V, scores and accumulator: 5e-7 measured); the one-row kernel rounds
// Q to f16 for its dot products and accumulates V in f16 (3e-3 measured).
constexpr double kTolTiled = 1e-5;
constexpr double kTolOneRow = 1e-2;

// The patch's choice: the tiled kernel once a stream's rows times its query heads per K/V head
// reach 24 (patches/llama.cpp-fa-gqa-tile.patch); a shape that takes it must be at the tiled
// kernel's precision, which the one-row kernel cannot reach, so this also shows the patch applied.
bool takes_tiled_kernel(const FaShape & s) { return s.rows * s.ratio >= 24; }

// The worst differences seen by a test, printed at its end (they show the kernels' precision).
struct Worst {
    double fast = 0.0, one_row = 0.0;
    ~Worst() { std::printf("worst |default - reference| %.3g, |one-row kernel - reference| %.3g\n", fast, one_row); }
};

void check(Worst & worst, const FaShape & s, uint32_t seed, int n_threads = 3) {
    SCOPED_TRACE(s.name() + ", threads " + std::to_string(n_threads));
    const FaInputs in = make_inputs(s, seed);
    const std::vector<double> ref = reference(s, in);
    const std::vector<float> fast = run_ggml(s, in, false, n_threads);
    const std::vector<float> one_row = run_ggml(s, in, true, n_threads);
    const double e_fast = max_abs_diff(fast, ref), e_one_row = max_abs_diff(one_row, ref);
    EXPECT_LE(e_fast, takes_tiled_kernel(s) ? kTolTiled : kTolOneRow);
    EXPECT_LE(e_one_row, kTolOneRow);
    std::vector<double> one_row_d(one_row.begin(), one_row.end());
    EXPECT_LE(max_abs_diff(fast, one_row_d), kTolOneRow);
    worst.fast = std::max(worst.fast, e_fast);
    worst.one_row = std::max(worst.one_row, e_one_row);
}

}  // namespace

// Rows per stream around the tile (64) and the group sizes (7 heads: 9 x 7 = 63, 10 x 7 = 70),
// GQA 1, 2, 7, depths 0, one cell, and past a few KV tiles at non-multiples of 64.
TEST(FlashAttnCpu, MatchesReferenceAcrossRowsRatiosDepths) {
    Worst worst;
    uint32_t seed = 1;
    for (int ratio : {1, 2, 7}) {
        for (int rows : {1, 2, 7, 9, 10, 16, 27, 33, 63, 64, 65, 130}) {
            for (int depth : {0, 1, 100, 1000}) {
                check(worst, {rows, 2, ratio, depth, 2}, seed++);
            }
        }
    }
}

// LeaP's depths (1,000-2,100 cells, past a KV tile boundary) for the feed sizes of a LeaP block,
// eight streams like eight paths, and one stream alone.
TEST(FlashAttnCpu, MatchesReferenceAtFeedDepth) {
    Worst worst;
    uint32_t seed = 100;
    for (int rows : {1, 16, 27, 40, 64, 100}) {
        check(worst, {rows, 2, 7, 2100, 2}, seed++);
    }
    check(worst, {27, 2, 7, 1500, 8}, seed++);
    check(worst, {32, 2, 7, 2047, 1}, seed++);
    check(worst, {5, 2, 7, 1030, 1}, seed++, 1);
    check(worst, {5, 2, 7, 1030, 1}, seed++, 2);
    check(worst, {1, 2, 7, 2100, 1}, seed++);  // one row of one stream: the split-KV path
    check(worst, {1, 2, 7, 2100, 8}, seed++);  // a decode step of eight streams: one-row kernel
}

// Per-head inputs within a grouped tile: each (row, head) pair must use its own head's ALiBi
// slope and sink and its own row's mask row; also a soft cap and head sizes of 128 and 16.
TEST(FlashAttnCpu, PerHeadSlopesSinksSoftcapInGroupedTiles) {
    Worst worst;
    uint32_t seed = 200;
    for (int rows : {3, 10, 27, 70}) {
        FaShape alibi{rows, 2, 7, 300, 2};
        alibi.max_bias = 8.0f;
        check(worst, alibi, seed++);
        FaShape sinks{rows, 2, 7, 300, 2};
        sinks.sinks = true;
        check(worst, sinks, seed++);
        FaShape capped{rows, 1, 4, 200, 3};
        capped.softcap = 30.0f;
        check(worst, capped, seed++);
        FaShape wide{rows, 2, 2, 150, 2};
        wide.dk = 128;
        check(worst, wide, seed++);
        FaShape narrow{rows, 2, 2, 150, 2};  // the tiny test model's head size
        narrow.dk = 16;
        check(worst, narrow, seed++);
    }
}
