#pragma once
// The confidence-aware options' flags (docs/adaptive.md), shared by every subcommand that runs
// the method; experimental, all off by default.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.h"

namespace leap::cli {

struct AdaptiveFlags {
    std::string prune_at = "before";
    void add_to(CLI::App* app, RunConfig& run);
    void resolve(RunConfig& c) const;  // --prune-at into the config
};

// The options in the run's settings JSON, only when one is set (so earlier runs keep their identity).
void add_adaptive_json(const RunConfig& c, nlohmann::json& j);

// --backend openai: the token confidence needs each step's top log-probabilities, which the
// OpenAI backend does not ask servers for; throws leap::Error naming the options.
void refuse_confidence_remote(const RunConfig& c);

}  // namespace leap::cli
