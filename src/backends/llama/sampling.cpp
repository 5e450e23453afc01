#include "backends/llama/sampling.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"

namespace leap {

namespace {
// The candidates' order, best first: higher logit, then lower id. Both lists below use it, so a
// draw from the device's cut sees the same list as one from the whole vocabulary.
bool ranks_before(const llama_token_data& a, const llama_token_data& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
}  // namespace

SamplerPtr make_sampler(const SamplingOptions& opt, const llama_vocab* vocab, uint64_t seed) {
    llama_sampler_chain_params cp = llama_sampler_chain_default_params();
    cp.no_perf = true;
    llama_sampler* chain = llama_sampler_chain_init(cp);
    if (opt.ban_end_of_generation) {
        std::vector<llama_logit_bias> bias;
        const int n_vocab = llama_vocab_n_tokens(vocab);
        for (llama_token t = 0; t < n_vocab; ++t)
            if (llama_vocab_is_eog(vocab, t)) bias.push_back({t, -INFINITY});
        llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(n_vocab, (int32_t)bias.size(), bias.data()));
    }
    if (opt.temperature <= 0.0f) {
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
        return SamplerPtr(chain);
    }
    // Reference: the temperature first, then the cuts on the tempered distribution (vLLM,
    // SGLang); Llama: llama.cpp's order, the cuts first. top-k keeps the same tokens either way
    // (the temperature does not reorder them), so the host's top-k pre-cut stays valid.
    const bool temp_first = opt.order == SamplerOrder::Reference;
    if (temp_first) llama_sampler_chain_add(chain, llama_sampler_init_temp(opt.temperature));
    if (opt.top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(opt.top_k));
    if (opt.top_p < 1.0f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(opt.top_p, 1));
    if (opt.min_p > 0.0f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(opt.min_p, 1));
    if (!temp_first) llama_sampler_chain_add(chain, llama_sampler_init_temp(opt.temperature));
    llama_sampler_chain_add(chain, llama_sampler_init_dist((uint32_t)(seed ^ (seed >> 32))));
    return SamplerPtr(chain);
}

int candidates_needed(const SamplingOptions& opt, int n_vocab) {
    if (opt.temperature <= 0.0f) return 1;
    if (opt.top_k > 0 && opt.top_k < n_vocab) return opt.top_k;
    return 0;
}

void top_candidates(const float* logits, int n_vocab, int k, const std::vector<char>* banned,
                    std::vector<llama_token_data>& out) {
    // A heap of the best k so far with the worst on top (ranks_before as its "less"): most tokens
    // lose one comparison against its top.
    out.clear();
    out.reserve(k);
    for (llama_token t = 0; t < n_vocab; ++t) {
        if (banned && (*banned)[t]) continue;
        const float l = logits[t];
        if ((int)out.size() < k) {
            out.push_back({t, l, 0.0f});
            std::push_heap(out.begin(), out.end(), ranks_before);
        } else if (l > out.front().logit) {
            std::pop_heap(out.begin(), out.end(), ranks_before);
            out.back() = {t, l, 0.0f};
            std::push_heap(out.begin(), out.end(), ranks_before);
        }
    }
    std::sort_heap(out.begin(), out.end(), ranks_before);  // best first
}

void device_candidates(const llama_token* ids, const float* logits, int n, int k, const std::vector<char>* banned,
                       std::vector<llama_token_data>& out) {
    out.clear();
    for (int i = 0; i < n; ++i)
        if (!banned || !(*banned)[ids[i]]) out.push_back({ids[i], logits[i], 0.0f});
    std::sort(out.begin(), out.end(), ranks_before);
    if ((int)out.size() > k) out.resize(k);
}

}  // namespace leap
