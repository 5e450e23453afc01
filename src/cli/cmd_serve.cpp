// leap serve: the LeaP method as an OpenAI-compatible chat completions service (src/server/),
// on the in-process engine or, with --backend openai, in front of OpenAI-compatible servers.
// The engine flags (-m, --method, -N, -T, ...) are the defaults a request's "leap" object can
// change; -N x --parallel-problems (or --kv-sequences) paths in flight are shared by all
// requests (in-process: one KV sequence each).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/usage.h"
#include "core/error.h"
#include "server/server.h"

namespace leap::cli {

namespace {

struct ServeFlags {
    EngineFlags engine;
    server::ServerOptions server;
    std::string alias;
    int kv_sequences = 0;
    size_t max_body_kib = 1024;
};

// The model name clients see: --alias, else the GGUF's file name (-m, or --tokenizer), else
// what the first server calls its model.
std::string served_name(const ServeFlags& f, const Backend& engine) {
    if (!f.alias.empty()) return f.alias;
    const std::string& gguf = f.engine.model.empty() ? f.engine.tokenizer : f.engine.model;
    if (!gguf.empty()) return std::filesystem::path(gguf).filename().string();
    const auto* remote = dynamic_cast<const openai::OpenAIEngine*>(&engine);
    if (remote && !remote->servers().empty() && !remote->servers()[0].model.empty()) return remote->servers()[0].model;
    return f.engine.model_name();
}

void serve(ServeFlags& f) {
    f.engine.check_backend_flags();
    if (f.kv_sequences < 0)
        throw UsageError("--kv-sequences must not be negative (0: -N x --parallel-problems), got " +
                         std::to_string(f.kv_sequences));
    const RunConfig config = f.engine.run_config();
    if (f.server.api_key.empty())
        if (const char* key = std::getenv("LEAP_API_KEY"); key != nullptr && *key) f.server.api_key = key;
    if (f.engine.print_config) {
        nlohmann::json j = f.engine.resolved_json(config);
        j["host"] = f.server.host;
        j["port"] = f.server.port;
        j["api_key_required"] = !f.server.api_key.empty();
        j["alias"] = f.alias;
        j["kv_sequences"] = f.kv_sequences;
        if (f.engine.remote()) {
            j["base_urls"] = f.engine.openai.base_urls;
            j["upstream_timeout"] = f.engine.openai.retry.timeout_s;
            j["retries"] = f.engine.openai.retry.retries;
            j["max_inflight"] = f.engine.openai.max_inflight;
            j["share_prompt"] = f.engine.openai.share_prompt;
        }
        j["timeout"] = f.server.io_timeout_s;
        j["stop_timeout"] = f.server.stop_timeout_s;
        std::printf("%s\n", dump_json(j, 2).c_str());
        return;
    }
    server::check_connection_settings(f.server);
    const PromptSet prompts = f.engine.prompt_set();
    if (f.server.api_key.empty())
        if (const char* key = std::getenv("LEAP_API_KEY"); key != nullptr && *key) f.server.api_key = key;
    if (!f.server.api_key.empty() && f.server.api_key.size() < 8)
        throw Error("the API key (--api-key or LEAP_API_KEY) must be at least 8 characters");
    f.server.max_body_bytes = f.max_body_kib * 1024;

    // SIGINT/SIGTERM are taken by one thread (blocked everywhere else, including the threads
    // created below), which stops the server cleanly: queued and running requests get 503.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client that vanished mid-write must not kill the server

    EngineOptions eo = f.engine.engine;
    eo.n_sequences = f.kv_sequences;
    std::unique_ptr<LlamaModel> model;
    std::unique_ptr<Backend> engine;
    std::string where;  // what the paths run on, for the first line
    if (f.engine.remote()) {
        openai::OpenAIOptions oo = f.engine.openai;
        oo.n_lanes = f.kv_sequences;
        auto remote = std::make_unique<openai::OpenAIEngine>(f.engine.openai_tokenizer(), oo, eo, config, prompts);
        where = std::to_string(remote->path_capacity()) + " paths in flight of " + std::to_string(remote->n_ctx_per_path()) +
                " tokens on " + std::to_string(remote->servers().size()) + " server(s) (--backend openai)";
        engine = std::move(remote);
    } else {
        model = std::make_unique<LlamaModel>(f.engine.model_options());
        engine = std::make_unique<LlamaEngine>(*model, eo, config, prompts);
        where = std::to_string(engine->path_capacity()) + " KV sequences of " + std::to_string(engine->n_ctx_per_path()) +
                " tokens";
    }
    f.server.model_name = served_name(f, *engine);
    server::RequestDefaults defaults;
    defaults.config = config;
    defaults.sampling = eo.sampling;
    defaults.max_paths = engine->path_capacity();
    defaults.ctx_per_path = engine->n_ctx_per_path();
    server::LeapServer http(*engine, defaults, f.server);
    http.bind();
    std::fprintf(stderr,
                 "serve: %s on http://%s:%d (%s; defaults: method %s, %d paths, T=%d, %d segments; queue %d%s)\n",
                 f.server.model_name.c_str(), f.server.host.c_str(), http.port(), where.c_str(),
                 std::string(to_string(config.method)).c_str(), config.n_paths, config.segment_tokens, config.segments,
                 f.server.queue_capacity, f.server.api_key.empty() ? "" : "; API key required");
    // The first signal starts the bounded drain (LeapServer::shutdown). Connections that hold
    // an HTTP thread without a request (a client mid-send) could keep listen() from returning
    // for up to --timeout; the bound is kept by exiting once the grace below has passed.
    std::mutex exit_mu;
    std::condition_variable exit_cv;
    bool listen_returned = false;
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        {
            std::lock_guard lock(exit_mu);
            if (listen_returned) return;
        }
        std::fprintf(stderr, "serve: signal %d, stopping (running requests may take up to --stop-timeout %g s)\n", sig,
                     f.server.stop_timeout_s);
        http.shutdown();
        std::unique_lock lock(exit_mu);
        if (!exit_cv.wait_for(lock, std::chrono::seconds(2), [&] { return listen_returned; })) {
            std::fprintf(stderr, "serve: connections still open after the drain; exiting\n");
            std::fflush(stderr);
            std::_Exit(0);
        }
    });
    http.listen();
    {
        std::lock_guard lock(exit_mu);
        listen_returned = true;
    }
    exit_cv.notify_all();
    // listen() also returns when the socket fails; wake the signal thread in that case.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
}

}  // namespace

