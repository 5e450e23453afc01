#pragma once
// One problem handed to a running backend (Backend::start): the problem with its own method and
// sampling settings, and who to tell when it is done. leap serve builds one per chat request;
// run_problems (core/run_problems.h) one per problem of a list.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/prepared_prompt.h"
#include "core/problem_run.h"
#include "core/sampling_options.h"

namespace leap {

// Names a problem in flight (Backend::start hands it out; never reused by one backend).
using Ticket = uint64_t;

struct Submission {
    Problem problem;
    RunConfig config;           // its own method settings (validated by start())
    SamplingOptions sampling;   // its own sampling settings
    int index = 0;              // seeds depend on it
    std::function<void(ProblemRun& run, nlohmann::json timings)> on_done;
    // After each finished generation request of a path (segment, summary, answer...).
    std::function<void(const ProblemRun& run, int path)> on_request_done;
    // A failure of this problem alone (a server's final refusal of one of its requests): the
    // problem is dropped and this is told why, instead of step() throwing. Empty: step() throws.
    // The in-process engine's failures are the whole batch's: it always throws.
    std::function<void(const std::string& error)> on_error;
    // From Backend::prepare(problem, config), or empty: start() prepares it then.
    std::shared_ptr<const PreparedPrompt> prepared;
};

}  // namespace leap
