#include "server/scheduler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>

#include "core/error.h"
#include "core/rng.h"
#include "server/chat_response.h"
#include "server/shown_reasoning.h"
#include "server/utf8_text.h"

namespace leap::server {

using nlohmann::json;

uint64_t drawn_seed(uint64_t server_seed, uint64_t counter) {
    return mix_seed({server_seed, counter}) & kMaxDrawnSeed;
}

Scheduler::Scheduler(Backend& engine, int queue_capacity) : engine_(engine), capacity_(queue_capacity) {
    if (queue_capacity < 1) throw Error("the request queue must hold at least 1 request");
    refresh_metrics();
    thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(); }

std::shared_ptr<Job> Scheduler::submit(ChatRequest request) {
    auto job = std::make_shared<Job>();
    job->request = std::move(request);
    const auto refuse_if_closed = [&] {
        if (stopping_ || draining_)
            throw ApiError(503, "the server is shutting down and takes no new requests", "", "server_error");
        if ((int)queue_.size() >= capacity_)
            throw ApiError(429, "the queue is full (" + std::to_string(capacity_) + " requests waiting); retry later", "",
                           "rate_limit_error");
    };
    {
        std::lock_guard lock(mu_);
        refuse_if_closed();
    }
    // Rendered and tokenized here, for the request's own connection: tokenizing a large prompt
    // can take seconds, and on the engine thread every request in flight would wait for it. On a
    // thread with the default stack, not the connection's 256 KiB one: a template's macros may
    // nest 256 deep, and some pre-tokenizers run std::regex, which recurses.
    try {
        job->request.config.validate();
        std::exception_ptr failure;
        std::thread([&] {
            try {
                job->prepared = engine_.prepare(job->request.problem, job->request.config);
            } catch (...) {
                failure = std::current_exception();
            }
        }).join();
        if (failure) std::rethrow_exception(failure);
    } catch (const Error& e) {
        throw ApiError(400, e.what());
    }
    std::lock_guard lock(mu_);
    refuse_if_closed();
    queue_.push_back(job);
    metrics_.queued = (int)queue_.size();
    wake_.notify_all();
    return job;
}

void Scheduler::cancel(const std::shared_ptr<Job>& job) {
    job->cancelled = true;
    std::lock_guard lock(mu_);
    wake_.notify_all();
}

MetricsSnapshot Scheduler::metrics() const {
    std::lock_guard lock(mu_);
    return metrics_;
}

void Scheduler::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
        wake_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

void Scheduler::drain() {
    std::lock_guard lock(mu_);
    draining_ = true;
    wake_.notify_all();
}

bool Scheduler::wait_drained(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return drained_cv_.wait_until(lock, deadline, [&] { return drained_ || stopping_; });
}

int Scheduler::retry_after_seconds() const {
    std::lock_guard lock(mu_);
    return (int)std::clamp(std::ceil(mean_request_seconds_), 1.0, 600.0);
}

void Scheduler::finish(const std::shared_ptr<Job>& job, json result) {
    {
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - job->submitted).count();
        std::lock_guard lock(mu_);
        mean_request_seconds_ = mean_request_seconds_ == 0 ? took : 0.8 * mean_request_seconds_ + 0.2 * took;
    }
    std::lock_guard lock(job->mu);
    job->result = std::move(result);
    job->done = true;
    job->cv.notify_all();
}

void Scheduler::fail(const std::shared_ptr<Job>& job, const ApiError& error) {
    std::lock_guard lock(job->mu);
    job->error = std::make_unique<ApiError>(error);
    job->done = true;
    job->cv.notify_all();
}

