// leap-feed-bench: the shape of LeaP's text-feeding llama_decode calls, on the llama.cpp C API.
//
// S sequences (a KV stream each, as leap's default, or one unified cache) each already hold D
// tokens of context; one llama_decode then appends P tokens to every one of them (one batch,
// the engine's micro-batch setting, logits for each sequence's last token as the engine asks).
// The feed is timed over several repetitions (median, since the machine is shared) and can be
// counted under callgrind: the feed runs in feed_once() alone, so
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=feed_once ... --reps 1
// counts the feed's instructions and nothing of the model load or the context prefill.
//
// With -D 0 the shape is llama-batched-bench's prompt processing (-npp P -npl S): both print
// tokens/s over the fed tokens. With -P 1 it is a decode step; --spread W puts the sequences at
// depths spread evenly over D - W/2 .. D + W/2 (mean D), as LeaP's paths are after peers'
// summaries of different lengths: the attention then runs over the deepest stream's cells
// (llama.cpp pads n_kv to the maximum over the streams), masked where a stream has none.
#include "llama.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Args {
    std::string model;
    int seqs = 8;          // S
    int depth = 1024;      // D
    int tokens = 64;       // P: appended to each sequence
    int threads = 2;
    int flash_attn = -1;   // -1 auto, 0 off, 1 on
    bool unified = false;  // one KV stream for all sequences (leap's --kv-unified)
    int n_ubatch = 0;      // 0: the engine's default (the whole batch with streams, 512 unified)
    int reps = 5;
    int pad_to = 0;        // pad every sequence's append with throwaway tokens up to this many
    int spread = 0;        // sequences' depths spread over D - spread/2 .. D + spread/2
    bool json = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "%s\nusage: leap-feed-bench -m MODEL [-S seqs] [-D depth] [-P tokens] [-t threads] [-fa on|off|auto]\n"
                 "                       [--kv-unified] [-ub N] [-r reps] [--pad-to N] [--spread W] [--json]\n",
                 why);
    std::exit(2);
}

int to_int(const char* flag, const char* v) {
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (!*v || *end) usage((std::string(flag) + ": not a number: '" + v + "'").c_str());
    return (int)x;
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        auto val = [&]() -> const char* {
            if (i + 1 >= argc) usage((f + " needs a value").c_str());
            return argv[++i];
        };
        if (f == "-m") a.model = val();
        else if (f == "-S") a.seqs = to_int("-S", val());
        else if (f == "-D") a.depth = to_int("-D", val());
        else if (f == "-P") a.tokens = to_int("-P", val());
        else if (f == "-t") a.threads = to_int("-t", val());
        else if (f == "-ub") a.n_ubatch = to_int("-ub", val());
        else if (f == "-r") a.reps = to_int("-r", val());
        else if (f == "--pad-to") a.pad_to = to_int("--pad-to", val());
        else if (f == "--spread") a.spread = to_int("--spread", val());
        else if (f == "--kv-unified") a.unified = true;
        else if (f == "--json") a.json = true;
        else if (f == "-fa") {
            const std::string v = val();
            a.flash_attn = v == "on" ? 1 : v == "off" ? 0 : v == "auto" ? -1 : (usage(("-fa: on, off or auto, got " + v).c_str()), 0);
        } else usage(("unknown option " + f).c_str());
    }
    if (a.model.empty()) usage("-m MODEL is required");
    if (a.seqs < 1 || a.depth < 0 || a.tokens < 1 || a.reps < 1 || a.threads < 1 || a.n_ubatch < 0)
        usage("-S, -P, -r, -t must be >= 1; -D, -ub >= 0");
    if (a.spread < 0 || a.spread / 2 > a.depth) usage("--spread must be between 0 and 2 * D");
    return a;
}

