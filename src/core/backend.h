#pragma once
// What a backend offers the commands: solve problems with the method, report statistics.
// Two implement it: the in-process llama.cpp engine (backends/llama/engine.h) and the HTTP
// client of OpenAI-compatible servers (backends/openai/openai_engine.h). The statistics types
// are the in-process engine's (backends/llama/engine.h), so traces have one schema.
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/problem_run.h"

namespace leap {

struct EngineStats;  // backends/llama/engine.h
struct Progress;     // backends/llama/engine.h

class Backend {
public:
    using DoneFn = std::function<void(ProblemRun& run, nlohmann::json timings)>;
    using ProgressFn = std::function<void(const Progress&)>;
    virtual ~Backend() = default;

    // Solves every problem. indices[i] numbers problem i (seeds depend on it, so a resumed run
    // gives a problem the same number); empty: 0, 1, 2, ...
    virtual void run(const std::vector<Problem>& problems, const std::vector<int>& indices, const DoneFn& on_done,
                     const ProgressFn& on_progress = {}) = 0;
    virtual const EngineStats& stats() const = 0;
    // The statistics as the trace's "stats" object (a backend may add its own fields).
    virtual nlohmann::json stats_json() const = 0;
};

}  // namespace leap