// Events for what changed in any path since the last report: a segment finished, a block
// (summary + peers' summaries) was passed, a path finished. A block completes for all its
// paths at once, so every path is looked at each time.
void Scheduler::report_progress(const std::shared_ptr<Job>& job, const ProblemRun& run) {
    if (!job->request.stream) return;
    const auto& paths = run.paths();
    job->seen.resize(paths.size());
    std::vector<json> events;
    for (size_t i = 0; i < paths.size(); ++i) {
        const Path& p = paths[i];
        Job::Seen& seen = job->seen[i];
        // The current segment is listed from its start; it is done once the path moved on.
        const size_t segments_done = p.segments.size() - (p.phase == Phase::Segment ? 1 : 0);
        for (; seen.segments < segments_done; ++seen.segments)
            events.push_back({{"event", "segment"}, {"path", i}, {"segment", seen.segments},
                              {"reasoning_tokens", p.tokens[(size_t)TokenKind::Reasoning]}});
        for (; seen.blocks < p.blocks.size() && !p.blocks[seen.blocks].injected.empty(); ++seen.blocks) {
            // "scores" beside "peers", not inside it: clients that read "peers" as indices keep working.
            json peers = json::array(), scores = json::array();
            for (const RouteChoice& c : p.blocks[seen.blocks].peers) {
                peers.push_back(c.peer);
                scores.push_back(c.score);
            }
            events.push_back({{"event", "block"}, {"path", i}, {"block", p.blocks[seen.blocks].block},
                              {"summary", p.blocks[seen.blocks].summary}, {"peers", peers}, {"scores", scores}});
        }
        if (!seen.done && p.phase == Phase::Done) {
            seen.done = true;
            events.push_back({{"event", "path_done"}, {"path", i}, {"finish", to_string(p.finish)}});
        }
    }
    if (events.empty()) return;
    std::lock_guard lock(job->mu);
    for (json& e : events) job->events.push_back(std::move(e));
    job->cv.notify_all();
}

void Scheduler::report_reasoning(const std::shared_ptr<Job>& job, const ProblemRun& run, std::string_view in_flight) {
    if (!job->request.stream) return;
    const std::string settled = settled_reasoning(run, kShownPath, in_flight, engine_.prompts().thinking);
    std::string& sent = job->reasoning_sent;
    if (settled.size() <= sent.size() || settled.compare(0, sent.size(), sent) != 0) {
        if (run.paths().at(kShownPath).phase == Phase::Done && settled != sent)
            std::fprintf(stderr, "serve: warning: the streamed reasoning of path %d differs from its final text\n", kShownPath);
        return;
    }
    json event = {{"event", "reasoning"}, {"path", kShownPath}, {"text", valid_utf8(std::string_view(settled).substr(sent.size()))}};
    sent = settled;
    std::lock_guard lock(job->mu);
    job->events.push_back(std::move(event));
    job->cv.notify_all();
}

void Scheduler::drop_cancelled() {
    for (auto it = running_.begin(); it != running_.end();) {
        if (!it->second->cancelled) {
            ++it;
            continue;
        }
        engine_.cancel(it->first);
        fail(it->second, ApiError(499, "the client closed the connection", "", "cancelled"));
        ++cancelled_;
        it = running_.erase(it);
    }
    std::lock_guard lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
        if ((*it)->cancelled) {
            ++cancelled_;
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
}

// First come, first served: the head of the queue waits until enough sequences are free.
void Scheduler::admit() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::lock_guard lock(mu_);
            if (queue_.empty()) return;
            job = queue_.front();
        }
        // A request's result depends only on the request and its seed, not on what else the
        // server did: every request is problem 0 of its own run. Without a seed, each request
        // gets a new one (from the server's --seed and a counter), reported back to the client.
        if (!job->request.seed_given) {
            job->request.config.seed = drawn_seed(job->request.config.seed, (uint64_t)requests_started_);
            job->request.seed_given = true;
        }
        Submission sub;
        sub.problem = job->request.problem;
        sub.config = job->request.config;
        sub.sampling = job->request.sampling;
        sub.index = 0;
        sub.prepared = job->prepared;
        sub.on_done = [this, job](ProblemRun& run, json) {
            report_progress(job, run);
            report_reasoning(job, run, {});
            finish(job, summarize_run(run, engine_.prompts().thinking));
        };
        sub.on_request_done = [this, job](const ProblemRun& run, int) {
            report_progress(job, run);
            report_reasoning(job, run, {});
        };
        // A server behind the OpenAI backend refused one of this request's requests for good.
        sub.on_error = [this, job](const std::string& error) {
            ++errors_;
            fail(job, ApiError(502, "upstream error: " + error, "", "server_error"));
        };
        Ticket ticket = 0;
        bool started = false;
        try {
            started = engine_.start(std::move(sub), &ticket);
        } catch (const std::exception& e) {
            // leap::Error: the request cannot run here (its prompt does not fit, ...).
            const bool ours = dynamic_cast<const Error*>(&e) != nullptr;
            fail(job, ours ? ApiError(400, e.what()) : ApiError(500, e.what(), "", "server_error"));
            std::lock_guard lock(mu_);
            queue_.pop_front();
            continue;
        }
        if (!started) return;
        {
            std::lock_guard lock(job->mu);
            job->started = true;
            job->cv.notify_all();
        }
        ++requests_started_;
        running_[ticket] = job;
        std::lock_guard lock(mu_);
        queue_.pop_front();
    }
}