void register_serve(CLI::App& app) {
    auto f = std::make_shared<ServeFlags>();
    CLI::App* cmd = app.add_subcommand("serve", "serve LeaP as an OpenAI-compatible chat completions API");
    EngineScope scope;
    scope.match_budget = false;    // a request runs the method it names
    scope.attempt_timeout_flag = "--upstream-timeout";  // --timeout is the clients' (below)
    f->engine.add_to(cmd, scope);
    cmd->add_option("--host", f->server.host, "address to listen on (default: this machine only)")->capture_default_str();
    cmd->add_option("--port", f->server.port, "TCP port (0: any free port)")->capture_default_str();
    cmd->add_option("--api-key", f->server.api_key,
                    "require Authorization: Bearer KEY (default: $LEAP_API_KEY when set; keeps the key out of ps)");
    cmd->add_option("-a,--alias", f->alias,
                    "the model name reported to clients (default: the GGUF's file name, or the first server's model)");
    cmd->add_option("--queue-size", f->server.queue_capacity, "requests that may wait for KV sequences before 429")
        ->capture_default_str();
    cmd->add_option("--kv-sequences", f->kv_sequences,
                    "paths in flight at once over all requests: in-process one KV sequence each, with --backend openai "
                    "spread over the servers' slots (0: -N x --parallel-problems)")
        ->capture_default_str();
    cmd->add_option("--max-body-kib", f->max_body_kib, "largest request body accepted (KiB)")->capture_default_str();
    cmd->add_option("--http-threads", f->server.http_threads, "connections served at once, each on its own thread (0: 4096, within ulimit -n)")
        ->capture_default_str();
    cmd->add_option("--timeout", f->server.io_timeout_s,
                    "seconds a client may leave a read or write of its connection waiting before it is closed")
        ->capture_default_str();
    cmd->add_option("--stop-timeout", f->server.stop_timeout_s,
                    "on SIGTERM/SIGINT, seconds running requests may take to finish (queued ones get 503 at once)")
        ->capture_default_str();
    cmd->add_option("--cors", f->server.cors_origins,
                    "let browser pages of ORIGIN call the API (repeat or comma-separate; * for any; default: none)")
        ->delimiter(',')
        ->type_name("ORIGIN");
    cmd->callback([f] { serve(*f); });
}

}  // namespace leap::cli
