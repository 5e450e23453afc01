#include "server/scheduler.h"

#include "core/error.h"
#include "core/rng.h"
#include "server/chat_response.h"

namespace leap::server {

using nlohmann::json;

Scheduler::Scheduler(LlamaEngine& engine, int queue_capacity) : engine_(engine), capacity_(queue_capacity) {
    if (queue_capacity < 1) throw Error("the request queue must hold at least 1 request");
    refresh_metrics();
    thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(); }

std::shared_ptr<Job> Scheduler::submit(ChatRequest request) {
    auto job = std::make_shared<Job>();
    job->request = std::move(request);
    std::lock_guard lock(mu_);
    if (stopping_) throw ApiError(503, "the server is shutting down", "", "server_error");
    if ((int)queue_.size() >= capacity_)
        throw ApiError(429, "the queue is full (" + std::to_string(capacity_) + " requests waiting); retry later", "",
                       "rate_limit_error");
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

void Scheduler::finish(const std::shared_ptr<Job>& job, json result) {
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
            json peers = json::array();
            for (const RouteChoice& c : p.blocks[seen.blocks].peers) peers.push_back(c.peer);
            events.push_back({{"event", "block"}, {"path", i}, {"block", p.blocks[seen.blocks].block},
                              {"summary", p.blocks[seen.blocks].summary}, {"peers", peers}});
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
            job->request.config.seed = mix_seed({job->request.config.seed, (uint64_t)requests_started_});
            job->request.seed_given = true;
        }
        Submission sub;
        sub.problem = job->request.problem;
        sub.config = job->request.config;
        sub.sampling = job->request.sampling;
        sub.index = 0;
        sub.on_done = [this, job](ProblemRun& run, json) { report_progress(job, run); finish(job, summarize_run(run)); };
        sub.on_request_done = [this, job](const ProblemRun& run, int) { report_progress(job, run); };
        LlamaEngine::Ticket ticket = 0;
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
        ++requests_started_;
        running_[ticket] = job;
        std::lock_guard lock(mu_);
        queue_.pop_front();
    }
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
    m.sequences_total = engine_.n_sequences();
    m.sequences_reserved = engine_.n_sequences() - engine_.free_sequences();
    m.sequences_in_use = engine_.sequences_in_use();
    m.cells_in_use = engine_.cells_in_use();
    m.cells_total = (long)llama_n_ctx(engine_.context());
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
                for (const auto& j : queue_)
                    if (j->cancelled) return true;
                return !queue_.empty() && engine_.free_sequences() > 0;
            });
            if (stopping_) break;
        }
        drop_cancelled();
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
        fail(job, ApiError(503, "the server is shutting down", "", "server_error"));
    }
    running_.clear();
    std::deque<std::shared_ptr<Job>> left;
    {
        std::lock_guard lock(mu_);
        left.swap(queue_);
    }
    for (auto& job : left) fail(job, ApiError(503, "the server is shutting down", "", "server_error"));
    refresh_metrics();
}

}  // namespace leap::server