// Draining: what waits will not start (503 now, not at the deadline); once nothing runs,
// wait_drained() is told. True when the engine has nothing to step.
bool Scheduler::shed_queue_when_draining() {
    std::deque<std::shared_ptr<Job>> left;
    {
        std::lock_guard lock(mu_);
        if (!draining_) return false;
        left.swap(queue_);
    }
    for (auto& job : left)
        fail(job, ApiError(503, "the server is shutting down; this request had not started", "", "server_error"));
    const bool idle = running_.empty();
    refresh_metrics();
    std::lock_guard lock(mu_);
    if (idle && !drained_) {
        drained_ = true;
        drained_cv_.notify_all();
    }
    return idle;
}

void Scheduler::refresh_metrics() {
    const EngineStats& s = engine_.stats();
    MetricsSnapshot m;
    m.tokens = s.tokens;
    m.sampled = s.sampled;
    m.decode_calls = s.decode_calls;
    m.batch_tokens = s.batch_tokens;
    m.history_reevaluated = s.history_reevaluated;
    m.kv_full_events = s.kv_full_events;
    m.busy_seconds = s.seconds;
    m.running = (int)running_.size();
    m.queue_capacity = capacity_;
    m.sequences_total = engine_.path_capacity();
    m.sequences_reserved = engine_.path_capacity() - engine_.free_path_capacity();
    m.kv = engine_.kv_usage();
    m.jobs_cancelled = cancelled_;
    m.engine_errors = errors_;
    std::lock_guard lock(mu_);
    m.queued = (int)queue_.size();
    metrics_ = m;
}

void Scheduler::loop() {
    for (;;) {
        {
            std::unique_lock lock(mu_);
            wake_.wait(lock, [&] {
                if (stopping_ || !running_.empty()) return true;
                if (draining_ && (!drained_ || !queue_.empty())) return true;
                for (const auto& j : queue_)
                    if (j->cancelled) return true;
                return !queue_.empty() && engine_.free_path_capacity() > 0;
            });
            if (stopping_) break;
        }
        drop_cancelled();
        if (shed_queue_when_draining()) continue;
        admit();
        try {
            engine_.step();
        } catch (const std::exception& e) {
            // The context's state is unknown after a failed decode: fail what runs, start clean.
            ++errors_;
            for (auto& [ticket, job] : running_) fail(job, ApiError(500, std::string("engine error: ") + e.what(), "", "server_error"));
            running_.clear();
            engine_.reset();
        }
        // Streamed jobs show their reasoning as it is sampled.
        for (auto& [ticket, job] : running_)
            if (job->request.stream)
                if (const ProblemRun* run = engine_.problem(ticket))
                    report_reasoning(job, *run, engine_.sampled_so_far(ticket, kShownPath));
        // Jobs whose problem finished in this step are done; forget them.
        for (auto it = running_.begin(); it != running_.end();) {
            bool finished;
            {
                std::lock_guard lock(it->second->mu);
                finished = it->second->done;
            }
            it = finished ? running_.erase(it) : std::next(it);
        }
        refresh_metrics();
    }
    // Shutting down: nothing will run any more.
    for (auto& [ticket, job] : running_) {
        engine_.cancel(ticket);
        fail(job, ApiError(503, "the server shut down before this request finished", "", "server_error"));
    }
    running_.clear();
    std::deque<std::shared_ptr<Job>> left;
    {
        std::lock_guard lock(mu_);
        left.swap(queue_);
    }
    for (auto& job : left)
        fail(job, ApiError(503, "the server is shutting down; this request had not started", "", "server_error"));
    refresh_metrics();
}

}  // namespace leap::server
