#include "backends/openai/openai_engine.h"

#include "core/generation.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "backends/llama/model.h"
#include "core/error.h"
#include "core/rng.h"

namespace leap::openai {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

json HttpStats::to_json() const {
    return {{"requests", requests},
            {"attempts_failed", attempts_failed},
            {"follow_ups", follow_ups},
            {"prompt_tokens_sent", prompt_tokens_sent},
            {"server_prompt_evaluated", server_prompt_evaluated},
            {"server_prompt_cached", server_prompt_cached},
            {"server_prompt_reevaluated", server_prompt_reevaluated},
            {"requests_moved", requests_moved},
            {"tokens_received", tokens_received},
            {"tokens_discarded", tokens_discarded},
            {"text_only_answers", text_only_answers},
            {"parser_workarounds", parser_workarounds},
            {"prompt_shares", prompt_shares},
            {"slot_restores", slot_restores},
            {"share_requests", share_requests},
            {"requests_aborted", requests_aborted},
            {"answers_discarded", answers_discarded},
            {"timings",
             {{"seconds_in_requests", seconds_in_requests},
              {"server_generation_ms", server_generation_ms},
              {"server_generated", server_generated}}}};
}

// ---- the request pool: worker threads doing HTTP with retries -----------------------------------

// A completion for a path, or a step of sharing a problem's prompt over llama-server's slots:
// fill one slot with the prompt, save it to a slot file, restore the file into another slot.
enum class OpenAIEngine::JobKind : int { Completion, PromptFill, SlotSave, SlotRestore };

struct OpenAIEngine::Job {
    JobKind kind = JobKind::Completion;
    int slot = 0, path = 0, replica = 0;
    int share = -1, id_slot = -1;  // sharing steps: the share (Slot::shares) and the server slot
    // The problem it is for: an answer whose slot no longer holds that ticket (cancelled, or
    // taken by a newer problem) is discarded.
    Ticket ticket = 0;
    std::atomic<bool> cancel{false};  // its problem was dropped: stop trying
    bool llama_server = false;
    std::string http_path, body;
    long prompt_tokens = 0;
    long fresh = 0;  // prompt tokens the path's previous request had not sent or received
    HttpReply reply;
};

struct OpenAIEngine::Pool {
    Pool(const std::vector<BaseUrl>& urls, const RetryPolicy& policy, const std::string& api_key, int n_threads)
        : urls_(urls), policy_(policy), api_key_(api_key), lenient_(new std::atomic<bool>[urls.size()]) {
        for (size_t i = 0; i < urls_.size(); ++i) lenient_[i] = false;
        conns_.resize(n_threads);
        active_.assign(n_threads, nullptr);
        for (int w = 0; w < n_threads; ++w) {
            conns_[w].resize(urls_.size());
            threads_.emplace_back([this, w] { worker(w); });
        }
    }
    ~Pool() {
        abort_all();
        {
            std::lock_guard<std::mutex> lk(m_);
            quit_ = true;
        }
        stop_connections();
        cv_jobs_.notify_all();
        for (auto& t : threads_) t.join();
    }

    void submit(std::unique_ptr<Job> job) {
        {
            std::lock_guard<std::mutex> lk(m_);
            queue_.push_back(std::move(job));
            ++outstanding_;
        }
        cv_jobs_.notify_one();
    }

    // Answered jobs, waiting at most `seconds` for the first.
    std::vector<std::unique_ptr<Job>> wait(double seconds) {
        std::unique_lock<std::mutex> lk(m_);
        cv_done_.wait_for(lk, std::chrono::duration<double>(seconds), [&] { return !done_.empty(); });
        // A cancelled job's request may have started just after its connection was stopped:
        // stop it again (the job cannot change meanwhile: workers take jobs under m_).
        stop_cancelled_locked();
        std::vector<std::unique_ptr<Job>> out;
        while (!done_.empty()) {
            out.push_back(std::move(done_.front()));
            done_.pop_front();
            --outstanding_;
        }
        return out;
    }

    long outstanding() {
        std::lock_guard<std::mutex> lk(m_);
        return outstanding_;
    }

    // Drops the queued jobs of `ticket` and stops those in progress (their connections are
    // closed, which llama-server and vLLM take as the client going away: they stop generating).
    // Their answers still come back through wait(), marked by their ticket. Returns how many
    // were in progress.
    long cancel_ticket(Ticket ticket) {
        std::lock_guard<std::mutex> lk(m_);
        for (auto it = queue_.begin(); it != queue_.end();) {
            if ((*it)->ticket == ticket) {
                it = queue_.erase(it);
                --outstanding_;
            } else {
                ++it;
            }
        }
        long stopped = 0;
        for (Job* job : active_)
            if (job && job->ticket == ticket) {
                job->cancel = true;
                ++stopped;
            }
        stop_cancelled_locked();
        return stopped;
    }

    // Drops queued jobs, aborts those in progress and waits until every worker is idle.
    void abort_all() {
        {
            std::lock_guard<std::mutex> lk(m_);
            outstanding_ -= (long)queue_.size();
            queue_.clear();
            for (Job* job : active_)
                if (job) job->cancel = true;
        }
        // A request may start just after a stop: keep stopping until every worker is back.
        std::unique_lock<std::mutex> lk(m_);
        for (int i = 0; i < 1200 && outstanding_ != (long)done_.size(); ++i) {
            lk.unlock();
            stop_connections();
            lk.lock();
            cv_done_.wait_for(lk, std::chrono::milliseconds(50), [&] { return outstanding_ == (long)done_.size(); });
        }
        outstanding_ -= (long)done_.size();
        done_.clear();
    }

