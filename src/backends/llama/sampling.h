#pragma once
// Per-path sampler chains. Each path owns its chain and its random stream, seeded from
// (seed, problem, path), so what a path samples does not depend on which other paths share
// the batch (up to the floating-point effects of batching, see docs/determinism.md).
#include <llama.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace leap {

// The order of the sampler chain. Reference: the paper's runs (vLLM; SGLang computes the same
// cuts): the logits are divided by the temperature first, then top-k, top-p and min-p cut the
// tempered distribution. Llama: llama.cpp's default order, cuts first and the temperature last
// (at temperature 0.6, min-p 0.05 then keeps tokens down to 0.05 of the best one's probability
// instead of about 0.17: a wider set). docs/method.md.
enum class SamplerOrder { Reference, Llama };
SamplerOrder parse_sampler_order(std::string_view s);  // "reference" | "llama"; throws leap::Error
std::string_view to_string(SamplerOrder o);
// llama-server's "samplers" list for the order (the chain make_sampler builds).
std::vector<std::string> sampler_names(SamplerOrder o);

struct SamplingOptions {
    float temperature = 0.6f;  // <= 0: greedy
    int top_k = 40;            // <= 0: off
    float top_p = 0.95f;       // >= 1: off
    float min_p = 0.05f;       // <= 0: off
    bool ban_end_of_generation = false;  // benchmarks: fixed lengths
    SamplerOrder order = SamplerOrder::Reference;
};

// Throws leap::Error naming the setting (llama.cpp's flag names: --temp, --top-p, --min-p) when
// a value is not a number or outside what the setting means: the temperature must be finite
// (<= 0 is greedy), top-p and min-p in [0, 1]. llama.cpp's samplers take such values without a
// word and sample from a distribution nobody asked for.
void validate_sampling(const SamplingOptions& opt);

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
