#pragma once
// leap serve: LeaP behind an OpenAI-compatible HTTP API.
//   POST /v1/chat/completions  one problem per request, solved by N peer paths (optional SSE)
//   GET  /v1/models            the served model
//   GET  /health               {"status": "ok"}
//   GET  /metrics              Prometheus text: requests, queue, tokens by kind, batch, KV use
//                              (the KV cache's figures with the in-process engine only)
//   OPTIONS *                  CORS preflight (with --cors)
// Requests share the backend (server/scheduler.h: the in-process engine's batch, or the
// servers behind the OpenAI backend); bad input gets a 4xx with an
// OpenAI-style error object and never takes the server down.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/chat_request.h"
#include "server/process_memory.h"
#include "server/scheduler.h"

namespace httplib {
class Server;
}

namespace leap::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;               // 0: any free port (see LeapServer::port())
    std::string api_key;           // empty: no authentication
    std::string model_name;        // the "model" reported to clients
    int queue_capacity = 16;       // requests waiting beyond it get 429
    size_t max_body_bytes = 1 << 20;
    int http_threads = 0;          // connections served at once, a thread each (0: kDefaultMaxConnections)
    // Seconds a client may leave a read or write waiting (-to/--timeout): an idle or slow
    // connection gives its HTTP thread back after that.
    int io_timeout_s = 5;
    int keep_alive_timeout_s = 2;  // an idle keep-alive connection is closed after this
    // Seconds running requests may take to finish after SIGTERM/SIGINT (--stop-timeout).
    double stop_timeout_s = 5;
    bool log_requests = true;      // one line per request on stderr
    // Browser origins allowed to call the API (--cors): "*" for any; empty: no CORS headers,
    // so browsers keep pages of other origins from reading the answers.
    std::vector<std::string> cors_origins;
};

// Throws leap::Error naming the flag (--timeout, --stop-timeout) for values the server cannot
// use; `leap serve` calls it before loading the model.
void check_connection_settings(const ServerOptions& opt);

class LeapServer {
public:
    LeapServer(Backend& engine, RequestDefaults defaults, ServerOptions opt);
    ~LeapServer();

    // Binds the socket (throws leap::Error naming host:port when it cannot); port() is then known.
    void bind();
    int port() const { return port_; }
    // Serves until stop() (from another thread or a signal-handling thread).
    void listen();
    void stop();
    // The bounded drain (SIGTERM): queued and new requests get 503 at once, running ones may
    // finish for up to opt.stop_timeout_s, then get 503 too; then stop().
    void shutdown();
    std::string metrics_text() const;

private:
    void routes();
    void count(const std::string& path, int status);

    Backend& engine_;
    RequestDefaults defaults_;
    ServerOptions opt_;
    std::unique_ptr<httplib::Server> http_;
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<IdleTrimmer> trimmer_;
    int port_ = 0;
    mutable std::mutex count_mu_;
    std::map<std::pair<std::string, int>, long> requests_by_status_;
    std::atomic<long> next_id_{1};
};

}  // namespace leap::server
