#pragma once
// The sampling settings of a run or a request: what every backend draws tokens with (the
// in-process engine builds llama.cpp sampler chains from them, backends/llama/sampling.h; the
// OpenAI backend sends them to the servers, backends/openai/server_api.h).
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

}  // namespace leap
