#include "server/server.h"

// llama.cpp's vendored cpp-httplib with a source checkout; the system's with an install.
#if __has_include(<cpp-httplib/httplib.h>)
#include <cpp-httplib/httplib.h>
#else
#include <httplib.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "server/chat_response.h"
#include "server/connection_threads.h"
#include "server/shown_reasoning.h"
#include "viewer/page.h"

namespace leap::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// cpp-httplib learned to tell a handler that its client left in 0.15; older copies can't.
template <class R>
auto client_gone(const R& req, int) -> decltype(req.is_connection_closed(), bool()) {
    return req.is_connection_closed();
}
template <class R>
bool client_gone(const R&, long) {
    return false;
}

long unix_time() {
    return (long)std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Invalid UTF-8 (a random model's byte tokens, a hostile body quoted in an error) is replaced,
// never an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    res.set_content(dump(e.body()), "application/json");
}

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }

// Constant-time comparison, so the key cannot be guessed byte by byte from response times.
bool same_key(const std::string& a, const std::string& b) {
    unsigned diff = a.size() ^ b.size();
    for (size_t i = 0; i < a.size(); ++i) diff |= (unsigned char)a[i] ^ (unsigned char)(i < b.size() ? b[i] : 0);
    return diff == 0;
}

}  // namespace

namespace {

// Connections served at once (each on its own thread), within the descriptor limit.
size_t connection_cap(const ServerOptions& opt, std::string* note = nullptr) {
    if (opt.http_threads < 0) throw Error("--http-threads must be 0 (the default: " + std::to_string(kDefaultMaxConnections) + " connections) or more");
    return connections_within_descriptor_limit(opt.http_threads > 0 ? (size_t)opt.http_threads : kDefaultMaxConnections, note);
}

}  // namespace

void check_connection_settings(const ServerOptions& opt) {
    connection_cap(opt);
    if (opt.io_timeout_s < 1 || opt.io_timeout_s > 3600)
        throw Error("--timeout " + std::to_string(opt.io_timeout_s) + " is out of range: 1 to 3600 seconds");
    if (!(opt.stop_timeout_s >= 0 && opt.stop_timeout_s <= 3600))
        throw Error("--stop-timeout must be between 0 and 3600 seconds");
}

LeapServer::LeapServer(Backend& engine, RequestDefaults defaults, ServerOptions opt)
    : engine_(engine), defaults_(std::move(defaults)), opt_(std::move(opt)), http_(std::make_unique<httplib::Server>()) {
    if (opt_.queue_capacity < 1) throw Error("--queue-size must be at least 1");
    if (opt_.port < 0 || opt_.port > 65535) throw Error("--port " + std::to_string(opt_.port) + " is not a TCP port");
    check_connection_settings(opt_);
    // The server's own settings must make a valid request, or every request would fail.
    try {
        parse_chat_request(R"({"messages":[{"role":"user","content":"1+1"}]})", defaults_);
    } catch (const ApiError& e) {
        throw Error(std::string("the server's defaults cannot run: ") + e.what());
    }
    scheduler_ = std::make_unique<Scheduler>(engine_, opt_.queue_capacity);
    trimmer_ = std::make_unique<IdleTrimmer>();
    // Each connection on a thread of its own (server/connection_threads.h), so idle and slow
    // sockets cannot take the threads /health and new requests need. Chat requests still
    // queue for the engine in the scheduler (429 beyond --queue-size).
    std::string note;
    const size_t connections = connection_cap(opt_, &note);
    if (!note.empty()) std::fprintf(stderr, "serve: %s\n", note.c_str());
    http_->new_task_queue = [connections] { return make_connection_threads(connections).release(); };
    http_->set_payload_max_length(opt_.max_body_bytes);
    http_->set_read_timeout(opt_.io_timeout_s, 0);
    http_->set_write_timeout(opt_.io_timeout_s, 0);
    http_->set_keep_alive_timeout(opt_.keep_alive_timeout_s);
    http_->set_keep_alive_max_count(100);
    // httplib's default sets SO_REUSEPORT, which lets a second server bind a port one already
    // listens on (the kernel then splits the connections between them). SO_REUSEADDR alone
    // only lets a restarted server take its port back from connections in TIME_WAIT; a port
    // that is really in use is refused, as llama-server refuses it.
    http_->set_socket_options([](auto sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof(yes));
    });
    routes();
}

LeapServer::~LeapServer() {
    stop();
    scheduler_->stop();
    trimmer_.reset();
}

