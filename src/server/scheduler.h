#pragma once
// Feeds chat requests to a backend (core/backend.h: the in-process engine, or the OpenAI
// backend in front of servers) from HTTP threads. One engine thread owns the backend (neither
// is thread-safe; llama.cpp's context is not): it admits queued jobs when enough of the
// backend's paths are free, steps it, hands results and progress events back to the waiting
// HTTP threads, and cancels the jobs whose clients went away (on the servers too).
#include <array>
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/backend.h"
#include "server/chat_request.h"

namespace leap::server {

// The seed of a request that sent none (or -1): from the server's --seed and a counter, below
// 2^53 so that a JavaScript client (whose numbers are doubles) can send it back unchanged.
inline constexpr uint64_t kMaxDrawnSeed = (uint64_t(1) << 53) - 1;
uint64_t drawn_seed(uint64_t server_seed, uint64_t counter);

// One request's life, shared by its HTTP thread and the engine thread.
struct Job {
    ChatRequest request;
    // Its prompt, rendered and tokenized by submit() on the request's thread (Backend::prepare).
    std::shared_ptr<const PreparedPrompt> prepared;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<nlohmann::json> events;  // progress events not yet sent (streaming)
    bool done = false;
    bool started = false;               // the engine took it (its prompt fits); streams start then
    std::unique_ptr<ApiError> error;    // done with an error
    nlohmann::json result;              // done: answers, vote, usage (see chat_response.h)
    std::atomic<bool> cancelled{false};
    std::chrono::steady_clock::time_point submitted = std::chrono::steady_clock::now();
    // Engine thread only: what was already reported of each path.
    struct Seen { size_t segments = 0, blocks = 0; bool done = false; };
    std::vector<Seen> seen;
    std::string reasoning_sent;  // the shown path's reasoning streamed so far (raw bytes)
};

// Figures for /metrics, refreshed by the engine thread after every step.
struct MetricsSnapshot {
    std::array<long, (size_t)TokenKind::Count> tokens{};
    long sampled = 0, decode_calls = 0, batch_tokens = 0, history_reevaluated = 0, kv_full_events = 0;
    double busy_seconds = 0;
    int running = 0, queued = 0, queue_capacity = 0;
    int sequences_total = 0, sequences_reserved = 0;  // paths in flight at once: all, held
    std::optional<KvUsage> kv;  // in-process only
    long jobs_cancelled = 0, engine_errors = 0;
};

class Scheduler {
public:
    Scheduler(Backend& engine, int queue_capacity);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Queues a request. Throws ApiError 429 when the queue is full, 503 when shutting down,
    // 400 when the engine cannot run it (e.g. a prompt that leaves no room in the context).
    std::shared_ptr<Job> submit(ChatRequest request);
    // The client went away: the engine drops the job and frees its KV cells at its next step.
    void cancel(const std::shared_ptr<Job>& job);
    MetricsSnapshot metrics() const;
    // For a 429's Retry-After: about how long a request takes from submission to its answer
    // (a running mean over finished requests), in whole seconds, 1 to 600; 1 before any finished.
    int retry_after_seconds() const;
    // Shutting down, first step: new requests and those still queued get 503; running ones
    // go on. wait_drained() returns true once none runs, false at the deadline.
    void drain();
    bool wait_drained(std::chrono::steady_clock::time_point deadline);
    // Fails every queued and running job (503) and stops the engine thread.
    void stop();

private:
    void loop();
    void admit();
    void drop_cancelled();
    bool shed_queue_when_draining();
    void refresh_metrics();
    void finish(const std::shared_ptr<Job>& job, nlohmann::json result);
    void fail(const std::shared_ptr<Job>& job, const ApiError& error);
    void report_progress(const std::shared_ptr<Job>& job, const ProblemRun& run);
    // Streams what became final of the shown path's reasoning (`in_flight`: its request's
    // tokens so far).
    void report_reasoning(const std::shared_ptr<Job>& job, const ProblemRun& run, std::string_view in_flight);

    Backend& engine_;
    const int capacity_;
    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool stopping_ = false;
    bool draining_ = false, drained_ = false;
    std::condition_variable drained_cv_;
    // Engine thread only.
    std::map<Ticket, std::shared_ptr<Job>> running_;
    long requests_started_ = 0;
    MetricsSnapshot metrics_;  // guarded by mu_
    long cancelled_ = 0, errors_ = 0;
    double mean_request_seconds_ = 0;  // guarded by mu_; 0 until a request finished
    std::thread thread_;
};

}  // namespace leap::server