    std::atomic<long> failed_attempts{0};
    std::atomic<long> parser_workarounds{0};
    // Per server: requests carry the lenient chat parser (see lenient_chat_parser()).
    bool lenient(int replica) const { return lenient_[replica].load(); }
    void set_lenient(int replica) { lenient_[replica] = true; }

private:
    // m_ held: the connections of the jobs in progress that are cancelled.
    void stop_cancelled_locked() {
        std::lock_guard<std::mutex> lk(conn_m_);
        for (size_t w = 0; w < active_.size(); ++w)
            if (active_[w] && active_[w]->cancel && conns_[w][active_[w]->replica]) conns_[w][active_[w]->replica]->stop();
    }

    void stop_connections() {
        std::lock_guard<std::mutex> lk(conn_m_);
        for (auto& per_worker : conns_)
            for (auto& c : per_worker)
                if (c) c->stop();
    }

    void worker(int w) {
        for (;;) {
            std::unique_ptr<Job> job;
            {
                std::unique_lock<std::mutex> lk(m_);
                cv_jobs_.wait(lk, [&] { return quit_ || !queue_.empty(); });
                if (quit_) return;
                job = std::move(queue_.front());
                queue_.pop_front();
                active_[w] = job.get();
            }
            try {
                HttpConnection* conn;
                {
                    std::lock_guard<std::mutex> lk(conn_m_);
                    auto& c = conns_[w][job->replica];
                    if (!c) c = std::make_unique<HttpConnection>(urls_[job->replica], policy_, api_key_);
                    conn = c.get();
                }
                run_job(*conn, *job);
            } catch (const std::exception& e) {
                job->reply = HttpReply();
                job->reply.error = e.what();
            }
            {
                std::lock_guard<std::mutex> lk(m_);
                active_[w] = nullptr;
                done_.push_back(std::move(job));
            }
            cv_done_.notify_all();
        }
    }

    void run_job(HttpConnection& conn, Job& job) {
        job.reply = conn.with_retries(
            job.http_path, job.body, job.cancel, [&](const HttpReply&) { ++failed_attempts; },
            [&](const HttpReply& r, std::string& body) {
                // llama-server's output-parser failure: resend with the lenient parser (server_api.h).
                if (!job.llama_server || !is_output_parser_failure(r.status, r.body) ||
                    body.find("\"chat_parser\"") != std::string::npos || !add_lenient_chat_parser(body))
                    return false;
                lenient_[job.replica] = true;
                ++parser_workarounds;
                return true;
            });
    }

