// The one run loop (core/run_problems.h) over a scripted backend: problems start as room
// allows, never more than P at once, each with the backend's settings and its own index; every
// problem is reported once; errors reset the backend; a backend that takes nothing is an error,
// not a hang.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <stdexcept>

#include "core/backend.h"
#include "core/error.h"
#include "core/run_problems.h"

namespace {

using namespace leap;

// Holds up to `capacity` paths; a problem is done `steps` steps after it started.
class CountingBackend : public Backend {
public:
    CountingBackend(int capacity, int parallel, int steps) : capacity_(capacity), steps_(steps) {
        defaults_.config.n_paths = 2;
        defaults_.config.seed = 77;
        defaults_.sampling.temperature = 0.3f;
        defaults_.parallel_problems = parallel;
        defaults_.progress_interval_s = 3600;  // progress only when a problem finished
    }
    bool start(Submission s, Ticket* ticket) override {
        if (refuse_all) return false;
        if (free_path_capacity() < s.config.n_paths) return false;
        submissions.push_back({s.problem.id, s.index, s.config.seed, s.sampling.temperature});
        Running r;
        r.sub = std::move(s);
        r.run = std::make_unique<ProblemRun>(r.sub.index, r.sub.problem, r.sub.config, PromptSet::builtin());
        r.left = steps_;
        const Ticket t = next_++;
        if (ticket) *ticket = t;
        running_[t] = std::move(r);
        max_in_flight = std::max(max_in_flight, (int)running_.size());
        return true;
    }
    bool step() override {
        if (running_.empty()) return false;
        if (++steps_taken == fail_at_step) throw Error("decode failed");
        stats_.sampled += (long)running_.size();
        std::vector<Running> done;
        for (auto it = running_.begin(); it != running_.end();) {
            if (--it->second.left == 0) {
                done.push_back(std::move(it->second));
                it = running_.erase(it);
            } else {
                ++it;
            }
        }
        for (Running& r : done) r.sub.on_done(*r.run, nlohmann::json::object());
        return true;
    }
    bool cancel(Ticket t) override { return running_.erase(t) > 0; }
    void reset() override {
        ++resets;
        running_.clear();
    }
    int problems_in_flight() const override { return (int)running_.size(); }
    const ProblemRun* problem(Ticket t) const override {
        auto it = running_.find(t);
        return it == running_.end() ? nullptr : it->second.run.get();
    }
    std::string_view sampled_so_far(Ticket, int) const override { return {}; }
    int path_capacity() const override { return capacity_; }
    int free_path_capacity() const override {
        int used = 0;
        for (const auto& [t, r] : running_) used += r.sub.config.n_paths;
        return capacity_ - used;
    }
    int n_ctx_per_path() const override { return 1024; }
    const PromptSet& prompts() const override { return prompts_; }
    const RunDefaults& run_defaults() const override { return defaults_; }
    const EngineStats& stats() const override { return stats_; }
    nlohmann::json stats_json() const override { return stats_.to_json(); }

    struct Seen {
        std::string id;
        int index;
        uint64_t seed;
        float temperature;
    };
    std::vector<Seen> submissions;
    int max_in_flight = 0, steps_taken = 0, fail_at_step = -1, resets = 0;
    bool refuse_all = false;

private:
    struct Running {
        Submission sub;
        std::unique_ptr<ProblemRun> run;
        int left = 0;
    };
    int capacity_, steps_;
    std::map<Ticket, Running> running_;
    Ticket next_ = 1;
    RunDefaults defaults_;
    PromptSet prompts_ = PromptSet::builtin();
    EngineStats stats_;
};

std::vector<Problem> some_problems(int n) {
    std::vector<Problem> out;
    for (int i = 0; i < n; ++i) out.push_back({"q" + std::to_string(i), "What is " + std::to_string(i) + " + 1?", {}});
    return out;
}

TEST(RunProblems, EveryProblemOnceWithTheBackendsSettingsAndItsIndex) {
    CountingBackend b(/*capacity*/ 8, /*parallel*/ 3, /*steps*/ 2);
    std::vector<std::pair<std::string, int>> done;
    std::vector<Progress> progress;
    run_problems(
        b, some_problems(5), {10, 11, 12, 13, 14},
        [&](ProblemRun& run, nlohmann::json) { done.push_back({run.problem().id, run.index()}); },
        [&](const Progress& p) { progress.push_back(p); });
    ASSERT_EQ(done.size(), 5u);
    std::map<std::string, int> index_of(done.begin(), done.end());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(index_of.at("q" + std::to_string(i)), 10 + i);
    EXPECT_EQ(b.max_in_flight, 3) << "P problems at once, no more";
    for (const auto& s : b.submissions) {
        EXPECT_EQ(s.seed, 77u);
        EXPECT_FLOAT_EQ(s.temperature, 0.3f);
    }
    EXPECT_EQ(b.problems_in_flight(), 0);
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().problems_done, 5);
    EXPECT_EQ(progress.back().problems_total, 5);
    EXPECT_EQ(progress.back().tokens_sampled, b.stats().sampled);
    EXPECT_EQ(b.resets, 0);
}

TEST(RunProblems, WithoutIndicesProblemsAreNumberedInOrder) {
    CountingBackend b(8, 1, 1);
    std::vector<int> indices;
    run_problems(b, some_problems(3), {}, [&](ProblemRun& run, nlohmann::json) { indices.push_back(run.index()); });
    EXPECT_EQ(indices, (std::vector<int>{0, 1, 2}));
}

TEST(RunProblems, ProblemsWaitForRoomInTheBackend) {
    CountingBackend b(/*capacity*/ 4, /*parallel*/ 8, 3);  // 2 problems of 2 paths fit at once
    int done = 0;
    run_problems(b, some_problems(7), {}, [&](ProblemRun&, nlohmann::json) { ++done; });
    EXPECT_EQ(done, 7);
    EXPECT_EQ(b.max_in_flight, 2);
}

TEST(RunProblems, AnErrorResetsTheBackendAndGoesOn) {
    CountingBackend b(8, 2, 5);
    b.fail_at_step = 3;
    EXPECT_THROW(run_problems(b, some_problems(4), {}, [](ProblemRun&, nlohmann::json) {}), Error);
    EXPECT_EQ(b.resets, 1);
    EXPECT_EQ(b.problems_in_flight(), 0);
}

TEST(RunProblems, ABackendThatTakesNothingIsAnErrorNotAHang) {
    CountingBackend b(8, 2, 1);
    b.refuse_all = true;
    EXPECT_THROW(run_problems(b, some_problems(2), {}, [](ProblemRun&, nlohmann::json) {}), Error);
}

TEST(RunProblems, IndicesMustNumberEveryProblem) {
    CountingBackend b(8, 2, 1);
    EXPECT_THROW(run_problems(b, some_problems(3), {1, 2}, [](ProblemRun&, nlohmann::json) {}), Error);
}

}  // namespace