void LeapServer::bind() {
    errno = 0;
    port_ = opt_.port == 0 ? http_->bind_to_any_port(opt_.host) : (http_->bind_to_port(opt_.host, opt_.port) ? opt_.port : -1);
    if (port_ >= 0) return;
    const int why = errno;
    const std::string where = opt_.host + ":" + std::to_string(opt_.port);
    if (why == EADDRINUSE) throw Error("cannot listen on " + where + ": port " + std::to_string(opt_.port) + " is already in use (another server?)");
    throw Error("cannot listen on " + where + (why ? std::string(": ") + std::strerror(why) : std::string(" (wrong address?)")));
}

void LeapServer::listen() {
    if (port_ <= 0) bind();
    http_->listen_after_bind();
}

void LeapServer::stop() {
    if (http_->is_running()) http_->stop();
}

void LeapServer::shutdown() {
    scheduler_->drain();
    const auto deadline = Clock::now() + std::chrono::milliseconds((long)(opt_.stop_timeout_s * 1000));
    if (!scheduler_->wait_drained(deadline))
        std::fprintf(stderr, "serve: requests still running after --stop-timeout %g s get 503\n", opt_.stop_timeout_s);
    scheduler_->stop();
    stop();
}

void LeapServer::count(const std::string& path, int status) {
    // Known endpoints by name; everything else as one label, so hostile paths can't grow the map.
    static const char* known[] = {"/v1/chat/completions", "/chat/completions", "/v1/models", "/models", "/health", "/metrics"};
    std::string endpoint = "other";
    for (const char* k : known)
        if (path == k) endpoint = k;
    std::lock_guard lock(count_mu_);
    ++requests_by_status_[{endpoint, status}];
}

