#pragma once
// What a backend did, in one schema for both backends (the trace's "stats", leap serve's
// /metrics): tokens by kind, time, and the in-process engine's decode figures (an HTTP backend
// leaves those at 0 and reports its own beside them). Progress: what a run reports while it goes.
#include <array>
#include <nlohmann/json.hpp>

#include "core/path.h"

namespace leap {

struct EngineStats {
    std::array<long, (size_t)TokenKind::Count> tokens{};  // decoded tokens by kind
    long prompt_tokens_evaluated = 0;  // shared prompts, once per problem
    long refed = 0;                    // kept parts of cut tokens, fed again after a trim
    long rolled_back = 0;              // tokens removed from the KV cache by trims/fixes
    long history_reevaluated = 0;      // tokens fed at a position the cache already held (must be 0)
    long decode_calls = 0;
    long batch_tokens = 0;             // sum of batch sizes (padding included)
    long padding = 0;                  // throwaway tokens that made a batch split evenly (batch_plan.h)
    long kv_full_events = 0;           // llama_decode found no KV slot (the batch was shrunk)
    long sampled = 0;
    double seconds = 0;
    double decode_seconds = 0;         // inside llama_decode (and the wait for its logits)
    double sample_seconds = 0;         // drawing tokens from the logits
    long device_cut_draws = 0;         // draws from candidates the device cut (--backend-sampling)
    // Tokens fed one at a time (a path's sampled token going back in) and the sum of their
    // positions: the mean context depth each decode step attended over (leap bench matches
    // llama-batched-bench's depth to it).
    long step_tokens = 0;
    double step_depth_sum = 0;
    // The llama_decode calls that fed text of more than one token to some sequence (a prompt,
    // an injected block, a re-feed): how many, their time, and their tokens (padding included).
    long append_calls = 0;
    double append_seconds = 0;
    long append_call_tokens = 0;
    double mean_batch() const { return decode_calls ? (double)batch_tokens / decode_calls : 0.0; }
    double mean_step_depth() const { return step_tokens ? step_depth_sum / step_tokens : 0.0; }
    nlohmann::json to_json() const;
};

struct Progress {
    int problems_done = 0, problems_total = 0;
    long tokens_sampled = 0;
    double seconds = 0;
};

}  // namespace leap
