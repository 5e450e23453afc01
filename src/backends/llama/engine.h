#pragma once
// The in-process llama.cpp backend: one llama_context holds every path of every problem in
// flight, one sequence per path. Each step is one llama_decode over all paths that have work:
// sampled tokens, prompt chunks, injected text, of any problem. Problems run P at a time
// (--parallel-problems) so paths waiting at one problem's block don't leave the batch empty.
// It is fed while it runs (core/backend.h): start() admits a problem with its own method
// settings when enough sequences are free, step() does one decode-and-sample round, cancel()
// drops a problem and frees its KV cells. All calls must come from one thread.
#include <llama.h>

#include <array>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "backends/llama/model.h"
#include "backends/llama/sampling.h"
#include "core/backend.h"
#include "core/problem_run.h"

namespace leap {

struct EngineOptions {
    int n_ctx_per_path = 0;    // tokens per path; 0 = enough for the run's budgets
    int n_batch = 2048;        // most tokens per llama_decode
    // Physical batch; 0: the whole batch with a KV stream per path (each stream then gets enough
    // rows of a prefill for ggml's tiled flash attention: docs/performance.md), 512 unified.
    int n_ubatch = 0;
    int threads = 0;           // 0 = all hardware threads
    bool kv_unified = false;   // false: one KV stream per path (measured faster, docs/kv-layout.md)
    int kv_size = 0;           // unified only: total cells shared by all paths (0: paths x per-path context)
    int parallel_problems = 1; // P
    int n_sequences = 0;       // KV sequences (paths in flight at once); 0: paths x P
    int flash_attn = -1;       // -1 auto, 0 off, 1 on (llama_flash_attn_type)
    std::string cache_type_k = "f16";  // KV cache types, as llama.cpp's -ctk/-ctv: f32, f16, bf16, q8_0, ...
    std::string cache_type_v = "f16";
    SamplingOptions sampling;
    // llama.cpp's backend sampling (experimental there): each step's top-k of every path runs on
    // the model's device and only those candidates come back, not the whole vocabulary's logits.
    // The draw stays on the host with the same chain, so the tokens are the same as without. Needs
    // top-k sampling (or greedy) with k at most `sampling`'s; on a CPU it only costs time.
    bool backend_sampling = false;
    // Tokens of the longest prompt the run will feed (prompt_tokens below; 0: unknown). With
    // n_ctx_per_path 0 the context per path is sized from it (at least 1,024) plus the budgets,
    // capped by the model's own context, so no problem of the run meets a context sized for
    // shorter prompts.
    int longest_prompt = 0;

    // Throws leap::Error naming the setting (by llama.cpp's flag names) for values llama.cpp
    // would abort on (GGML_ASSERT) or take without a word: what does not depend on the model
    // or the number of sequences. The engine's constructor checks the rest before it makes a
    // context (a batch that holds a token of every sequence, a unified cache that holds one
    // path's answer).
    void validate() const;
};

// The most CPU threads leap accepts: 4x the hardware threads (at least 16), never above 512.
// More only adds scheduling overhead (-t 10000 ran on for minutes).
int max_threads();

// Tokens of `problem`'s prompt as the engine feeds it (the rendered chat prompt plus the
// method's prefill), without a context: what EngineOptions::longest_prompt is made of.
int prompt_tokens(const LlamaModel& model, const PromptSet& prompts, const RunConfig& config, const Problem& problem);

// Once per process, on stderr: the model's chat template shows no thinking section, so the
// prompt set's marker is used (not with --end-of-thinking).
void warn_if_no_thinking(const LlamaModel& model, const PromptSet& prompts);

class LlamaEngine : public Backend {
public:
    // Creates the context for opt.n_sequences sequences (default `config.n_paths` x
    // `opt.parallel_problems`); `config` is what run_problems() solves with (run_defaults()).
    LlamaEngine(const LlamaModel& model, const EngineOptions& opt, const RunConfig& config,
                const PromptSet& prompts);
    ~LlamaEngine();

    // Starts the problem if enough sequences are free (false: try again after a step).
    // Throws leap::Error naming what is impossible (settings, more paths than sequences, a
    // prompt that leaves no room in a path's context); the engine is unchanged then.
    bool start(Submission s, Ticket* ticket = nullptr) override;
    // Renders and tokenizes the problem's prompt (any thread; see Backend::prepare).
    std::shared_ptr<const PreparedPrompt> prepare(const Problem& problem, const RunConfig& config) const override;
    // One round: decode everything pending, sample every path that can; finished problems get
    // their on_done. False when nothing is in flight.
    bool step() override;
    // Drops a problem in flight (no on_done) and frees its sequences. False if unknown.
    bool cancel(Ticket ticket) override;
    // After an error thrown by step(): drops every problem and clears the KV cache.
    void reset() override;
    int problems_in_flight() const override;
    const ProblemRun* problem(Ticket ticket) const override;
    std::string_view sampled_so_far(Ticket ticket, int path) const override;
    const PromptSet& prompts() const override { return prompts_; }
    const RunDefaults& run_defaults() const override { return defaults_; }
    int path_capacity() const override { return n_sequences(); }
    int free_path_capacity() const override { return free_sequences(); }
    std::optional<KvUsage> kv_usage() const override;

    const EngineStats& stats() const override { return stats_; }
    nlohmann::json stats_json() const override { return stats_.to_json(); }
    int n_ctx_per_path() const override { return n_ctx_seq_; }
    // The longest prompt (prompt_tokens) a problem of the run's config may have: it leaves room
    // for a forced answer in a path's context. start() refuses longer ones.
    int prompt_limit() const;
    int n_sequences() const { return (int)seq_free_.size(); }
    int free_sequences() const;
    // Sequences that still hold cells in the KV cache (0 after a run).
    int sequences_in_use() const;
    // KV cells held by all sequences (a shared prompt counts once per sequence).
    long cells_in_use() const;
    llama_context* context() const { return ctx_; }

private:
    struct Slot;
    struct PathState;
    void release(Slot& slot);
    void start_requests(Slot& slot);
    void begin_request(Slot& slot, GenerateRequest req, int appended);
    void finish_request(Slot& slot, int path, StopReason reason);
    void share_prompt_if_done(Slot& slot);
    void finish_construction(int n_seq, int per_path, int threads);  // the constructor's part after the context
    void attach_device_samplers(int n_seq);
    void sample_all();
    void accept_token(Slot& slot, int path, llama_token t);
    bool build_and_decode();
    nlohmann::json finish_problem(Slot& slot);

    const LlamaModel& model_;
    EngineOptions opt_;
    RunConfig config_;
    PromptSet prompts_;  // with the thinking format of the model's chat template
    RunDefaults defaults_;
    llama_context* ctx_ = nullptr;
    llama_memory_t mem_ = nullptr;
    llama_batch batch_{};
    int n_ctx_seq_ = 0;
    size_t max_piece_bytes_ = 1;  // the vocabulary's longest token text (bounds a prompt's tokens)
    int sampling_threads_ = 1;
    // Backend sampling: the device's chain per sequence (a top-k), kept alive for the context;
    // empty when off. device_k_max_: the largest k a submission may ask for.
    std::vector<SamplerPtr> device_samplers_;
    int device_k_max_ = 0;
    std::vector<std::unique_ptr<Slot>> slots_;  // a slot is free when it has no run
    std::vector<char> seq_free_;
    std::vector<char> eog_;  // end-of-generation tokens (banned with --ignore-eos)
    Ticket next_ticket_ = 1;
    EngineStats stats_;
};

}  // namespace leap
