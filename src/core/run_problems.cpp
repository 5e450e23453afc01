#include "core/run_problems.h"

#include <chrono>

#include "core/error.h"

namespace leap {

using Clock = std::chrono::steady_clock;

void run_problems(Backend& backend, const std::vector<Problem>& problems, const std::vector<int>& indices,
                  const DoneFn& on_done, const ProgressFn& on_progress) {
    if (!indices.empty() && indices.size() != problems.size())
        throw Error("internal error: " + std::to_string(indices.size()) + " indices for " +
                    std::to_string(problems.size()) + " problems (please report)");
    const RunDefaults& d = backend.run_defaults();
    auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
    const auto t0 = Clock::now();
    const long sampled_before = backend.stats().sampled;
    Progress progress;
    progress.problems_total = (int)problems.size();
    auto last_report = Clock::now();
    size_t next = 0;
    bool finished_one = false;
    try {
        for (;;) {
            while (next < problems.size() && backend.problems_in_flight() < d.parallel_problems) {
                Submission sub;
                sub.problem = problems[next];
                sub.config = d.config;
                sub.sampling = d.sampling;
                sub.index = indices.empty() ? (int)next : indices[next];
                sub.on_done = [&](ProblemRun& run, nlohmann::json timings) {
                    ++progress.problems_done;
                    finished_one = true;
                    if (on_done) on_done(run, std::move(timings));
                };
                if (!backend.start(std::move(sub))) break;
                ++next;
            }
            if (!backend.step()) {
                if (next < problems.size())
                    throw Error("internal error: the backend took no problem and has none in flight (please report)");
                break;
            }
            if (on_progress && (finished_one || d.progress_interval_s <= 0 || seconds_since(last_report) >= d.progress_interval_s)) {
                progress.seconds = seconds_since(t0);
                progress.tokens_sampled = backend.stats().sampled - sampled_before;
                on_progress(progress);
                last_report = Clock::now();
                finished_one = false;
            }
        }
    } catch (...) {
        backend.reset();
        throw;
    }
}

}  // namespace leap
