#include "server/process_memory.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace leap::server {

long resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long size = 0, resident = 0;
    const bool ok = std::fscanf(f, "%ld %ld", &size, &resident) == 2;
    std::fclose(f);
    return ok ? resident * sysconf(_SC_PAGESIZE) : 0;
}

IdleTrimmer::IdleTrimmer(int period_ms) : thread_([this, period_ms] { loop(period_ms); }) {
#if defined(__GLIBC__)
    // A fixed trim threshold also turns off glibc's sliding mmap threshold, which after the
    // first large body freed (8 MB, say) serves every later one from the arenas and lets
    // each arena keep up to twice that at its top, where malloc_trim does not reach in the
    // arenas of other threads: with a thread per connection, 16 arenas held 190 MB after a
    // burst. Now bodies above 128 KiB are mapped and unmapped whole, and arenas give back
    // what exceeds 1 MiB at their top as soon as it is freed.
    mallopt(M_TRIM_THRESHOLD, 1 << 20);
#endif
}

IdleTrimmer::~IdleTrimmer() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void IdleTrimmer::loop(int period_ms) {
    long trimmed_at = 0, seen = 0;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(period_ms), [&] { return stopping_; })) {
        const long now = answered_;
        // Quiet for a whole period after some activity: the burst is over.
        if (now == seen && now != trimmed_at) {
#if defined(__GLIBC__)
            malloc_trim(0);  // every arena, not only this thread's
#endif
            trimmed_at = now;
            ++trims_;
        }
        seen = now;
    }
}

}  // namespace leap::server