    std::vector<BaseUrl> urls_;
    RetryPolicy policy_;
    std::string api_key_;
    std::mutex m_, conn_m_;
    std::condition_variable cv_jobs_, cv_done_;
    std::deque<std::unique_ptr<Job>> queue_, done_;
    long outstanding_ = 0;  // submitted and not yet returned by wait()
    bool quit_ = false;
    std::vector<Job*> active_;  // guarded by m_: the job each worker is doing (null: idle)
    std::vector<std::thread> threads_;
    std::vector<std::vector<std::unique_ptr<HttpConnection>>> conns_;  // [worker][replica]
    std::unique_ptr<std::atomic<bool>[]> lenient_;
};

// ---- per problem, per path -----------------------------------------------------------------------

struct OpenAIEngine::PathState {
    TokenText seq;
    bool active = false;  // a request is in flight (or being processed)
    Generation gen;       // the request in flight
    int calls = 0;        // completion requests sent for this path
    int requests = 0;     // generation requests started (request_seed numbers them)
    int request_calls = 0;  // completion requests sent for the current generation request
    int aborts = 0;       // SGLang answers "abort" to the current request
    int replica = 0;
    int id_slot = -1;
    int last_replica = -1, last_slot = -1;  // where the previous request went
    bool held = false;    // its first request waits until its server slot holds the shared prompt
    std::vector<Token> server_view;  // the previous request's prompt and the tokens it returned
    double done_at = -1;
    // A new conversation (MoA, reference layout): the rendered prompt this path now continues
    // instead of the problem's shared one.
    bool own_prompt = false;
    std::string own_rendered_text;
    std::vector<Token> own_rendered;
    // The prompt the path's text follows: the problem's shared one, or its own.
    const std::vector<Token>& prompt(const std::vector<Token>& shared) const { return own_prompt ? own_rendered : shared; }
};

struct OpenAIEngine::Slot {
    Ticket ticket = 0;
    std::unique_ptr<ProblemRun> run;
    RunConfig config;               // the problem's own settings (Submission)
    SamplingOptions sampling;
    std::function<void(ProblemRun&, nlohmann::json)> on_done;
    std::function<void(const ProblemRun&, int)> on_request_done;
    std::function<void(const std::string&)> on_error;
    int index = 0;                  // this slot's number in slots_
    // Each path's lane: where its requests go (target()). With one N for every problem, the
    // paths of the k-th problem in flight have lanes kN .. kN+N-1.
    std::vector<int> lanes;
    std::string rendered_text;      // the chat template applied to the user message
    std::vector<Token> rendered;    // its tokens (the prefill's are each path's first tokens)
    std::vector<PathState> paths;
    // A prompt evaluated in `lead_slot` of `replica` and restored into the other slots there.
    struct PromptShare {
        int replica = 0, lead_slot = -1;
        std::vector<int> other_slots;
        std::string file;
    };
    std::vector<PromptShare> shares;
    Clock::time_point t0;
};

OpenAIEngine::OpenAIEngine(const Tokenizer& tokenizer, const OpenAIOptions& opt, const EngineOptions& engine,
                           const RunConfig& config, const PromptSet& prompts)
    : tok_(&tokenizer), opt_(opt), engine_(engine), config_(config), prompts_(prompts) {
    init();
}

OpenAIEngine::OpenAIEngine(const ModelOptions& tokenizer, const OpenAIOptions& opt, const EngineOptions& engine,
                           const RunConfig& config, const PromptSet& prompts)
    : owned_tok_(std::make_unique<GgufTokenizer>(tokenizer)), opt_(opt), engine_(engine), config_(config),
      prompts_(prompts) {
    tok_ = owned_tok_.get();
    init();
}

OpenAIEngine::OpenAIEngine(std::unique_ptr<Tokenizer> tokenizer, const OpenAIOptions& opt, const EngineOptions& engine,
                           const RunConfig& config, const PromptSet& prompts)
    : owned_tok_(std::move(tokenizer)), opt_(opt), engine_(engine), config_(config), prompts_(prompts) {
    tok_ = owned_tok_.get();
    init();
}

OpenAIEngine::~OpenAIEngine() = default;

void OpenAIEngine::init() {
    prompts_ = prompts_.with_model_thinking(tok_->thinking_format());
    // Writing to a connection the server dropped (killed, restarted) raises SIGPIPE, which would
    // end the process; cpp-httplib's client does not block it (its server does the same as here).
    struct sigaction old {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
    config_.validate();
    if (opt_.base_urls.empty()) throw Error("--backend openai needs at least one --base-url");
    if (opt_.max_inflight < 1) throw Error("--max-inflight must be at least 1");
    if (opt_.retry.retries < 0) throw Error("--retries must be >= 0");
    if (!(opt_.retry.timeout_s > 0)) throw Error("--timeout must be positive (seconds)");
    if (engine_.parallel_problems < 1) throw Error("--parallel-problems must be at least 1");
    if (opt_.share_prompt != "auto" && opt_.share_prompt != "on" && opt_.share_prompt != "off")
        throw Error("--share-prompt must be auto, on or off, not '" + opt_.share_prompt + "'");
    for (const std::string& u : opt_.base_urls) urls_.push_back(parse_base_url(u));
    if (!opt_.api_key_env.empty())
        if (const char* key = std::getenv(opt_.api_key_env.c_str()); key != nullptr) api_key_ = key;
    probe_servers();

    // Tokens per path: as the in-process engine computes it, capped by what every server allows.
    const RunConfig& c = config_;
    int per_path = engine_.n_ctx_per_path;
    if (per_path <= 0)
        per_path = (int)(1024L + (long)c.segments * c.segment_tokens +
                         (long)(c.segments - 1) * (c.summary_tokens * (c.router.k + 1) + 24L * c.router.k + 256) +
                         answer_reserve(c) + 64);
    if (engine_.n_ctx_per_path <= 0 && tok_->n_ctx_train() > 0)
        per_path = std::min(per_path, std::max(tok_->n_ctx_train(), 512));  // as in-process
    for (const ServerInfo& s : servers_)
        if (s.n_ctx > 0) per_path = std::min(per_path, s.n_ctx - 2);  // llama-server stops one short of n_ctx
    if (per_path <= answer_reserve(config_) + 64)
        throw Error("context per path (" + std::to_string(per_path) + " tokens; --ctx-size, or what the server allows) "
                    "is too small for an answer budget of " + std::to_string(config_.answer_tokens) + " tokens");
    n_ctx_seq_ = per_path;

    // Every end-of-generation id: a problem may ask for --ignore-eos (a serve request's
    // ignore_eos is not a field, but the server's default is).
    for (Token t = 0; t < tok_->n_vocab(); ++t)
        if (tok_->is_end_of_generation(t)) banned_.push_back(t);

    validate_sampling(engine_.sampling);
    if (opt_.n_lanes < 0) throw Error("the number of paths in flight must not be negative, got " + std::to_string(opt_.n_lanes));
    if (!(opt_.step_wait_s >= 0)) throw Error("internal error: a negative step wait (please report)");
    const int n_lanes = opt_.n_lanes > 0 ? opt_.n_lanes : config_.n_paths * engine_.parallel_problems;
    if (n_lanes < config_.n_paths)
        throw Error(std::to_string(n_lanes) + " paths in flight cannot hold a problem of " + std::to_string(config_.n_paths) +
                    " paths");
    lane_free_.assign(n_lanes, 1);
    defaults_.config = config_;
    defaults_.sampling = engine_.sampling;
    defaults_.parallel_problems = engine_.parallel_problems;
    defaults_.progress_interval_s = opt_.progress_interval_s;
    const int threads = std::min(opt_.max_inflight, n_lanes);
    pool_ = std::make_unique<Pool>(urls_, opt_.retry, api_key_, std::max(1, threads));
    for (int r = 0; r < (int)servers_.size(); ++r)
        if (lenient_parser_from_start(servers_[r])) pool_->set_lenient(r);
    share_ok_.assign(servers_.size(), 1);
    if (opt_.share_prompt == "on")
        for (size_t r = 0; r < servers_.size(); ++r)
            if (servers_[r].kind != ServerKind::LlamaServer || servers_[r].n_slots <= 0)
                throw Error("--share-prompt on: " + urls_[r].text +
                            " is not a llama-server with slots (vLLM and SGLang share prompts through their prefix "
                            "cache; use --share-prompt auto)");
    // Slot files of concurrent leap processes on one server must not collide.
    char tag[32];
    std::snprintf(tag, sizeof tag, "%08x", (unsigned)(std::random_device{}() & 0xffffffffu));
    share_tag_ = std::string("leap-") + std::to_string(::getpid()) + "-" + tag;
}

void OpenAIEngine::probe_servers() {
    const ServerKind requested = parse_server_kind(opt_.server_kind);
    std::atomic<bool> never{false};
    seeds_ignored_.clear();
    for (const BaseUrl& url : urls_) {
        HttpConnection conn(url, opt_.retry, api_key_);
        int attempt = 0;
        auto waiting = [&](const HttpReply& r) {  // a server still starting: say what we wait for
            std::fprintf(stderr, "leap: waiting for %s (%s; attempt %d of %d)\n", url.text.c_str(),
                         r.status == 0 ? r.error.c_str() : ("HTTP " + std::to_string(r.status)).c_str(), ++attempt,
                         opt_.retry.retries + 1);
        };
        auto check = [&](const HttpReply& r, const char* path) {
            if (r.status == 0)
                throw Error("server " + url.text + " does not answer (GET " + path + ": " + r.error + ", " +
                            std::to_string(r.attempts) + " attempts; is it up? --retries, --timeout)");
            if (r.status == 401 || r.status == 403)
                throw Error("server " + url.text + " refused the request (GET " + path + ": HTTP " +
                            std::to_string(r.status) + ", " + server_error_message(r.body) + "); put its API key in $" +
                            (opt_.api_key_env.empty() ? std::string("OPENAI_API_KEY") : opt_.api_key_env) +
                            " (--api-key-env)");
        };
        HttpReply props;
        if (requested != ServerKind::OpenAI) {
            props = conn.with_retries("/props", "", never, waiting);
            check(props, "/props");
        }
        // llama-server answers /v1/models too; vLLM and SGLang give the model name and length there.
        HttpReply models = conn.with_retries("/v1/models", "", never, waiting);
        check(models, "/v1/models");
        ServerInfo info = server_info_from(requested, props.status, props.body, models.status, models.body,
                                           flavor_of_kind(opt_.server_kind));
        if (!opt_.model_name.empty()) info.model = opt_.model_name;
        bool ignored = false;
        if (info.kind == ServerKind::OpenAI && info.flavor == ServerFlavor::Sglang && !opt_.allow_unseeded) {
            // SGLang draws without the request's seed unless it runs deterministic inference: a
            // seeded run there would not be reproducible, which the docs promise. A greedy run
            // does not care; a sampled problem started later is refused (start()).
            const HttpReply si = conn.with_retries("/get_server_info", "", never, waiting);
            const std::optional<bool> seeded = sglang_seeds_honoured(si.status, si.body);
            ignored = !seeded || !*seeded;
            if (ignored && engine_.sampling.temperature > 0)
                throw Error("server " + url.text + " is SGLang" +
                            (seeded ? std::string(" started without --enable-deterministic-inference")
                                    : std::string(" and does not say whether it runs deterministic inference (GET "
                                                  "/get_server_info)")) +
                            ", so it ignores each request's seed and a sampled run is not reproducible: restart it "
                            "with --enable-deterministic-inference, sample greedily (--temp 0), or accept an "
                            "unseeded run with --server-unseeded");
        }
        servers_.push_back(info);
        seeds_ignored_.push_back(ignored ? 1 : 0);
    }
}

int OpenAIEngine::limit_for(const Slot& slot, const PathState& ps) const {
    return ps.gen.req.kind == TokenKind::Answer ? n_ctx_seq_ : n_ctx_seq_ - answer_reserve(slot.config);
}

std::pair<int, int> OpenAIEngine::target(long i) const {
    long total = 0;
    for (const ServerInfo& s : servers_) total += std::max(1, s.n_slots);
    i %= total;
    for (int r = 0; r < (int)servers_.size(); ++r) {
        const long n = std::max(1, servers_[r].n_slots);
        if (i < n) return {r, servers_[r].n_slots > 0 ? (int)i : -1};
        i -= n;
    }
    return {0, -1};
}

std::string OpenAIEngine::describe(const Slot& slot, int path) const {
    const PathState& ps = slot.paths[path];
    return "problem '" + slot.run->problem().id + "' path " + std::to_string(path) + " (" +
           std::string(to_string(ps.gen.req.kind)) + " request " + std::to_string(ps.calls) + ", " +
           std::to_string(ps.prompt(slot.rendered).size() + ps.seq.size()) + " context tokens)";
}

std::shared_ptr<const PreparedPrompt> OpenAIEngine::prepare(const Problem& problem, const RunConfig& config) const {
    // The tokenizer is const and thread-safe (a local GGUF's vocabulary, or the server's
    // /tokenize behind a mutex); the context size is fixed by init().
    return prepare_prompt(*tok_, problem, config, prompts_, {n_ctx_seq_, 0, "--ctx-size, or the server's context"});
}

bool OpenAIEngine::start(Submission sub, Ticket* ticket) {
    sub.config.validate();
    validate_sampling(sub.sampling);
    const int n_paths = sub.config.n_paths;
    if (n_paths > path_capacity())
        throw Error(std::to_string(n_paths) + " paths do not fit in the " + std::to_string(path_capacity()) +
                    " paths this backend keeps in flight");
    if (sub.sampling.temperature > 0)
        for (size_t r = 0; r < servers_.size(); ++r)
            if (seeds_ignored_[r])
                throw Error("server " + urls_[r].text + " is SGLang that ignores each request's seed (started without "
                            "--enable-deterministic-inference), so a sampled problem is not reproducible: sample "
                            "greedily (temperature 0), or restart it with --enable-deterministic-inference");
    if (free_path_capacity() < n_paths) return false;
    // Everything that may throw comes before the problem takes a slot: the engine stays unchanged.
    // Prepared on the submitter's thread (leap serve), or now.
    const std::shared_ptr<const PreparedPrompt> prepared = sub.prepared ? sub.prepared : prepare(sub.problem, sub.config);
    auto run = std::make_unique<ProblemRun>(sub.index, std::move(sub.problem), sub.config, prompts_);
    const std::vector<Token>& prefill = prepared->prefill_tokens;
    const long n_prompt = prepared->n_tokens();

    Slot* free_slot = nullptr;
    for (auto& sp : slots_)
        if (!sp->run) {
            free_slot = sp.get();
            break;
        }
    if (!free_slot) {
        free_slot = slots_.emplace_back(std::make_unique<Slot>()).get();
        free_slot->index = (int)slots_.size() - 1;
    }
    Slot& slot = *free_slot;
    slot.ticket = next_ticket_++;
    if (ticket) *ticket = slot.ticket;
    slot.config = sub.config;
    slot.sampling = sub.sampling;
    slot.on_done = std::move(sub.on_done);
    slot.on_request_done = std::move(sub.on_request_done);
    slot.on_error = std::move(sub.on_error);
    slot.run = std::move(run);
    slot.run->set_prompt_tail(prepared->tail);
    slot.rendered_text = prepared->rendered_text;
    slot.rendered = prepared->rendered;
    slot.run->set_prompt_tokens(n_prompt);
    stats_.prompt_tokens_evaluated += n_prompt;
    stats_.tokens[(size_t)TokenKind::Prompt] += n_prompt;
    // The lowest free lanes: with one N for every problem, a problem gets the lanes of the one it
    // follows, so its paths meet the slots (and prefix caches) that problem used.
    slot.lanes.clear();
    for (int l = 0; l < (int)lane_free_.size() && (int)slot.lanes.size() < n_paths; ++l)
        if (lane_free_[l]) {
            lane_free_[l] = 0;
            slot.lanes.push_back(l);
        }
    slot.paths.clear();
    slot.paths.resize(n_paths);
    slot.shares.clear();
    const int n_rep = (int)servers_.size();
    for (int i = 0; i < n_paths; ++i) {
        PathState& ps = slot.paths[i];
        ps.seq.reset(prefill, slot.run->prefill(), *tok_);
        const int g = slot.lanes[i];
        ps.replica = g % n_rep;
        const int n_slots = servers_[ps.replica].n_slots;
        ps.id_slot = n_slots > 0 ? (g / n_rep) % n_slots : -1;
    }
    slot.t0 = Clock::now();
    std::vector<Token> prompt = slot.rendered;
    prompt.insert(prompt.end(), prefill.begin(), prefill.end());
    plan_prompt_shares(slot, prompt);
    start_requests(slot);
    return true;
}

void OpenAIEngine::release(Slot& slot) {
    for (int l : slot.lanes) lane_free_[l] = 1;
    slot.lanes.clear();
    slot.paths.clear();
    slot.shares.clear();
    slot.on_done = nullptr;
    slot.on_request_done = nullptr;
    slot.on_error = nullptr;
    slot.run.reset();
}

OpenAIEngine::Slot* OpenAIEngine::slot_of(Ticket ticket) const {
    for (const auto& sp : slots_)
        if (sp->run && sp->ticket == ticket) return sp.get();
    return nullptr;
}

bool OpenAIEngine::cancel(Ticket ticket) {
    Slot* slot = slot_of(ticket);
    if (!slot) return false;
    http_.requests_aborted += pool_->cancel_ticket(ticket);
    release(*slot);
    return true;
}

void OpenAIEngine::reset() {
    pool_->abort_all();
    for (auto& sp : slots_)
        if (sp->run) release(*sp);
}

int OpenAIEngine::problems_in_flight() const {
    return (int)std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->run != nullptr; });
}

