#pragma once
// What a backend offers: problems start while others run (start), advance one round at a time
// (step) and can be dropped (cancel). Two implement it: the in-process llama.cpp engine
// (backends/llama/engine.h) and the client of OpenAI-compatible servers
// (backends/openai/openai_engine.h). run_problems (core/run_problems.h) solves a list of
// problems through it (leap solve, eval, bench); leap serve's scheduler (server/scheduler.h)
// feeds it chat requests. All calls must come from one thread.
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "core/engine_stats.h"
#include "core/problem_run.h"
#include "core/prompts.h"
#include "core/submission.h"

namespace leap {

// What run_problems submits every problem of a list with: the settings the backend was made
// with.
struct RunDefaults {
    RunConfig config;
    SamplingOptions sampling;
    int parallel_problems = 1;          // problems in flight at once (P)
    double progress_interval_s = 1.0;   // on_progress at least this often (0: after every step)
};

// The KV cache's use, which only a backend that holds the cache knows (leap serve's /metrics).
struct KvUsage {
    int sequences_in_use = 0;  // sequences holding cells
    long cells_in_use = 0;     // cells held (a shared prompt counts once per sequence)
    long cells_total = 0;      // cells in the context
};

class Backend {
public:
    using Ticket = leap::Ticket;
    virtual ~Backend() = default;

    // Starts the problem if there is room for its paths (false: try again after a step).
    // Throws leap::Error naming what is impossible (settings, more paths than the backend can
    // hold, a prompt that leaves no room in a path's context); the backend is unchanged then.
    virtual bool start(Submission s, Ticket* ticket = nullptr) = 0;
    // The part of start() that needs no backend state: render the problem's conversation through
    // the chat template and tokenize it, and refuse a prompt that cannot fit a path's context
    // (leap::Error, as start() would). Unlike every other call it may run on any thread while the
    // backend runs: leap serve calls it on the request's connection thread, so a large prompt
    // (tokenizing can take seconds) does not stall the requests in flight. Put the result in
    // Submission::prepared; null where the backend has nothing to prepare.
    virtual std::shared_ptr<const PreparedPrompt> prepare(const Problem& /*problem*/, const RunConfig& /*config*/) const {
        return nullptr;
    }
    // One round of work: the in-process engine decodes and samples; the HTTP backend waits a
    // few milliseconds at most for answers and applies them. Finished problems get their
    // on_done. False when nothing is in flight.
    virtual bool step() = 0;
    // Drops a problem in flight (no on_done), stops its work (on servers too, where they
    // allow it) and frees its room. False if unknown.
    virtual bool cancel(Ticket ticket) = 0;
    // After an error thrown by step(): drops every problem.
    virtual void reset() = 0;
    virtual int problems_in_flight() const = 0;
    // A problem in flight (null when the ticket is unknown or finished), and what its path's
    // request in flight has generated so far ("" when none): leap serve streams a path's
    // reasoning before the run is told the request's result.
    virtual const ProblemRun* problem(Ticket ticket) const = 0;
    virtual std::string_view sampled_so_far(Ticket ticket, int path) const = 0;

    // Paths that can be in flight at once over all problems (in-process: KV sequences), and
    // how many of them are free now.
    virtual int path_capacity() const = 0;
    virtual int free_path_capacity() const = 0;
    virtual int n_ctx_per_path() const = 0;
    // The prompt set with the model's thinking format (what every run here uses).
    virtual const PromptSet& prompts() const = 0;
    virtual const RunDefaults& run_defaults() const = 0;
    // In-process only; nullopt where the cache is on servers.
    virtual std::optional<KvUsage> kv_usage() const { return std::nullopt; }

    virtual const EngineStats& stats() const = 0;
    // The statistics as the trace's "stats" object (a backend may add its own fields).
    virtual nlohmann::json stats_json() const = 0;
};

}  // namespace leap
