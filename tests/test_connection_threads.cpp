// leap serve's connection threads (src/server/connection_threads.h): a thread per connection
// with a small stack, a cap beyond which connections are refused at once, a shutdown that waits
// for the running ones, and the open-file limit raised (or refused clearly) at start.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#if __has_include(<cpp-httplib/httplib.h>)
#include <cpp-httplib/httplib.h>
#else
#include <httplib.h>
#endif

#include "core/error.h"
#include "server/connection_threads.h"

using namespace leap::server;

namespace {

// Holds every task until open() is called.
struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool is_open = false;
    void wait() {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return is_open; });
    }
    void open() {
        {
            std::lock_guard lock(mu);
            is_open = true;
        }
        cv.notify_all();
    }
};

}  // namespace

TEST(ConnectionThreads, EachConnectionRunsOnItsOwnSmallThreadAndBeyondTheCapIsRefused) {
    auto q = make_connection_threads(3);
    Gate gate;
    std::atomic<int> started{0}, finished{0};
    std::atomic<size_t> stack_bytes{0};
    auto task = [&] {
        pthread_attr_t attr;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstacksize(&attr, &size);
            pthread_attr_destroy(&attr);
        }
        stack_bytes = size;
        ++started;
        gate.wait();
        ++finished;
    };
    // Three connections that do nothing yet all run at once: none waits for another.
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q->enqueue(task));
    for (int i = 0; i < 200 && started < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(started, 3);
    EXPECT_FALSE(q->enqueue(task)) << "a fourth connection beyond the cap of 3 must be refused, not queued";
    EXPECT_GE(stack_bytes.load(), kConnectionStackBytes);
    EXPECT_LT(stack_bytes.load(), 2 * kConnectionStackBytes) << "the default 8 MiB stack, not the small one";
    gate.open();
    q->shutdown();  // waits for the three
    EXPECT_EQ(finished, 3);
    // Their threads are given back: the cap counts running connections, not connections ever made.
    ASSERT_TRUE(q->enqueue([&] { ++finished; }));
    q->shutdown();
    EXPECT_EQ(finished, 4);
}

TEST(ConnectionThreads, ShutdownWaitsForTheRunningConnections) {
    auto q = make_connection_threads(8);
    std::atomic<bool> done{false};
    ASSERT_TRUE(q->enqueue([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        done = true;
    }));
    const auto t = std::chrono::steady_clock::now();
    q->shutdown();
    EXPECT_TRUE(done);
    EXPECT_GE(std::chrono::steady_clock::now() - t, std::chrono::milliseconds(250));
}

TEST(ConnectionThreads, ACapOfZeroIsRefused) {
    EXPECT_THROW(make_connection_threads(0), leap::Error);
}

// The descriptor limit is a process-wide setting: each case runs in a child, which may lower
// its hard limit without touching the test process.
namespace {
int in_child(const std::function<bool()>& body) {
    const pid_t pid = fork();
    if (pid == 0) _exit(body() ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}
bool set_limits(rlim_t soft, rlim_t hard) {
    rlimit l{soft, hard};
    return setrlimit(RLIMIT_NOFILE, &l) == 0;
}
rlim_t soft_limit() {
    rlimit l{};
    getrlimit(RLIMIT_NOFILE, &l);
    return l.rlim_cur;
}
}  // namespace

TEST(ConnectionThreads, TheSoftOpenFileLimitIsRaisedToHoldTheConnections) {
    EXPECT_EQ(in_child([] {
                  if (!set_limits(256, 8192)) return true;  // cannot lower limits here: nothing to test
                  std::string note;
                  const size_t n = connections_within_descriptor_limit(4096, &note);
                  return n == 4096 && note.empty() && soft_limit() == 4096 + kReservedDescriptors;
              }),
              0);
}

TEST(ConnectionThreads, AHardLimitBelowTheCapLowersItWithANote) {
    EXPECT_EQ(in_child([] {
                  if (!set_limits(256, 2000)) return false;
                  std::string note;
                  const size_t n = connections_within_descriptor_limit(4096, &note);
                  return n == 2000 - kReservedDescriptors && note.find("ulimit -n") != std::string::npos &&
                         note.find("1936 connections") != std::string::npos;
              }),
              0);
}

TEST(ConnectionThreads, AHardLimitBelowAThousandConnectionsIsAClearError) {
    EXPECT_EQ(in_child([] {
                  if (!set_limits(256, 512)) return false;
                  try {
                      connections_within_descriptor_limit(4096);
                  } catch (const leap::Error& e) {
                      const std::string m = e.what();
                      return m.find("1064 open files") != std::string::npos && m.find("1000 connections") != std::string::npos &&
                             m.find("hard limit 512") != std::string::npos && m.find("--http-threads") != std::string::npos;
                  }
                  return false;
              }),
              0);
    // Fewer connections asked for (--http-threads 100) fit in the same limit.
    EXPECT_EQ(in_child([] { return set_limits(256, 512) && connections_within_descriptor_limit(100) == 100; }), 0);
}