int OpenAIEngine::free_path_capacity() const { return (int)std::count(lane_free_.begin(), lane_free_.end(), 1); }

const ProblemRun* OpenAIEngine::problem(Ticket ticket) const {
    const Slot* slot = slot_of(ticket);
    return slot ? slot->run.get() : nullptr;
}

std::string_view OpenAIEngine::sampled_so_far(Ticket ticket, int path) const {
    const Slot* slot = slot_of(ticket);
    if (!slot || path < 0 || path >= (int)slot->paths.size() || !slot->paths[path].active) return {};
    return slot->paths[path].gen.text;
}

void OpenAIEngine::start_requests(Slot& slot) {
    for (GenerateRequest& req : slot.run->take_requests()) {
        PathState& ps = slot.paths[req.path];
        int fresh_prompt = 0;
        if (!req.new_conversation.empty()) {
            // A new conversation (MoA, reference layout): the path continues a prompt of its own.
            ps.own_prompt = true;
            ps.own_rendered_text = tok_->render_prompt(req.new_conversation, slot.run->problem().earlier_turns);
            ps.own_rendered = tok_->tokenize(ps.own_rendered_text, true);
            ps.seq.reset({}, "", *tok_);
            fresh_prompt = (int)ps.own_rendered.size();
            stats_.tokens[(size_t)TokenKind::Injected] += fresh_prompt;
        }
        const auto e = ps.seq.edit(req.keep, req.append, *tok_);
        stats_.rolled_back += e.rolled_back;
        stats_.refed += e.refed;
        stats_.tokens[(size_t)req.append_kind] += e.appended;
        ps.gen.start(std::move(req), e.appended + fresh_prompt);
        ps.active = true;
        ++ps.requests;
        ps.request_calls = 0;
        ps.aborts = 0;
        if ((long)(ps.prompt(slot.rendered).size() + ps.seq.size()) >= limit_for(slot, ps))
            finish_request(slot, ps.gen.req.path, StopReason::ContextFull);
        else if (!ps.held)
            send(slot, ps.gen.req.path);
    }
}

