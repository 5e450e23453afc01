#include "cli/adaptive_flags.h"

#include "core/early_exit.h"
#include "core/error.h"

namespace leap::cli {

void AdaptiveFlags::add_to(CLI::App* app, RunConfig& run) {
    app->add_flag("--confidence", run.confidence.record,
                  "experimental: record each path's token confidence (DeepConf) in the trace, per segment "
                  "(docs/adaptive.md); implied by --prune-share and the confident routers");
    app->add_option("--confidence-top-k", run.confidence.top_k,
                    "experimental: k of the token confidence, the mean -log p of the k most likely tokens")
        ->capture_default_str();
    app->add_option("--confidence-window", run.confidence.window,
                    "experimental: tokens per group confidence (a sliding window over a path's reasoning)")
        ->capture_default_str();
    app->add_option("--early-exit-quorum", run.early_exit_quorum,
                    "experimental: stop a problem once K of its paths have finished with answers the grader finds "
                    "equivalent; the others stop (0: off)")
        ->capture_default_str();
    app->add_option("--prune-share", run.prune_share,
                    "experimental: at each block, stop this share of the paths there with the lowest confidence "
                    "(0: off; at least one path runs on)")
        ->capture_default_str();
    app->add_option("--prune-at", prune_at,
                    "experimental, with --prune-share: before (pruned paths stop without summarizing) | after (they "
                    "summarize, hear their peers, then answer at once)")
        ->check(CLI::IsMember({"before", "after"}))
        ->capture_default_str();
}

void AdaptiveFlags::resolve(RunConfig& c) const { c.prune_at = parse_prune_at(prune_at); }

void add_adaptive_json(const RunConfig& c, nlohmann::json& j) {
    if (c.needs_confidence())
        j["confidence"] = {{"record", c.confidence.record},
                           {"top_k", c.confidence.top_k},
                           {"window", c.confidence.window}};
    if (c.early_exit_quorum > 0) j["early_exit_quorum"] = c.early_exit_quorum;
    if (c.prune_share > 0) {
        j["prune_share"] = c.prune_share;
        j["prune_at"] = to_string(c.prune_at);
    }
}

void refuse_confidence_remote(const RunConfig& c) {
    if (!c.needs_confidence()) return;
    throw Error("--backend openai: --confidence, --prune-share and the confident routers need each sampled token's "
                "top log-probabilities, which leap's OpenAI backend does not request (llama-server would give them "
                "with \"n_probs\", vLLM and SGLang with \"logprobs\"/\"top_logprobs\"); run them in-process "
                "(--backend llama). --early-exit-quorum works with either backend");
}

}  // namespace leap::cli
