#pragma once
// The in-process llama.cpp backend: one llama_context holds every path of every problem in
// flight, one sequence per path. Each step is one llama_decode over all paths that have work:
// sampled tokens, prompt chunks, injected text, of any problem. Problems run P at a time
// (--parallel-problems) so paths waiting at one problem's block don't leave the batch empty.
#include <llama.h>

#include <array>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "backends/llama/model.h"
#include "backends/llama/sampling.h"
#include "core/backend.h"
#include "core/problem_run.h"

namespace leap {

struct EngineOptions {
    int n_ctx_per_path = 0;    // tokens per path; 0 = enough for the run's budgets
    int n_batch = 2048;        // most tokens per llama_decode
    int n_ubatch = 512;
    int threads = 0;           // 0 = all hardware threads
    bool kv_unified = false;   // false: one KV stream per path (measured faster, docs/kv-layout.md)
    int kv_size = 0;           // unified only: total cells shared by all paths (0: paths x per-path context)
    int parallel_problems = 1; // P
    int flash_attn = -1;       // -1 auto, 0 off, 1 on (llama_flash_attn_type)
    SamplingOptions sampling;
};

struct EngineStats {
    std::array<long, (size_t)TokenKind::Count> tokens{};  // decoded tokens by kind
    long prompt_tokens_evaluated = 0;  // shared prompts, once per problem
    long refed = 0;                    // kept parts of cut tokens, fed again after a trim
    long rolled_back = 0;              // tokens removed from the KV cache by trims/fixes
    long history_reevaluated = 0;      // tokens fed at a position the cache already held (must be 0)
    long decode_calls = 0;
    long batch_tokens = 0;             // sum of batch sizes
    long kv_full_events = 0;           // llama_decode found no KV slot (the batch was shrunk)
    long sampled = 0;
    double seconds = 0;
    nlohmann::json to_json() const;
};

struct Progress {
    int problems_done = 0, problems_total = 0;
    long tokens_sampled = 0;
    double seconds = 0;
};

class LlamaEngine : public Backend {
public:
    // Creates the context for `config.n_paths` x `opt.parallel_problems` sequences.
    LlamaEngine(const LlamaModel& model, const EngineOptions& opt, const RunConfig& config,
                const PromptSet& prompts);
    ~LlamaEngine();

    using DoneFn = std::function<void(ProblemRun& run, nlohmann::json timings)>;
    using ProgressFn = std::function<void(const Progress&)>;
    // Solves every problem. indices[i] numbers problem i (seeds depend on it, so a resumed run
    // gives a problem the same number); empty: 0, 1, 2, ...
    void run(const std::vector<Problem>& problems, const std::vector<int>& indices, const DoneFn& on_done,
             const ProgressFn& on_progress = {}) override;

    const EngineStats& stats() const override { return stats_; }
    nlohmann::json stats_json() const override { return stats_.to_json(); }
    int n_ctx_per_path() const { return n_ctx_seq_; }
    // Sequences that still hold cells in the KV cache (0 after a run).
    int sequences_in_use() const;
    llama_context* context() const { return ctx_; }

private:
    struct Slot;
    struct PathState;
    void start_problem(Slot& slot, const Problem& problem, int index);
    void start_requests(Slot& slot);
    void finish_request(Slot& slot, int path, StopReason reason);
    void share_prompt_if_done(Slot& slot);
    void sample_all();
    void accept_token(Slot& slot, int path, llama_token t);
    bool build_and_decode();
    nlohmann::json finish_problem(Slot& slot);

    const LlamaModel& model_;
    EngineOptions opt_;
    RunConfig config_;
    const PromptSet& prompts_;
    llama_context* ctx_ = nullptr;
    llama_memory_t mem_ = nullptr;
    llama_batch batch_{};
    int n_ctx_seq_ = 0;
    int sampling_threads_ = 1;
    std::vector<std::unique_ptr<Slot>> slots_;
    EngineStats stats_;
};

}  // namespace leap