// ---- one prompt evaluation per problem on llama-server (--share-prompt) ---------------------------

std::string OpenAIEngine::request_body(int replica, const CompletionCall& call) const {
    const ServerInfo& server = servers_[replica];
    json body = completion_body(server, call);
    if (server.kind == ServerKind::LlamaServer && pool_->lenient(replica)) body["chat_parser"] = lenient_chat_parser();
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool OpenAIEngine::shares_prompt(int replica) const {
    const ServerInfo& s = servers_[replica];
    return opt_.share_prompt != "off" && opt_.slot_affinity && !opt_.text_prompts && share_ok_[replica] &&
           s.kind == ServerKind::LlamaServer && s.n_slots > 0;
}

void OpenAIEngine::plan_prompt_shares(Slot& slot, const std::vector<Token>& prompt) {
    slot.shares.clear();
    for (int r = 0; r < (int)servers_.size(); ++r) {
        if (!shares_prompt(r)) continue;
        Slot::PromptShare share;
        share.replica = r;
        for (const PathState& ps : slot.paths) {
            if (ps.replica != r) continue;
            if (share.lead_slot < 0) share.lead_slot = ps.id_slot;
            else if (ps.id_slot != share.lead_slot &&
                     std::find(share.other_slots.begin(), share.other_slots.end(), ps.id_slot) == share.other_slots.end())
                share.other_slots.push_back(ps.id_slot);
        }
        if (share.other_slots.empty()) continue;  // one slot: nothing to copy
        share.file = share_tag_ + "-p" + std::to_string(slot.index) + "-r" + std::to_string(r) + ".bin";
        for (PathState& ps : slot.paths)
            if (ps.replica == r) ps.held = true;
        slot.shares.push_back(share);
        // The prompt alone (n_predict 0: llama-server evaluates it and keeps it in the slot).
        CompletionCall call;
        call.prompt = prompt;
        call.max_tokens = 0;
        call.sampling = slot.sampling;
        call.id_slot = share.lead_slot;
        submit_share_job(slot, (int)slot.shares.size() - 1, JobKind::PromptFill, share.lead_slot,
                         completion_path(servers_[r]), request_body(r, call));
        http_.prompt_tokens_sent += (long)prompt.size();
    }
}

void OpenAIEngine::submit_share_job(Slot& slot, int share, JobKind kind, int id_slot, std::string http_path,
                                    std::string body) {
    auto job = std::make_unique<Job>();
    job->kind = kind;
    job->slot = slot.index;
    job->share = share;
    job->ticket = slot.ticket;
    job->replica = slot.shares.at(share).replica;
    job->id_slot = id_slot;
    job->llama_server = true;
    job->http_path = std::move(http_path);
    job->body = std::move(body);
    pool_->submit(std::move(job));
}

void OpenAIEngine::release_held(Slot& slot, int replica, int id_slot) {
    for (int i = 0; i < (int)slot.paths.size(); ++i) {
        PathState& ps = slot.paths[i];
        if (!ps.held || ps.replica != replica || (id_slot >= 0 && ps.id_slot != id_slot)) continue;
        ps.held = false;
        if (ps.active) send(slot, i);
    }
}

void OpenAIEngine::on_share_answer(Job& job) {
    Slot& slot = *slots_.at(job.slot);
    if (!slot.run || job.ticket != slot.ticket) {  // its problem is over (finished or cancelled)
        ++http_.answers_discarded;
        return;
    }
    const Slot::PromptShare& share = slot.shares.at(job.share);  // stays: no problem starts in here
    const HttpReply& r = job.reply;
    const std::string url = urls_[share.replica].text;
    ++http_.share_requests;
    http_.seconds_in_requests += r.seconds;
    if (r.status == 200) {
        switch (job.kind) {
            case JobKind::PromptFill:
                try {
                    const CompletionReply reply = parse_completion(servers_[share.replica], r.body);
                    if (reply.prompt_evaluated >= 0) http_.server_prompt_evaluated += reply.prompt_evaluated;
                    if (reply.prompt_cached >= 0) http_.server_prompt_cached += reply.prompt_cached;
                } catch (const std::exception&) {
                }
                submit_share_job(slot, job.share, JobKind::SlotSave, share.lead_slot,
                                 slot_action_path(share.lead_slot, "save"), slot_action_body(share.file).dump());
                return;
            case JobKind::SlotSave:
                ++http_.prompt_shares;
                release_held(slot, share.replica, share.lead_slot);
                for (int id : share.other_slots)
                    submit_share_job(slot, job.share, JobKind::SlotRestore, id, slot_action_path(id, "restore"),
                                     slot_action_body(share.file).dump());
                return;
            case JobKind::SlotRestore:
                ++http_.slot_restores;
                release_held(slot, share.replica, job.id_slot);
                return;
            case JobKind::Completion:
                break;
        }
    }
    // Sharing is an optimisation: when a step fails, the paths waiting for it go ahead and their
    // slots evaluate the prompt themselves (a dead server then fails their requests, with the
    // usual retries and errors).
    if (job.kind == JobKind::SlotSave && is_slot_actions_unsupported(r.status)) {
        if (opt_.share_prompt == "on")
            throw Error("--share-prompt on: " + url + " does not save slots (" + server_error_message(r.body) +
                        "); start llama-server with --slot-save-path DIR, or use --share-prompt auto");
        if (share_ok_[share.replica])  // once per server (problems in flight may all have asked)
            std::fprintf(stderr,
                     "leap: %s was started without --slot-save-path, so each of its slots evaluates a problem's "
                     "prompt itself (start it with --slot-save-path DIR to evaluate the prompt once)\n",
                     url.c_str());
        share_ok_[share.replica] = 0;
    } else if (!share_warned_) {
        share_warned_ = true;
        std::fprintf(stderr, "leap: sharing the prompt of problem '%s' on %s failed at %s (%s); its slots evaluate it themselves\n",
                     slot.run->problem().id.c_str(), url.c_str(), job.http_path.c_str(),
                     r.status == 0 ? r.error.c_str()
                                   : ("HTTP " + std::to_string(r.status) + ": " + server_error_message(r.body)).c_str());
    }
    release_held(slot, share.replica, job.kind == JobKind::SlotRestore ? job.id_slot : -1);
}

void OpenAIEngine::send(Slot& slot, int path) {
    PathState& ps = slot.paths[path];
    const long ctx = (long)(ps.prompt(slot.rendered).size() + ps.seq.size());
    CompletionCall call;
    call.max_tokens = (int)std::min<long>(ps.gen.req.max_tokens - ps.gen.n_sampled, limit_for(slot, ps) - ctx);
    call.stops = ps.gen.req.stops;
    call.sampling = slot.sampling;
    // The request's own seed, as the in-process engine draws it; a request continued by a later
    // call (after a retry) cannot resume the server's generator, so it takes another seed.
    call.seed = request_seed(slot.config.seed, slot.run->index(), path, ps.requests - 1);
    if (ps.request_calls > 0)
        call.seed = (uint32_t)(mix_seed({call.seed, (uint64_t)ps.request_calls}) & 0x7fffffffu);
    ++ps.request_calls;
    int replica = ps.replica;
    call.id_slot = ps.id_slot;
    if (!opt_.slot_affinity) {
        // Request r of path g to target g + r: with at least as many slots as paths, paths in
        // step never share a slot, and a path never lands where its previous request left its
        // context (only the shared prompt is there to reuse).
        std::tie(replica, call.id_slot) = target((long)slot.lanes[path] + ps.calls);
    }
    if (ps.calls > 0 && (replica != ps.last_replica || call.id_slot != ps.last_slot)) ++http_.requests_moved;
    ps.last_replica = replica;
    ps.last_slot = call.id_slot;
    call.text_prompt = opt_.text_prompts;
    call.prompt.reserve(ctx);
    call.prompt = ps.prompt(slot.rendered);
    call.prompt.insert(call.prompt.end(), ps.seq.tokens().begin(), ps.seq.tokens().end());
    if (opt_.text_prompts) call.prompt_text = (ps.own_prompt ? ps.own_rendered_text : slot.rendered_text) + ps.seq.text();
    // What a server keeping this path's context would have to evaluate now.
    const auto diverge = std::mismatch(call.prompt.begin(), call.prompt.end(), ps.server_view.begin(), ps.server_view.end());
    const long fresh = (long)(call.prompt.end() - diverge.first);
    ++ps.calls;
    const ServerInfo& server = servers_[replica];
    auto job = std::make_unique<Job>();
    job->slot = slot.index;
    job->ticket = slot.ticket;
    job->path = path;
    job->replica = replica;
    job->fresh = fresh;
    job->http_path = completion_path(server);
    job->llama_server = server.kind == ServerKind::LlamaServer;
    if (server.kind == ServerKind::OpenAI && slot.sampling.ban_end_of_generation) call.banned = banned_;
    job->body = request_body(replica, call);
    ps.server_view = std::move(call.prompt);
    job->prompt_tokens = ctx;
    http_.prompt_tokens_sent += ctx;
    pool_->submit(std::move(job));
}

void OpenAIEngine::finish_request(Slot& slot, int path, StopReason reason) {
    PathState& ps = slot.paths[path];
    ps.active = false;
    slot.run->complete(path, ps.gen.finish(reason));
    for (int i = 0; i < (int)slot.paths.size(); ++i)
        if (slot.paths[i].done_at < 0 && slot.run->paths()[i].phase == Phase::Done)
            slot.paths[i].done_at = seconds_since(slot.t0);
    if (slot.on_request_done) slot.on_request_done(*slot.run, path);
    start_requests(slot);
}

void OpenAIEngine::on_answer(Job& job) {
    if (job.kind != JobKind::Completion) return on_share_answer(job);
    Slot& slot = *slots_.at(job.slot);
    if (!slot.run || job.ticket != slot.ticket) {
        // Its problem was cancelled (and the slot maybe taken by a newer one): never applied.
        ++http_.answers_discarded;
        return;
    }
    if (job.path >= (int)slot.paths.size() || !slot.paths[job.path].active)
        throw Error("internal error: an answer for a path with no request in flight (please report)");
    PathState& ps = slot.paths[job.path];
    const HttpReply& r = job.reply;
    const std::string where = urls_[job.replica].scheme_host_port + urls_[job.replica].prefix + job.http_path;
    ++http_.requests;
    http_.seconds_in_requests += r.seconds;
    if (r.status == 0)
        throw Error(describe(slot, job.path) + ": no answer from " + where + " after " + std::to_string(r.attempts) +
                    " attempts (" + r.error + "; --retries, --timeout)");
    if (r.status != 200) {
        const std::string hint = server_error_hint(servers_[job.replica], r.status, r.body);
        throw Error(describe(slot, job.path) + ": " + where + " answered HTTP " + std::to_string(r.status) + ": " +
                    server_error_message(r.body) +
                    (retryable(r) ? " (after " + std::to_string(r.attempts) + " attempts)" : std::string()) +
                    (hint.empty() ? std::string() : "; " + hint));
    }
    CompletionReply reply;
    try {
        reply = parse_completion(servers_[job.replica], r.body);
    } catch (const std::exception& e) {
        throw Error(describe(slot, job.path) + ": " + where + ": " + e.what());
    }
    if (reply.prompt_evaluated >= 0) {
        http_.server_prompt_evaluated += reply.prompt_evaluated;
        http_.server_prompt_reevaluated += std::max(0L, reply.prompt_evaluated - job.fresh - 1);
    }
    if (reply.prompt_cached >= 0) http_.server_prompt_cached += reply.prompt_cached;
    if (reply.server_generated > 0 && reply.server_generation_ms >= 0) {
        http_.server_generated += reply.server_generated;
        http_.server_generation_ms += reply.server_generation_ms;
    }

    std::vector<Token> toks;
    if (reply.has_token_ids) {
        toks = std::move(reply.tokens);
    } else {
        // Text only: tokenize it here; a stop string the server cut off is put back.
        ++http_.text_only_answers;
        std::string text = reply.text;
        if (!reply.matched_stop.empty() &&
            (text.size() < reply.matched_stop.size() ||
             text.compare(text.size() - reply.matched_stop.size(), std::string::npos, reply.matched_stop) != 0))
            text += reply.matched_stop;
        toks = tok_->tokenize(text, false);
    }
    http_.tokens_received += (long)toks.size();
    ps.server_view.insert(ps.server_view.end(), toks.begin(), toks.end());

    std::optional<StopReason> reason;
    const int limit = limit_for(slot, ps);
    const int n_vocab = tok_->n_vocab();
    tok_->prefetch(toks);
    size_t used = 0;
    for (Token t : toks) {
        ++used;
        if (t < 0 || t >= n_vocab)
            throw Error(describe(slot, job.path) + ": " + where + " returned token id " + std::to_string(t) +
                        ", outside the " + std::to_string(n_vocab) + "-token vocabulary of " + tok_->describe() +
                        " (does the server run the same model?)");
        ++stats_.sampled;
        if (tok_->is_end_of_generation(t)) {
            if (slot.sampling.ban_end_of_generation)
                // Banned (logit_bias, or llama-server's ignore_eos): a server that still samples it
                // did not apply the ban; writing the token into the text would change the run.
                throw Error(describe(slot, job.path) + ": " + where + " sampled end-of-generation token " +
                            std::to_string(t) + " although --ignore-eos bans it (the server ignored logit_bias)");
            reason = StopReason::EndOfSequence;
            break;
        }
        const std::string piece = tok_->piece(t);
        ps.seq.push_sampled(t, piece);
        ++stats_.tokens[(size_t)ps.gen.req.kind];
        size_t overshoot = 0;
        if (const auto why = ps.gen.add(piece, overshoot)) {
            if (overshoot > 0) {
                // The token ran past the stop string: keep only the part up to it.
                const auto e = ps.seq.edit(ps.seq.text().size() - overshoot, "", *tok_);
                stats_.refed += e.refed;
                stats_.rolled_back += e.rolled_back;
            }
            reason = *why;
            break;
        }
        if ((long)(ps.prompt(slot.rendered).size() + ps.seq.size()) >= limit) {
            slot.run->add_note(job.path, "reached the context size (" + std::to_string(n_ctx_seq_) + " tokens per path)");
            reason = StopReason::ContextFull;
            break;
        }
    }
    http_.tokens_discarded += (long)(toks.size() - used);
    if (!reason && reply.aborted) {
        // SGLang dropped the request (overload, its own timeout): ask again, as for a failed
        // attempt, with what was generated kept.
        if (++ps.aborts > opt_.retry.retries)
            throw Error(describe(slot, job.path) + ": " + where + " aborted the request " + std::to_string(ps.aborts) +
                        " times (finish_reason \"abort\"; its log says why; --retries)");
        ++http_.follow_ups;
        send(slot, job.path);
        return;
    }
    if (!reason) {
        if (reply.eos || (reply.finish == "stop" && (toks.empty() || !reply.has_token_ids))) {
            // The server ended at end-of-generation without sending the token (or sent text only).
            reason = StopReason::EndOfSequence;
        } else if (toks.empty()) {
            slot.run->add_note(job.path, "the server generated nothing (finish_reason '" + reply.finish +
                                             "'): treated as a full context");
            reason = StopReason::ContextFull;
        } else {
            // The server stopped before this engine would (its own stop matching, a length limit):
            // ask for the rest.
            ++http_.follow_ups;
            send(slot, job.path);
            return;
        }
    }
    finish_request(slot, job.path, *reason);
}

json OpenAIEngine::finish_problem(Slot& slot) {
    json paths_s = json::array();
    for (const PathState& ps : slot.paths) paths_s.push_back(ps.done_at);
    slot.paths.clear();
    return {{"wall_s", seconds_since(slot.t0)}, {"paths_done_s", paths_s}};
}

json OpenAIEngine::stats_json() const {
    json j = stats_.to_json();
    json http = http_.to_json();
    json servers = json::array();
    for (size_t i = 0; i < servers_.size(); ++i) {
        json s = servers_[i].to_json();
        s["url"] = urls_[i].text;
        servers.push_back(s);
    }
    j["backend"] = "openai";
    j["http"] = http;
    j["servers"] = servers;
    j["context_per_path"] = n_ctx_seq_;
    return j;
}

bool OpenAIEngine::step() {
    if (problems_in_flight() == 0) return false;
    const auto t0 = Clock::now();
    const bool any_done = std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->run && s->run->done(); });
    if (!any_done) {
        if (pool_->outstanding() == 0)
            throw Error("internal error: unfinished problems but no request in flight (please report)");
        for (auto& job : pool_->wait(opt_.step_wait_s)) {
            try {
                on_answer(*job);
            } catch (const Error& e) {
                // A request that failed for good fails its own problem, where the submission
                // takes its errors (leap serve: that client gets the error, the others go on).
                Slot* slot = slot_of(job->ticket);
                if (!slot || !slot->on_error) throw;
                auto on_error = std::move(slot->on_error);
                cancel(job->ticket);
                on_error(e.what());
            }
        }
        http_.attempts_failed = pool_->failed_attempts.load();
        http_.parser_workarounds = pool_->parser_workarounds.load();
    }
    // Finished problems free their lanes first; callbacks run after the loop, so one may start
    // another problem.
    struct Finished {
        std::function<void(ProblemRun&, nlohmann::json)> on_done;
        std::unique_ptr<ProblemRun> run;
        json timings;
    };
    std::vector<Finished> finished;
    for (auto& sp : slots_) {
        if (!sp->run || !sp->run->done()) continue;
        json timings = finish_problem(*sp);
        finished.push_back({std::move(sp->on_done), std::move(sp->run), std::move(timings)});
        release(*sp);
    }
    stats_.seconds += seconds_since(t0);
    for (Finished& f : finished)
        if (f.on_done) f.on_done(*f.run, std::move(f.timings));
    return true;
}

}  // namespace leap::openai
