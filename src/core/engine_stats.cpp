#include "core/engine_stats.h"

namespace leap {

nlohmann::json EngineStats::to_json() const {
    nlohmann::json by_kind = nlohmann::json::object();
    for (size_t k = 0; k < (size_t)TokenKind::Count; ++k) by_kind[std::string(to_string((TokenKind)k))] = tokens[k];
    return {{"tokens", by_kind},
            {"prompt_tokens_evaluated", prompt_tokens_evaluated},
            {"refed", refed},
            {"rolled_back", rolled_back},
            {"history_reevaluated", history_reevaluated},
            {"decode_calls", decode_calls},
            {"padding", padding},
            {"mean_batch", mean_batch()},
            {"kv_full_events", kv_full_events},
            {"sampled", sampled},
            {"device_cut_draws", device_cut_draws},
            {"mean_step_depth", mean_step_depth()},
            {"append_calls", append_calls},
            {"append_call_tokens", append_call_tokens},
            {"timings",
             {{"seconds", seconds},
              {"decode_seconds", decode_seconds},
              {"sample_seconds", sample_seconds},
              {"append_seconds", append_seconds},
              {"sampled_per_s", seconds > 0 ? sampled / seconds : 0.0}}}};
}

}  // namespace leap
