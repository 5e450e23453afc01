#include "core/sampling_options.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.h"

namespace leap {

SamplerOrder parse_sampler_order(std::string_view s) {
    if (s == "reference") return SamplerOrder::Reference;
    if (s == "llama") return SamplerOrder::Llama;
    throw Error("unknown sampler order '" + std::string(s) + "' (choose reference or llama)");
}

std::string_view to_string(SamplerOrder o) { return o == SamplerOrder::Llama ? "llama" : "reference"; }

std::vector<std::string> sampler_names(SamplerOrder o) {
    if (o == SamplerOrder::Llama) return {"top_k", "top_p", "min_p", "temperature"};
    return {"temperature", "top_k", "top_p", "min_p"};
}

void validate_sampling(const SamplingOptions& opt) {
    auto number = [](float v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", (double)v);
        return std::string(buf);
    };
    if (!std::isfinite(opt.temperature))
        throw Error("sampling temperature (--temp) must be a finite number (0 or less: greedy), got " +
                    number(opt.temperature));
    if (!(opt.top_p >= 0.0f && opt.top_p <= 1.0f))
        throw Error("top-p (--top-p) must be between 0 and 1 (1: off), got " + number(opt.top_p));
    if (!(opt.min_p >= 0.0f && opt.min_p <= 1.0f))
        throw Error("min-p (--min-p) must be between 0 and 1 (0: off), got " + number(opt.min_p));
}

}  // namespace leap
