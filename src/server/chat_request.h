#pragma once
// A POST /v1/chat/completions body, checked and turned into a problem for the engine.
// Every way a body can be wrong ends in ApiError (status 4xx, an OpenAI-style error object),
// never in a crash: the server parses untrusted input here and nowhere else.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "backends/llama/sampling.h"
#include "core/config.h"
#include "core/problem_run.h"

namespace leap::server {

// An error for the client: HTTP status, OpenAI's error "type", and the offending parameter.
struct ApiError : std::runtime_error {
    int status;
    std::string type;   // invalid_request_error, authentication_error, ...
    std::string param;  // e.g. "leap.paths"; empty when none
    ApiError(int status, std::string message, std::string param = "", std::string type = "invalid_request_error")
        : std::runtime_error(std::move(message)), status(status), type(std::move(type)), param(std::move(param)) {}
    nlohmann::json body() const;  // {"error": {"message", "type", "param", "code"}}
};

// A client's value quoted in an error: at most kShownValueBytes (cut on a UTF-8 boundary, then
// "... (N bytes)"), so a 10 MB field is not sent back whole.
inline constexpr size_t kShownValueBytes = 200;
std::string shown_value(std::string_view value);

// What the server allows and fills in.
struct RequestDefaults {
    RunConfig config;             // the server's flags: method, paths, T, M, ...
    SamplingOptions sampling;
    int max_paths = 16;           // the engine's KV sequences
    int ctx_per_path = 4096;      // tokens per path
};

struct ChatRequest {
    Problem problem;              // the last user message; earlier messages in earlier_turns
    RunConfig config;
    SamplingOptions sampling;
    bool seed_given = false;      // no "seed": the server picks one (reported in leap.config.seed)
    bool stream = false;
    bool include_usage = true;    // streamed: a last chunk with usage (OpenAI's stream_options)
    std::string model;            // as the client named it ("" if absent)
};

// Throws ApiError (400) naming the field. `max_tokens` (or `max_completion_tokens`) is each
// path's reasoning budget: it sets the number of segments (at least 1), capped to what fits in
// a path's context; explicit leap.segments x leap.segment_tokens that cannot fit is an error.
ChatRequest parse_chat_request(const std::string& body, const RequestDefaults& defaults);

}  // namespace leap::server
