#pragma once
// The LeaP method against OpenAI-compatible servers (vLLM, SGLang, llama-server): the path past
// one machine. Each generation request of a ProblemRun becomes one HTTP completion request
// carrying the path's whole context as token ids (the rendered prompt, the prefill, the path's
// text, tokenized here exactly as the in-process engine tokenizes it), and the generated token
// ids come back. Stop strings, end-of-generation, budgets and context limits are applied here,
// token by token, as the in-process engine applies them, so servers that stop differently give
// the same result (a server that stops early gets a follow-up request for the rest).
//
// A path always goes to the same server (and, on llama-server, the same slot), so the server's
// prefix cache holds its context and only the new tokens are evaluated. On llama-server, whose
// slots do not share a cache, a problem's prompt is evaluated once in one slot and copied into the
// slots of its other paths through a slot file (--share-prompt; needs the server's
// --slot-save-path), as the in-process engine evaluates it once and copies it. Many requests are in
// flight at once (--max-inflight); connection errors, timeouts, 408, 429 and 5xx (but 501) are retried
// with exponential backoff; any other 4xx stops the run with an error naming the request.
//
// It is fed while it runs (core/backend.h), as the in-process engine is: start() admits a
// problem with its own method and sampling settings when enough of its lanes (paths in flight,
// each a (server, slot) target) are free, step() waits a few milliseconds at most for answers
// and applies them, cancel() drops a problem and closes the connections of its requests in
// flight (llama-server and vLLM stop a request whose client went away); an answer that comes
// for a cancelled problem, or for a slot a newer problem took, is discarded, never applied.
// See docs/openai-backend.md.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "backends/llama/engine.h"
#include "core/token_text.h"
#include "backends/openai/http.h"
#include "backends/openai/server_api.h"
#include "backends/openai/tokenizer.h"
#include "core/backend.h"

namespace leap::openai {

struct OpenAIOptions {
    std::vector<std::string> base_urls;  // one per replica; paths are spread over them
    std::string server_kind = "auto";    // auto | llama-server | openai (vllm, sglang)
    std::string model_name;              // "model" to send; empty: the server's first (/v1/models)
    std::string api_key_env = "OPENAI_API_KEY";  // sent as "Authorization: Bearer" when set
    int max_inflight = 64;               // requests in flight at once, over all replicas
    RetryPolicy retry;                   // timeouts, retries, backoff
    bool text_prompts = false;           // send the context as text instead of token ids (fallback)
    // false: no affinity, the reference implementation's access pattern (for benchmarks): request r
    // of path g goes to (replica, slot) number (g + r) mod (all of them), so a path's requests
    // rotate over the slots and the server's prefix cache holds little beyond the shared prompt.
    bool slot_affinity = true;
    double progress_interval_s = 1.0;    // on_progress at least this often (0: after every answer)
    // llama-server: evaluate each problem's prompt in one slot, save it to a slot file and restore
    // it into the slots of the problem's other paths before their first requests. auto: on the
    // servers that allow it (started with --slot-save-path); on: a server that does not is an
    // error; off: every slot evaluates the prompt itself.
    std::string share_prompt = "auto";
    // SGLang without --enable-deterministic-inference ignores seeds: refused unless this is set.
    bool allow_unseeded = false;
    // Paths in flight at once over all problems (lanes; leap serve's --kv-sequences); 0: the
    // run's paths x --parallel-problems.
    int n_lanes = 0;
    // The longest step() waits for an answer: short, so a server's loop stays responsive.
    double step_wait_s = 0.005;
};

// What the HTTP side did (in the trace's stats under "http").
struct HttpStats {
    long requests = 0;              // completion requests answered
    long attempts_failed = 0;       // attempts retried (no answer, 408, 429, 5xx)
    long follow_ups = 0;            // requests continuing a generation the server stopped early
    long prompt_tokens_sent = 0;    // context tokens sent, over all requests
    long server_prompt_evaluated = 0;  // of them, evaluated by the server (when it reports it)
    long server_prompt_cached = 0;     // of them, taken from its prefix cache (when it reports it)
    // Of the evaluated: tokens the path's previous request had already sent or received, i.e. what
    // a server keeping the path's context would not evaluate again (one token per request is
    // allowed: llama-server re-evaluates the last one). 0 with affinity; most of the context without.
    long server_prompt_reevaluated = 0;
    long requests_moved = 0;        // requests sent to another (server, slot) than the path's previous one
    long tokens_received = 0;       // generated ids received
    long tokens_discarded = 0;      // received past a stop string, budget or end (not used)
    long text_only_answers = 0;     // answers without token ids (text re-tokenized here)
    long parser_workarounds = 0;    // llama-server output-parser failures worked around (server_api.h)
    long prompt_shares = 0;         // prompts evaluated once and saved for a problem's other slots
    long slot_restores = 0;         // slots given a saved prompt
    long share_requests = 0;        // requests made for that (prompt fill, save, restore)
    long requests_aborted = 0;      // requests in progress stopped because their problem was cancelled
    long answers_discarded = 0;     // answers that came for a cancelled problem (never applied)
    double seconds_in_requests = 0; // summed over requests (they overlap)
    // llama-server's own generation time and tokens, summed over the requests that report them:
    // their ratio is the server's time per step while generating (compare the in-process step).
    double server_generation_ms = 0;
    long server_generated = 0;
    nlohmann::json to_json() const;
};

class OpenAIEngine : public Backend {
public:
    // With a tokenizer owned by the caller (e.g. a loaded model's vocabulary).
    OpenAIEngine(const Tokenizer& tokenizer, const OpenAIOptions& opt, const EngineOptions& engine,
                 const RunConfig& config, const PromptSet& prompts);
    // Loads the tokenizer (vocabulary and chat template only) from a GGUF.
    OpenAIEngine(const ModelOptions& tokenizer, const OpenAIOptions& opt, const EngineOptions& engine,
                 const RunConfig& config, const PromptSet& prompts);
    // Takes a tokenizer (e.g. a ServerTokenizer).
    OpenAIEngine(std::unique_ptr<Tokenizer> tokenizer, const OpenAIOptions& opt, const EngineOptions& engine,
                 const RunConfig& config, const PromptSet& prompts);
    ~OpenAIEngine() override;

