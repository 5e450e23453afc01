// leap serve: the LeaP method as an OpenAI-compatible chat completions service (src/server/).
// The engine flags (-m, --method, -N, -T, ...) are the defaults a request's "leap" object can
// change; -N x --parallel-problems (or --kv-sequences) KV sequences are shared by all requests.
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

void serve(ServeFlags& f) {
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
    f.server.model_name = f.alias.empty() ? std::filesystem::path(f.engine.model).filename().string() : f.alias;
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
    LlamaModel model(f.engine.model_options());
    LlamaEngine engine(model, eo, config, prompts);
    server::RequestDefaults defaults;
    defaults.config = config;
    defaults.sampling = eo.sampling;
    defaults.max_paths = engine.n_sequences();
    defaults.ctx_per_path = engine.n_ctx_per_path();
    server::LeapServer http(engine, defaults, f.server);
    http.bind();
    std::fprintf(stderr,
                 "serve: %s on http://%s:%d (%d KV sequences of %d tokens; defaults: method %s, %d paths, T=%d, "
                 "%d segments; queue %d%s)\n",
                 f.server.model_name.c_str(), f.server.host.c_str(), http.port(), engine.n_sequences(),
                 engine.n_ctx_per_path(), std::string(to_string(config.method)).c_str(), config.n_paths,
                 config.segment_tokens, config.segments, f.server.queue_capacity,
                 f.server.api_key.empty() ? "" : "; API key required");
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
    scope.remote_backend = false;  // serve runs the model in-process
    scope.match_budget = false;    // a request runs the method it names
    f->engine.add_to(cmd, scope);
    cmd->add_option("--host", f->server.host, "address to listen on (default: this machine only)")->capture_default_str();
    cmd->add_option("--port", f->server.port, "TCP port (0: any free port)")->capture_default_str();
    cmd->add_option("--api-key", f->server.api_key,
                    "require Authorization: Bearer KEY (default: $LEAP_API_KEY when set; keeps the key out of ps)");
    cmd->add_option("-a,--alias", f->alias, "the model name reported to clients (default: the GGUF's file name)");
    cmd->add_option("--queue-size", f->server.queue_capacity, "requests that may wait for KV sequences before 429")
        ->capture_default_str();
    cmd->add_option("--kv-sequences", f->kv_sequences,
                    "KV sequences shared by all requests, i.e. paths in flight at once (0: -N x --parallel-problems)")
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
