#pragma once
// The server's memory after a burst: glibc keeps the pages freed by request threads in its
// per-thread arenas, so resident memory stays at its peak (5 GB after 48 large bodies) unless
// it is handed back. IdleTrimmer hands it back with malloc_trim once requests stop.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace leap::server {

// Resident set size of this process in bytes (/proc/self/statm); 0 where it cannot be read.
long resident_bytes();

class IdleTrimmer {
public:
    // Checks every `period_ms`: when requests were answered since the last trim but none in the
    // last period, trims.
    explicit IdleTrimmer(int period_ms = 1000);
    ~IdleTrimmer();
    IdleTrimmer(const IdleTrimmer&) = delete;
    IdleTrimmer& operator=(const IdleTrimmer&) = delete;

    void request_answered() { ++answered_; }
    long trims() const { return trims_; }

private:
    void loop(int period_ms);

    std::atomic<long> answered_{0};
    std::atomic<long> trims_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace leap::server
