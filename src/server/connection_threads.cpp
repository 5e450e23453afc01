#include "server/connection_threads.h"

// llama.cpp's vendored cpp-httplib with a source checkout; the system's with an install.
#if __has_include(<cpp-httplib/httplib.h>)
#include <cpp-httplib/httplib.h>
#else
#include <httplib.h>
#endif

#include <pthread.h>
#include <algorithm>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>

#include "core/error.h"

namespace leap::server {

namespace {

using Clock = std::chrono::steady_clock;

class ConnectionThreads final : public httplib::TaskQueue {
public:
    ConnectionThreads(size_t max_threads, size_t stack_bytes) : max_(max_threads), stack_(stack_bytes) {}
    ~ConnectionThreads() override { shutdown(); }

    bool enqueue(std::function<void()> fn) override {
        std::unique_lock lock(mu_);
        if (running_ >= max_) return refuse(lock, "the most --http-threads allows");
        auto* task = new Task{this, std::move(fn)};
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, stack_);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        const int err = pthread_create(&thread, &attr, &ConnectionThreads::run, task);
        pthread_attr_destroy(&attr);
        if (err != 0) {
            delete task;
            return refuse(lock, std::string("no thread could be made: ") + std::strerror(err));
        }
        ++running_;
        return true;
    }

    // httplib calls this once its accept loop has stopped; the connections notice the closed
    // listening socket at their next keep-alive check and end.
    void shutdown() override {
        std::unique_lock lock(mu_);
        ended_.wait(lock, [&] { return running_ == 0; });
    }

private:
    struct Task {
        ConnectionThreads* owner;
        std::function<void()> fn;
    };

    static void* run(void* arg) {
        std::unique_ptr<Task> task(static_cast<Task*>(arg));
        try {
            task->fn();
        } catch (...) {
            // httplib turns handler exceptions into 500s; anything else ends this connection only.
        }
        ConnectionThreads* owner = task->owner;
        task.reset();  // the connection's state goes before the count says it has ended
        std::lock_guard lock(owner->mu_);
        if (--owner->running_ == 0) owner->ended_.notify_all();
        return nullptr;
    }

    // One line a second at most, with the count since the last one, so a flood cannot flood
    // the log too.
    bool refuse(std::unique_lock<std::mutex>&, const std::string& why) {
        ++refused_since_log_;
        const auto now = Clock::now();
        if (now - last_log_ >= std::chrono::seconds(1)) {
            std::fprintf(stderr, "serve: refused %zu new connection(s): %zu are open, %s\n", refused_since_log_,
                         running_, why.c_str());
            refused_since_log_ = 0;
            last_log_ = now;
        }
        return false;
    }

    const size_t max_;
    const size_t stack_;
    std::mutex mu_;
    std::condition_variable ended_;
    size_t running_ = 0;
    size_t refused_since_log_ = 0;
    Clock::time_point last_log_{};
};

std::string limit_text(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string((unsigned long long)v); }

}  // namespace

std::unique_ptr<httplib::TaskQueue> make_connection_threads(size_t max_threads, size_t stack_bytes) {
    if (max_threads < 1) throw Error("--http-threads must be at least 1");
    return std::make_unique<ConnectionThreads>(max_threads, stack_bytes);
}

size_t connections_within_descriptor_limit(size_t wanted, std::string* note) {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return wanted;
    const rlim_t need = (rlim_t)(wanted + kReservedDescriptors);
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
        rlimit raised = lim;
        raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? need : std::min(lim.rlim_max, need);
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
    }
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need) return wanted;
    const size_t room = lim.rlim_cur > kReservedDescriptors ? (size_t)lim.rlim_cur - kReservedDescriptors : 0;
    const size_t floor = std::min(wanted, kMinConnections);
    const std::string limits = "the open-file limit is " + limit_text(lim.rlim_cur) + " (ulimit -n; hard limit " +
                               limit_text(lim.rlim_max) + ")";
    if (room < floor)
        throw Error("leap serve needs " + std::to_string(floor + kReservedDescriptors) + " open files to hold " +
                    std::to_string(floor) + " connections, and " + limits +
                    ": raise the hard limit (ulimit -Hn as root, LimitNOFILE= for a systemd service, "
                    "--ulimit nofile= for a container), or serve fewer connections with --http-threads");
    if (note) *note = limits + ", so at most " + std::to_string(room) + " connections at once (not " + std::to_string(wanted) + ")";
    return room;
}

}  // namespace leap::server
