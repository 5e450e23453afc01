// Metrics: hand-computed pass@k, Pass@1 as mean accuracy, Cons@N, the percentile bootstrap over
// problems and over seeds (containment, width, determinism, degenerate inputs), and the Summary
// JSON for one run and for several seeds.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/metrics.h"

using leap::Interval;
using leap::ProblemOutcome;

namespace {

ProblemOutcome outcome(std::vector<bool> correct, bool cons = false, bool shortest = false,
                       std::map<std::string, long> tokens = {}, double wall = 0) {
    ProblemOutcome o;
    o.correct = std::move(correct);
    o.consensus_correct = cons;
    o.shortest_majority_correct = shortest;
    o.tokens = std::move(tokens);
    o.wall_s = wall;
    return o;
}

// n problems alternating all-correct / all-wrong over 4 paths (mean 0.5).
std::vector<ProblemOutcome> alternating(int n) {
    std::vector<ProblemOutcome> v;
    for (int i = 0; i < n; ++i) {
        const bool ok = i % 2 == 0;
        v.push_back(outcome({ok, ok, ok, ok}, ok, ok));
    }
    return v;
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const leap::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Metrics, UnbiasedPassAtKHandValues) {
    EXPECT_DOUBLE_EQ(leap::pass_at_k_unbiased(4, 1, 2), 0.5);           // 1 - C(3,2)/C(4,2) = 1 - 3/6
    EXPECT_DOUBLE_EQ(leap::pass_at_k_unbiased(5, 2, 3), 0.9);           // 1 - C(3,3)/C(5,3) = 1 - 1/10
    EXPECT_NEAR(leap::pass_at_k_unbiased(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-12);  // C(7,5)/C(10,5)
    EXPECT_NEAR(leap::pass_at_k_unbiased(4, 2, 2), 1.0 - 1.0 / 6.0, 1e-12);
    for (int k = 1; k <= 8; ++k) {
        EXPECT_DOUBLE_EQ(leap::pass_at_k_unbiased(8, 0, k), 0.0) << k;
        EXPECT_DOUBLE_EQ(leap::pass_at_k_unbiased(8, 8, k), 1.0) << k;
    }
    for (int c = 0; c <= 16; ++c) EXPECT_NEAR(leap::pass_at_k_unbiased(16, c, 1), c / 16.0, 1e-12);
    EXPECT_DOUBLE_EQ(leap::pass_at_k_unbiased(16, 1, 16), 1.0);
    // Large n stays finite and monotone in k.
    double prev = 0;
    for (int k = 1; k <= 1000; k *= 10) {
        const double v = leap::pass_at_k_unbiased(1000, 7, k);
        EXPECT_GT(v, prev);
        EXPECT_LE(v, 1.0);
        prev = v;
    }
    EXPECT_NE(error_of([] { leap::pass_at_k_unbiased(4, 1, 5); }).find("pass@5 needs 1 <= k <= n (n = 4)"),
              std::string::npos);
    EXPECT_FALSE(error_of([] { leap::pass_at_k_unbiased(4, 1, 0); }).empty());
    EXPECT_FALSE(error_of([] { leap::pass_at_k_unbiased(4, 5, 1); }).empty());
}

TEST(Metrics, PassAt1IsMeanAccuracyAndConsIsTheShareOfMajorities) {
    const std::vector<ProblemOutcome> ps = {
        outcome({true, false, false, false}, false, true),
        outcome({true, true, false, false}, true, false),
        outcome({true, true, true, true}, true, true),
    };
    const Interval p1 = leap::pass_at_1(ps, 500, 1);
    EXPECT_NEAR(p1.mean, (0.25 + 0.5 + 1.0) / 3, 1e-12);
    EXPECT_NEAR(leap::pass_at_k(ps, 1, 500, 1).mean, p1.mean, 1e-12);
    EXPECT_NEAR(leap::pass_at_k(ps, 2, 500, 1).mean, (0.5 + 5.0 / 6.0 + 1.0) / 3, 1e-12);
    EXPECT_NEAR(leap::pass_at_k(ps, 4, 500, 1).mean, 1.0, 1e-12);
    EXPECT_NEAR(leap::cons_at_n(ps, 500, 1).mean, 2.0 / 3, 1e-12);
    EXPECT_NEAR(leap::shortest_majority(ps, 500, 1).mean, 2.0 / 3, 1e-12);
    // Same seed, same resamples: pass@k(1) and pass@1 intervals coincide.
    const Interval k1 = leap::pass_at_k(ps, 1, 500, 1);
    EXPECT_DOUBLE_EQ(k1.lo, p1.lo);
    EXPECT_DOUBLE_EQ(k1.hi, p1.hi);
    EXPECT_NE(error_of([&] { leap::pass_at_k(ps, 5, 100, 1); }).find("problem 0 has only 4 paths"),
              std::string::npos);

    // All correct / none correct: degenerate intervals.
    const std::vector<ProblemOutcome> all(5, outcome({true, true}, true, true));
    const Interval a = leap::pass_at_1(all, 200, 3);
    EXPECT_DOUBLE_EQ(a.mean, 1.0);
    EXPECT_DOUBLE_EQ(a.lo, 1.0);
    EXPECT_DOUBLE_EQ(a.hi, 1.0);
    const std::vector<ProblemOutcome> none(5, outcome({false, false}));
    EXPECT_DOUBLE_EQ(leap::pass_at_1(none, 200, 3).hi, 0.0);
    EXPECT_DOUBLE_EQ(leap::cons_at_n(none, 200, 3).mean, 0.0);
}

TEST(Metrics, BootstrapIntervalContainsTheMeanNarrowsAndIsSeeded) {
    const Interval small = leap::pass_at_1(alternating(10), 2000, 42);
    const Interval big = leap::pass_at_1(alternating(200), 2000, 42);
    for (const Interval& i : {small, big}) {
        EXPECT_DOUBLE_EQ(i.mean, 0.5);
        EXPECT_LT(i.lo, i.mean);
        EXPECT_GT(i.hi, i.mean);
    }
    EXPECT_LT(big.hi - big.lo, (small.hi - small.lo) / 2);
    // Binomial check: 200 problems at p = .5, the 95% interval is about 0.5 +- 0.069.
    EXPECT_NEAR(big.lo, 0.431, 0.02);
    EXPECT_NEAR(big.hi, 0.569, 0.02);

    // Deterministic for a seed; another seed moves the endpoints a little.
    std::vector<double> vals;
    for (int i = 0; i < 37; ++i) vals.push_back(std::fmod(i * 0.618034, 1.0));
    const Interval x = leap::bootstrap_over_problems(vals, 1000, 7);
    const Interval y = leap::bootstrap_over_problems(vals, 1000, 7);
    const Interval z = leap::bootstrap_over_problems(vals, 1000, 8);
    EXPECT_EQ(x.lo, y.lo);
    EXPECT_EQ(x.hi, y.hi);
    EXPECT_TRUE(x.lo != z.lo || x.hi != z.hi);
    EXPECT_NEAR(x.lo, z.lo, 0.03);
    // A wider confidence gives a wider interval.
    const Interval w = leap::bootstrap_over_problems(vals, 1000, 7, 0.99);
    EXPECT_LT(w.lo, x.lo);
    EXPECT_GT(w.hi, x.hi);
}

TEST(Metrics, DegenerateInputs) {
    // One problem: every resample is that problem.
    const std::vector<ProblemOutcome> one = {outcome({true, false, true, false})};
    const Interval i = leap::pass_at_1(one, 100, 0);
    EXPECT_DOUBLE_EQ(i.mean, 0.5);
    EXPECT_DOUBLE_EQ(i.lo, 0.5);
    EXPECT_DOUBLE_EQ(i.hi, 0.5);
    // Zero problems, a problem without paths, B < 1: errors.
    EXPECT_EQ(error_of([] { leap::pass_at_1({}, 100, 0); }), "no problems to score");
    EXPECT_EQ(error_of([] { leap::summarize({}); }), "no problems to score");
    EXPECT_EQ(error_of([] { leap::pass_at_1({outcome({true}), outcome({})}, 100, 0); }),
              "problem 1 has no paths");
    EXPECT_FALSE(error_of([&] { leap::pass_at_1(one, 0, 0); }).empty());
    EXPECT_FALSE(error_of([] { leap::bootstrap_over_problems({}, 10, 0); }).empty());
    EXPECT_FALSE(error_of([] { leap::summarize_runs({}); }).empty());
}

TEST(Metrics, SummaryJson) {
    std::vector<ProblemOutcome> ps;
    for (int i = 0; i < 6; ++i) {
        std::vector<bool> c(6, false);
        for (int j = 0; j < i; ++j) c[j] = true;  // problem i: i of 6 paths correct
        ps.push_back(outcome(c, i >= 3, i >= 4, {{"reasoning", 100 * (i + 1)}, {"summary", 10}}, 2.0));
    }
    leap::MetricsOptions opt;
    opt.bootstrap = 500;
    opt.seed = 9;
    const leap::Summary s = leap::summarize(ps, opt);
    const nlohmann::json j = s.to_json();
    EXPECT_EQ(j["n"], 6);
    EXPECT_EQ(j["paths"], 6);
    EXPECT_EQ(j["runs"], 1);
    EXPECT_NEAR(j["pass@1"].get<double>(), (0 + 1 + 2 + 3 + 4 + 5) / 36.0, 1e-12);
    EXPECT_NEAR(j["cons@n"].get<double>(), 0.5, 1e-12);
    EXPECT_NEAR(j["shortest_majority"].get<double>(), 2.0 / 6, 1e-12);
    ASSERT_TRUE(j["pass@1_ci"].is_array());
    ASSERT_EQ(j["pass@1_ci"].size(), 2u);
    EXPECT_LE(j["pass@1_ci"][0].get<double>(), j["pass@1"].get<double>());
    EXPECT_GE(j["pass@1_ci"][1].get<double>(), j["pass@1"].get<double>());
    EXPECT_EQ(j["cons@n_ci"].size(), 2u);
    // k = 1, 2, 4 and N = 6.
    ASSERT_EQ(j["pass@k"].size(), 4u);
    EXPECT_TRUE(j["pass@k"].contains("1") && j["pass@k"].contains("2") && j["pass@k"].contains("4") &&
                j["pass@k"].contains("6"));
    EXPECT_NEAR(j["pass@k"]["1"].get<double>(), j["pass@1"].get<double>(), 1e-12);
    EXPECT_NEAR(j["pass@k"]["6"].get<double>(), 5.0 / 6, 1e-12);  // every problem but the first
    double k2 = 0;
    for (int c = 0; c < 6; ++c) k2 += leap::pass_at_k_unbiased(6, c, 2);
    EXPECT_NEAR(j["pass@k"]["2"].get<double>(), k2 / 6, 1e-12);
    EXPECT_EQ(j["pass@k_ci"]["4"].size(), 2u);
    // Tokens: reasoning mean 350, summary 10, total 360 per problem; 2160 in all over 12 s.
    EXPECT_NEAR(j["tokens_per_problem"]["reasoning"].get<double>(), 350.0, 1e-9);
    EXPECT_NEAR(j["tokens_per_problem"]["summary"].get<double>(), 10.0, 1e-9);
    EXPECT_NEAR(j["tokens_per_problem"]["total"].get<double>(), 360.0, 1e-9);
    EXPECT_EQ(j["tokens_total"], 2160);
    EXPECT_NEAR(j["wall_s"].get<double>(), 12.0, 1e-12);
    EXPECT_NEAR(j["tokens_per_s"].get<double>(), 180.0, 1e-9);
    EXPECT_EQ(j["bootstrap"]["B"], 500);
    EXPECT_EQ(j["bootstrap"]["over"], "problems");
    EXPECT_FALSE(j.contains("per_run"));
    // Deterministic for a seed.
    EXPECT_EQ(leap::summarize(ps, opt).to_json().dump(), j.dump());

    // Measured wall time (concurrent problems) replaces the sum; chosen ks; bad k.
    opt.wall_s = 4.0;
    opt.ks = {3};
    const nlohmann::json j2 = leap::summarize(ps, opt).to_json();
    EXPECT_NEAR(j2["tokens_per_s"].get<double>(), 540.0, 1e-9);
    EXPECT_EQ(j2["pass@k"].size(), 1u);
    EXPECT_NEAR(j2["pass@k"]["3"].get<double>(), leap::pass_at_k(ps, 3, 10, 0).mean, 1e-12);
    opt.ks = {7};
    EXPECT_NE(error_of([&] { leap::summarize(ps, opt); }).find("pass@7"), std::string::npos);
}

TEST(Metrics, SeveralSeeds) {
    // Run 0 gets every problem right, run 1 every problem wrong: the per-problem mean over runs
    // is 0.5 everywhere, so only the seed resampling gives the interval its width.
    std::vector<ProblemOutcome> good, bad;
    for (int p = 0; p < 30; ++p) {
        good.push_back(outcome({true, true}, true, true, {{"reasoning", 10}}, 1.0));
        bad.push_back(outcome({false, false}, false, false, {{"reasoning", 30}}, 1.0));
    }
    const std::vector<std::vector<ProblemOutcome>> runs = {good, bad};
    const Interval i = leap::pass_at_1_runs(runs, 2000, 5);
    EXPECT_DOUBLE_EQ(i.mean, 0.5);
    EXPECT_LT(i.lo, 0.4);
    EXPECT_GT(i.hi, 0.6);
    std::vector<double> per_problem_mean(30, 0.5);
    const Interval flat = leap::bootstrap_over_problems(per_problem_mean, 2000, 5);
    EXPECT_DOUBLE_EQ(flat.hi - flat.lo, 0.0);

    // One run: the seeds bootstrap is the problems bootstrap, draw for draw.
    const std::vector<double> v = {0, 1, 0.5, 0.25, 1, 0, 0.75};
    const Interval a = leap::bootstrap_over_seeds({v}, 1000, 11);
    const Interval b = leap::bootstrap_over_problems(v, 1000, 11);
    EXPECT_EQ(a.lo, b.lo);
    EXPECT_EQ(a.hi, b.hi);
    EXPECT_EQ(a.mean, b.mean);

    leap::MetricsOptions opt;
    opt.bootstrap = 400;
    const nlohmann::json j = leap::summarize_runs(runs, opt).to_json();
    EXPECT_EQ(j["runs"], 2);
    EXPECT_EQ(j["n"], 30);
    EXPECT_EQ(j["paths"], 2);
    EXPECT_NEAR(j["pass@1"].get<double>(), 0.5, 1e-12);
    EXPECT_NEAR(j["cons@n"].get<double>(), 0.5, 1e-12);
    EXPECT_NEAR(j["tokens_per_problem"]["reasoning"].get<double>(), 20.0, 1e-12);
    EXPECT_EQ(j["tokens_total"], 1200);
    EXPECT_NEAR(j["wall_s"].get<double>(), 60.0, 1e-12);
    EXPECT_EQ(j["bootstrap"]["over"], "problems and seeds");
    ASSERT_EQ(j["per_run"].size(), 2u);
    EXPECT_NEAR(j["per_run"][0]["pass@1"].get<double>(), 1.0, 1e-12);
    EXPECT_NEAR(j["per_run"][1]["cons@n"].get<double>(), 0.0, 1e-12);
    EXPECT_LT(j["pass@1_ci"][0].get<double>(), 0.45);

    // Runs must cover the same problems.
    std::vector<std::vector<ProblemOutcome>> uneven = {good, std::vector<ProblemOutcome>(bad.begin(), bad.end() - 1)};
    EXPECT_NE(error_of([&] { leap::summarize_runs(uneven, opt); }).find("run 1 has 29 problems but run 0 has 30"),
              std::string::npos);
}

// Tokens/s: sampled tokens (not prompts, not injected peers' summaries) over the run's elapsed
// time (the problems' elapsed_s), not over the overlapping per-problem wall times.
TEST(Metrics, TokensPerSecondIsSampledTokensOverElapsedTime) {
    std::vector<ProblemOutcome> ps;
    for (int i = 0; i < 2; ++i) {
        ProblemOutcome o = outcome({true, false}, true, true, {{"reasoning", 90}, {"answer", 10}, {"prompt", 50}, {"injected", 20}}, 10.0);
        o.elapsed_s = 6.0;
        ps.push_back(o);
    }
    leap::MetricsOptions opt;
    opt.bootstrap = 50;
    const nlohmann::json j = leap::summarize(ps, opt).to_json();
    EXPECT_EQ(j["tokens_total"], 340);
    EXPECT_EQ(j["tokens_sampled"], 200);
    EXPECT_NEAR(j["wall_s"].get<double>(), 12.0, 1e-12);
    EXPECT_EQ(j["wall_s_source"], "elapsed");
    EXPECT_NEAR(j["tokens_per_s"].get<double>(), 200.0 / 12.0, 1e-9);
    // Older results (no elapsed_s on some line): the per-problem sum, and the metrics say so.
    ps[1].elapsed_s = -1;
    const nlohmann::json old = leap::summarize(ps, opt).to_json();
    EXPECT_NEAR(old["wall_s"].get<double>(), 20.0, 1e-12);
    EXPECT_EQ(old["wall_s_source"], "per-problem sum");
}