    bool start(Submission s, Ticket* ticket = nullptr) override;
    // Renders and tokenizes the problem's prompt (any thread; see Backend::prepare).
    std::shared_ptr<const PreparedPrompt> prepare(const Problem& problem, const RunConfig& config) const override;
    bool step() override;
    bool cancel(Ticket ticket) override;
    void reset() override;
    int problems_in_flight() const override;
    const ProblemRun* problem(Ticket ticket) const override;
    std::string_view sampled_so_far(Ticket ticket, int path) const override;
    int path_capacity() const override { return (int)lane_free_.size(); }
    int free_path_capacity() const override;
    int n_ctx_per_path() const override { return n_ctx_seq_; }
    const PromptSet& prompts() const override { return prompts_; }
    const RunDefaults& run_defaults() const override { return defaults_; }
    const EngineStats& stats() const override { return stats_; }
    nlohmann::json stats_json() const override;
    const HttpStats& http_stats() const { return http_; }

    const std::vector<ServerInfo>& servers() const { return servers_; }
    const Tokenizer& tokenizer() const { return *tok_; }

private:
    struct Slot;
    struct PathState;
    struct Pool;
    struct Job;
    enum class JobKind : int;
    void init();
    void probe_servers();
    void release(Slot& slot);
    Slot* slot_of(Ticket ticket) const;
    void start_requests(Slot& slot);
    void finish_request(Slot& slot, int path, StopReason reason);
    void send(Slot& slot, int path);
    std::string request_body(int replica, const CompletionCall& call) const;  // JSON, lenient parser added
    void on_answer(Job& job);
    void plan_prompt_shares(Slot& slot, const std::vector<Token>& prompt);
    void submit_share_job(Slot& slot, int share, JobKind kind, int id_slot, std::string http_path, std::string body);
    void on_share_answer(Job& job);
    void release_held(Slot& slot, int replica, int id_slot);  // send what waited for a slot's prompt
    bool shares_prompt(int replica) const;
    int limit_for(const Slot& slot, const PathState& ps) const;
    std::pair<int, int> target(long i) const;  // (replica, id_slot) number i of every server slot
    std::string describe(const Slot& slot, int path) const;
    nlohmann::json finish_problem(Slot& slot);

    std::unique_ptr<Tokenizer> owned_tok_;
    const Tokenizer* tok_ = nullptr;
    OpenAIOptions opt_;
    EngineOptions engine_;
    RunConfig config_;
    PromptSet prompts_;  // with the thinking format of the tokenizer's chat template (init())
    RunDefaults defaults_;
    std::vector<BaseUrl> urls_;
    std::vector<ServerInfo> servers_;
    std::vector<Token> banned_;  // every end-of-generation id (--ignore-eos: logit_bias on vLLM/SGLang)
    std::vector<char> seeds_ignored_;  // per server: SGLang that ignores seeds (sampled requests refused)
    std::string api_key_;
    int n_ctx_seq_ = 0;
    std::vector<std::unique_ptr<Slot>> slots_;  // a slot is free when it has no run
    std::vector<char> lane_free_;
    Ticket next_ticket_ = 1;
    std::unique_ptr<Pool> pool_;
    EngineStats stats_;
    HttpStats http_;
    std::vector<char> share_ok_;   // per replica: may still try --share-prompt
    std::string share_tag_;        // names this process's slot files
    bool share_warned_ = false;
};

}  // namespace leap::openai
