#pragma once
// One generation request in progress, as every backend runs it: the text sampled so far, and
// the checks that end it with a token (a stop string, possibly spread over several tokens, or
// the token budget). Backends add their own limits (context size) and end-of-generation.
#include <optional>
#include <string>
#include <vector>

#include "core/problem_run.h"

namespace leap {

struct Generation {
    GenerateRequest req;
    std::string text;    // sampled so far; ends with the stop string when one matched
    int n_sampled = 0;
    int n_appended = 0;  // tokens fed for req.append
    std::vector<float> confidence;  // per sampled token, when the backend computes it

    void start(GenerateRequest r, int appended);
    // Adds a sampled token's text and says whether the request ends with it. On a stop string
    // the text is cut at its end, and `overshoot` is set to the bytes of the token past it,
    // which the caller cuts from the path's tokens too.
    std::optional<StopReason> add(const std::string& piece, size_t& overshoot);
    // The result to report (the text is moved out).
    GenerateResult finish(StopReason reason);
};

}  // namespace leap
