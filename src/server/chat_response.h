#pragma once
// A finished problem as the body of a chat completion: the winning vote's answer as the
// assistant message, usage over all paths, and a "leap" object with every path and the vote.
// Also the progress events a streamed request receives while its paths run.
#include <nlohmann/json.hpp>
#include <string>

#include "core/problem_run.h"
#include "core/thinking.h"

namespace leap::server {

// {"answer", "reasoning", "finish_reason", "usage", "leap"}: the parts every response shape uses.
// The answer is the winning vote's; the reasoning is the shown path's (shown_reasoning.h), split
// from its answer by the model's thinking format.
nlohmann::json summarize_run(const ProblemRun& run, const ThinkingFormat& format);

// The non-streamed response.
nlohmann::json completion_body(const nlohmann::json& summary, const std::string& id, long created,
                               const std::string& model);
// Streamed: one chunk ("chat.completion.chunk"); `delta`/`finish_reason` null when absent,
// `choices` empty when both are.
nlohmann::json completion_chunk(const std::string& id, long created, const std::string& model,
                                const nlohmann::json& delta, const nlohmann::json& finish_reason);

}  // namespace leap::server