// The measured call, alone in its own function so that callgrind can count just it.
__attribute__((noinline)) int feed_once(llama_context* ctx, llama_batch& batch) {
    const int ret = llama_decode(ctx, batch);
    llama_synchronize(ctx);
    return ret;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);
    llama_log_set([](ggml_log_level level, const char* text, void*) {
        if (level >= GGML_LOG_LEVEL_WARN) std::fputs(text, stderr);
    }, nullptr);
    llama_backend_init();

    llama_model_params mp = llama_model_default_params();
    llama_model* model = llama_model_load_from_file(a.model.c_str(), mp);
    if (!model) { std::fprintf(stderr, "cannot load model '%s'\n", a.model.c_str()); return 1; }
    const llama_vocab* vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    const int height = std::max(a.tokens, a.pad_to);  // rows per sequence in the measured batch
    const int feed_tokens = a.seqs * height;
    // Sequence s's depth: D without --spread, else evenly from D - W/2 to D + W/2 (the last
    // sequence the deepest).
    auto depth_of = [&](int s) {
        if (a.spread == 0 || a.seqs == 1) return a.depth;
        return a.depth - a.spread / 2 + (int)((long)a.spread * s / (a.seqs - 1));
    };
    const int max_depth = depth_of(a.seqs - 1);
    const int per_seq = max_depth + height + 16;
    llama_context_params cp = llama_context_default_params();
    cp.n_seq_max = a.seqs;
    cp.kv_unified = a.unified;
    cp.n_ctx = (uint32_t)per_seq * a.seqs;
    // leap's default logical batch is 2,048 tokens (engine.h), larger where the feed needs it.
    cp.n_batch = (uint32_t)std::max({feed_tokens, max_depth, 2048});
    // leap's rule (engine.cpp): with streams the micro-batch is the whole batch, unified 512.
    cp.n_ubatch = a.n_ubatch > 0 ? (uint32_t)a.n_ubatch : (a.unified ? std::min<uint32_t>(512, cp.n_batch) : cp.n_batch);
    cp.n_threads = a.threads;
    cp.n_threads_batch = a.threads;
    cp.no_perf = true;
    cp.flash_attn_type = (llama_flash_attn_type)a.flash_attn;
    llama_context* ctx = llama_init_from_model(model, cp);
    if (!ctx) { std::fprintf(stderr, "cannot create a context of %u cells\n", cp.n_ctx); return 1; }
    llama_memory_t mem = llama_get_memory(ctx);

    std::mt19937 rng(1234);
    std::uniform_int_distribution<int> tok(0, n_vocab - 1);
    llama_batch batch = llama_batch_init((int)cp.n_batch, 0, 1);
    auto add = [&](llama_token t, llama_pos pos, llama_seq_id seq, bool logits) {
        const int i = batch.n_tokens++;
        batch.token[i] = t;
        batch.pos[i] = pos;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = seq;
        batch.logits[i] = logits;
    };

    // Context: D tokens in sequence 0, copied to the others (leap shares its prompt this way;
    // only the number of cells matters for the cost of what follows).
    // With --spread, the deepest prompt is decoded, copied, and each copy cut to its depth.
    if (max_depth > 0) {
        batch.n_tokens = 0;
        for (int p = 0; p < max_depth; ++p) add(tok(rng), p, 0, p + 1 == max_depth);
        if (llama_decode(ctx, batch) != 0) { std::fprintf(stderr, "prefill failed\n"); return 1; }
        for (int s = 1; s < a.seqs; ++s) llama_memory_seq_cp(mem, 0, s, -1, -1);
        for (int s = 0; s < a.seqs; ++s) llama_memory_seq_rm(mem, s, depth_of(s), -1);
    }

    // The feed: P tokens per sequence, laid out in sequence order (as the engine does).
    std::vector<llama_token> text((size_t)a.seqs * height);
    for (auto& t : text) t = tok(rng);
    std::vector<double> secs;
    for (int r = 0; r < a.reps; ++r) {
        batch.n_tokens = 0;
        for (int s = 0; s < a.seqs; ++s)
            for (int j = 0; j < height; ++j)
                add(text[(size_t)s * height + j], depth_of(s) + j, s, j + 1 == a.tokens);
        const auto t0 = std::chrono::steady_clock::now();
        const int ret = feed_once(ctx, batch);
        secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (ret != 0) { std::fprintf(stderr, "llama_decode failed with status %d\n", ret); return 1; }
        for (int s = 0; s < a.seqs; ++s) llama_memory_seq_rm(mem, s, depth_of(s), -1);
    }

    const double med = median(secs);
    const double best = *std::min_element(secs.begin(), secs.end());
    const long real = (long)a.seqs * a.tokens;
    if (a.json) {
        std::printf("{\"S\":%d,\"D\":%d,\"P\":%d,\"pad_to\":%d,\"fa\":%d,\"unified\":%s,\"n_ubatch\":%u,\"threads\":%d,"
                    "\"reps\":%d,\"median_s\":%.6f,\"min_s\":%.6f,\"tokens_per_s\":%.2f,\"spread\":%d}\n",
                    a.seqs, a.depth, a.tokens, a.pad_to, a.flash_attn, a.unified ? "true" : "false", cp.n_ubatch, a.threads,
                    a.reps, med, best, real / med, a.spread);
    } else {
        const std::string spread = a.spread ? " spread " + std::to_string(a.spread) : "";
        const std::string pad = a.pad_to > a.tokens ? " pad-to " + std::to_string(a.pad_to) : "";
        std::printf("S %d  D %d%s  P %d%s  fa %s  %s  ub %u  t %d: median %.4f s (min %.4f, %d reps)  %.1f t/s\n", a.seqs,
                    a.depth, spread.c_str(), a.tokens, pad.c_str(),
                    a.flash_attn == 1 ? "on" : a.flash_attn == 0 ? "off" : "auto", a.unified ? "unified" : "streams",
                    cp.n_ubatch, a.threads, med, best, a.reps, real / med);
    }
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