std::string LeapServer::metrics_text() const {
    const MetricsSnapshot m = scheduler_->metrics();
    std::ostringstream o;
    auto header = [&](const char* name, const char* type, const char* help) {
        o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    };
    auto one = [&](const char* name, const char* type, const char* help, double value) {
        header(name, type, help);
        o << name << ' ' << value << '\n';
    };
    header("leap_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
    {
        std::lock_guard lock(count_mu_);
        for (const auto& [key, n] : requests_by_status_)
            o << "leap_requests_total{endpoint=\"" << key.first << "\",code=\"" << key.second << "\"} " << n << '\n';
    }
    header("leap_tokens_total", "counter", "Tokens decoded, by kind (prompt: shared prompts, evaluated once).");
    for (size_t k = 0; k < (size_t)TokenKind::Count; ++k)
        o << "leap_tokens_total{kind=\"" << to_string((TokenKind)k) << "\"} " << m.tokens[k] << '\n';
    const double occupancy = m.sequences_total ? (double)m.sequences_reserved / m.sequences_total : 0.0;
    struct Row { const char* name; const char* type; const char* help; double value; };
    const Row rows[] = {
        {"leap_requests_running", "gauge", "Problems being solved now.", (double)m.running},
        {"leap_requests_queued", "gauge", "Requests waiting for KV sequences.", (double)m.queued},
        {"leap_queue_capacity", "gauge", "Requests that may wait before 429.", (double)m.queue_capacity},
        {"leap_requests_cancelled_total", "counter", "Requests dropped because their client disconnected.", (double)m.jobs_cancelled},
        {"leap_engine_errors_total", "counter", "Engine steps that failed (their requests got 500), and requests a server behind --backend openai refused for good (502).", (double)m.engine_errors},
        {"leap_tokens_sampled_total", "counter", "Tokens sampled.", (double)m.sampled},
        {"leap_batch_occupancy", "gauge", "Share of the paths in flight (KV sequences in process) held by running problems.", occupancy},
        {"leap_busy_seconds_total", "counter", "Seconds the engine spent stepping (decoding and sampling, or waiting for servers).", m.busy_seconds},
        {"leap_kv_sequences", "gauge", "Paths in flight at once (KV sequences in process; --kv-sequences).", (double)m.sequences_total},
        {"process_resident_memory_bytes", "gauge", "Resident memory of the server (/proc/self/statm).", (double)resident_bytes()},
        {"leap_memory_trims_total", "counter", "Times freed memory was handed back to the system after a burst.", (double)trimmer_->trims()},
    };
    for (const Row& r : rows) one(r.name, r.type, r.help, r.value);
    if (!m.kv) return o.str();
    // The in-process engine's batch and KV cache (the OpenAI backend's are on its servers).
    const Row in_process[] = {
        {"leap_history_reevaluated_total", "counter", "Tokens fed at a position the KV cache already held (0).", (double)m.history_reevaluated},
        {"leap_decode_calls_total", "counter", "llama_decode calls.", (double)m.decode_calls},
        {"leap_batch_tokens_total", "counter", "Tokens over all llama_decode calls (mean batch = this / calls).", (double)m.batch_tokens},
        {"leap_kv_sequences_in_use", "gauge", "KV sequences holding cells.", (double)m.kv->sequences_in_use},
        {"leap_kv_cells_used", "gauge", "KV cells held (a shared prompt counts once per sequence).", (double)m.kv->cells_in_use},
        {"leap_kv_cells", "gauge", "KV cells in the context.", (double)m.kv->cells_total},
        {"leap_kv_full_events_total", "counter", "Batches llama.cpp found no KV room for.", (double)m.kv_full_events},
    };
    for (const Row& r : in_process) one(r.name, r.type, r.help, r.value);
    return o.str();
}

void LeapServer::routes() {
    // CORS (--cors), then authentication for everything but /health (load balancers probe it
    // without a key) and CORS preflights (browsers send those without the key).
    http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        // httplib answers a Range header itself (a 206 with some bytes of a chat reply or an
        // error). No answer of this API is a document to fetch in pieces, so the header is
        // ignored, as RFC 9110 (14.2) allows. The request object is httplib's own non-const
        // one, handed to this hook as const.
        if (!req.ranges.empty()) const_cast<httplib::Request&>(req).ranges.clear();
        if (!opt_.cors_origins.empty() && req.has_header("Origin")) {
            const std::string origin = req.get_header_value("Origin");
            bool any = false, listed = false;
            for (const std::string& o : opt_.cors_origins) {
                any |= o == "*";
                listed |= o == origin;
            }
            if (any || listed) {
                res.set_header("Access-Control-Allow-Origin", any ? "*" : origin);
                res.set_header("Access-Control-Expose-Headers", "Retry-After");
                if (!any) res.set_header("Vary", "Origin");
            }
            if (req.method == "OPTIONS") {
                if (any || listed) {
                    const std::string asked = req.get_header_value("Access-Control-Request-Headers");
                    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
                    res.set_header("Access-Control-Allow-Headers", asked.empty() ? "Authorization, Content-Type" : asked);
                    res.set_header("Access-Control-Max-Age", "600");
                }
                res.status = 204;
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        // The viewer page at / holds no data: it loads without the key and sends the key with its calls.
        if (opt_.api_key.empty() || req.path == "/health" || (req.path == "/" && req.method == "GET"))
            return httplib::Server::HandlerResponse::Unhandled;
        const std::string auth = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (auth.rfind(prefix, 0) == 0 && same_key(auth.substr(prefix.size()), opt_.api_key))
            return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", "", "authentication_error"));
        return httplib::Server::HandlerResponse::Handled;
    });
    // httplib's own refusals (404, 413 body too large, 400 bad request line) in OpenAI's shape.
    http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        std::string msg = "HTTP " + std::to_string(res.status);
        if (res.status == 404) msg = "no such endpoint: " + req.method + " " + req.path;
        if (res.status == 413) msg = "the request body is too large";
        if (res.status == 405) msg = "method not allowed";
        res.set_content(dump(ApiError(res.status, msg).body()), "application/json");
    });
    http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = std::string("internal error: ") + e.what();
        } catch (...) {
        }
        send_error(res, ApiError(500, what, "", "server_error"));
    });
    http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        count(req.path, res.status);
        // Probes and scrapes come all the time and allocate little: they must not keep the
        // trimmer from seeing the end of a burst.
        if (req.path != "/health" && req.path != "/metrics") trimmer_->request_answered();
        if (opt_.log_requests) std::fprintf(stderr, "serve: %s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
    });

    http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(viewer::live_page(), "text/html; charset=utf-8");
    });
    http_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"status":"ok"})", "application/json");
    });
    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
    auto models = [this](const httplib::Request&, httplib::Response& res) {
        json m = {{"id", opt_.model_name}, {"object", "model"}, {"created", unix_time()}, {"owned_by", "leap"},
                  {"meta", {{"kv_sequences", engine_.path_capacity()}, {"ctx_per_path", engine_.n_ctx_per_path()},
                            {"method", to_string(defaults_.config.method)}, {"paths", defaults_.config.n_paths}}}};
        res.set_content(dump(json({{"object", "list"}, {"data", json::array({m})}})), "application/json");
    };
    http_->Get("/v1/models", models);
    http_->Get("/models", models);

    auto chat = [this](const httplib::Request& req, httplib::Response& res) {
        ChatRequest request;
        std::shared_ptr<Job> job;
        try {
            // Any Content-Type: `curl -d` sends form-urlencoded, and llama-server accepts it too.
            request = parse_chat_request(req.body, defaults_);
            job = scheduler_->submit(request);
        } catch (const ApiError& e) {
            // A full queue says when to come back; OpenAI's SDKs wait that long before retrying.
            if (e.status == 429) res.set_header("Retry-After", std::to_string(scheduler_->retry_after_seconds()));
            send_error(res, e);
            return;
        }
        const std::string id = "chatcmpl-leap-" + std::to_string(next_id_++);
        const long created = unix_time();
        const std::string model = opt_.model_name;

        if (!request.stream) {
            std::unique_lock lock(job->mu);
            while (!job->cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return job->done; }))
                if (client_gone(req, 0)) {
                    lock.unlock();
                    scheduler_->cancel(job);
                    res.status = 499;  // nobody reads it; logged and counted
                    return;
                }
            if (job->error) return send_error(res, *job->error);
            res.set_content(dump(completion_body(job->result, id, created, model)), "application/json");
            return;
        }

        // Streamed: the status is only known once the engine took the request (a prompt that
        // does not fit is a 400, a shutdown a 503), so the stream starts then, not before.
        {
            std::unique_lock lock(job->mu);
            while (!job->cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return job->started || job->done; }))
                if (client_gone(req, 0)) {
                    lock.unlock();
                    scheduler_->cancel(job);
                    res.status = 499;
                    return;
                }
            if (job->done && job->error) return send_error(res, *job->error);
        }

        // Streamed (docs/serve.md): the role first; while the paths run, the shown path's
        // reasoning as delta.reasoning_content and LeaP's progress events as chunks with no
        // choices; then the voted answer as delta.content, a last chunk with the finish reason,
        // usage and the leap object, and [DONE].
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, job, id, created, model](size_t, httplib::DataSink& sink) {
                auto chunk = [&](const json& delta, const json& finish_reason) {
                    return completion_chunk(id, created, model, delta, finish_reason);
                };
                auto send = [&](const std::string& text) {
                    if (sink.write(text.data(), text.size())) return true;
                    scheduler_->cancel(job);
                    return false;
                };
                if (!send(sse(chunk({{"role", "assistant"}, {"content", nullptr}}, nullptr)))) return false;
                // Events are taken under the job's lock and written without it: a slow client
                // must never hold up the engine thread, which takes that lock to report.
                for (;;) {
                    std::deque<json> events;
                    bool done = false;
                    {
                        std::unique_lock lock(job->mu);
                        job->cv.wait_for(lock, std::chrono::milliseconds(100),
                                         [&] { return job->done || !job->events.empty(); });
                        events.swap(job->events);
                        done = job->done;
                    }
                    std::string text, reasoning;
                    auto flush_reasoning = [&] {
                        if (reasoning.empty()) return;
                        json c = chunk({{"reasoning_content", reasoning}}, nullptr);
                        c["leap"] = {{"event", "reasoning"}, {"path", kShownPath}};
                        text += sse(c);
                        reasoning.clear();
                    };
                    for (json& e : events) {
                        if (e["event"] == "reasoning") {  // consecutive pieces go out as one chunk
                            reasoning += e["text"].get<std::string>();
                            continue;
                        }
                        flush_reasoning();
                        json c = chunk(nullptr, nullptr);
                        c["leap"] = std::move(e);
                        text += sse(c);
                    }
                    flush_reasoning();
                    if (!text.empty() && !send(text)) return false;
                    if (done) break;
                    if (!sink.is_writable()) {
                        scheduler_->cancel(job);
                        return false;
                    }
                }
                std::string text;
                if (job->error) {
                    text = sse(job->error->body());
                } else {
                    const json& r = job->result;
                    if (!r["answer"].get<std::string>().empty()) text += sse(chunk({{"content", r["answer"]}}, nullptr));
                    json last = chunk(json::object(), r["finish_reason"]);
                    if (job->request.include_usage) last["usage"] = r["usage"];
                    last["leap"] = r["leap"];
                    text += sse(last);
                }
                text += "data: [DONE]\n\n";
                sink.write(text.data(), text.size());
                sink.done();
                return true;
            },
            [this, job](bool success) {
                if (!success) scheduler_->cancel(job);
            });
    };
    http_->Post("/v1/chat/completions", chat);
    http_->Post("/chat/completions", chat);
}

}  // namespace leap::server
