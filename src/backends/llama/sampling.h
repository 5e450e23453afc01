#pragma once
// Per-path sampler chains (the settings they are made from: core/sampling_options.h). Each path owns its chain and its random stream, seeded from
// (seed, problem, path), so what a path samples does not depend on which other paths share
// the batch (up to the floating-point effects of batching, see docs/determinism.md).
#include <llama.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/sampling_options.h"

namespace leap {

struct SamplerDeleter {
    void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

SamplerPtr make_sampler(const SamplingOptions& opt, const llama_vocab* vocab, uint64_t seed);

// How many candidates the chain of `opt` can ever keep: top-k when it truncates, 1 for greedy,
// else 0 (all).
int candidates_needed(const SamplingOptions& opt, int n_vocab);

// The k highest logits as the chain's candidates, highest first (ties: lower id first), skipping
// tokens with banned[t] != 0 (may be null). A chain that starts by keeping the top k (or takes
// the maximum) gives the same token from these as from the whole vocabulary, and the step's
// host cost drops from sorting the vocabulary to one pass over it.
void top_candidates(const float* logits, int n_vocab, int k, const std::vector<char>* banned,
                    std::vector<llama_token_data>& out);

// The same list from candidates the device already cut (backend sampling: n ids with their
// logits, in any order): banned ones dropped, ordered as top_candidates orders, the first k
// kept. Equal to top_candidates over the whole vocabulary when the device kept at least k plus
// the number of banned tokens.
void device_candidates(const llama_token* ids, const float* logits, int n, int k, const std::vector<char>* banned,
                       std::vector<llama_token_data>& out);

}  // namespace leap
