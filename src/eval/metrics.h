#pragma once
// Benchmark metrics over per-problem path outcomes: Pass@1, Cons@N, unbiased pass@k, the
// shortest-majority vote, tokens and time, with percentile-bootstrap confidence intervals over
// problems and (for several runs of the same problems) over seeds. Definitions: docs/metrics.md.
#include <cstdint>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace leap {

// What happened on one problem.
struct ProblemOutcome {
    std::vector<bool> correct;              // per path: its final answer is correct
    bool consensus_correct = false;         // the majority answer is correct
    bool shortest_majority_correct = false; // the shortest-majority vote's answer is correct
    std::map<std::string, long> tokens;     // by kind (reasoning, summary, injected, ...), summed over paths
    double wall_s = 0;                      // seconds spent on this problem
    // Wall seconds from the previous result (or the run's start) to this one, when recorded (leap
    // eval writes timings.elapsed_s): summed, the run's real elapsed time; < 0: not recorded.
    double elapsed_s = -1;
    // The reference implementation's check (eval/reference_grade.h); empty for lines written
    // before leap recorded it.
    std::vector<bool> correct_reference;
    bool consensus_reference_correct = false;
    // LeaP-S: the paths that continued past the block (one per group); empty for other methods.
    std::vector<bool> representative_correct;
    bool consensus_representatives_correct = false;
    // Confidence-weighted vote (docs/adaptive.md): 1 correct, 0 wrong, -1 not recorded.
    int confidence_vote_correct = -1;
    int stopped = 0;  // paths stopped early (early exit, pruning): not in `correct`
    // Each path's confidence (its lowest group confidence), parallel to `correct`, when recorded.
    std::vector<double> path_confidence;
};

// How well a score separates correct from wrong paths: the probability that a correct path
// scores above a wrong one (ties count one half), over the pairs (score, correct). nullopt
// when there are no correct or no wrong paths.
std::optional<double> auroc(const std::vector<std::pair<double, bool>>& scored);

struct Interval {
    double mean = 0, lo = 0, hi = 0;
};

// 1 - C(n-c, k) / C(n, k), computed as 1 - prod_{i=n-c+1..n} (1 - k/i). Throws leap::Error when
// k < 1, k > n, c < 0 or c > n.
double pass_at_k_unbiased(int n, int c, int k);

// Percentile bootstrap of the mean of per-problem values: B replicates, each resampling the
// problems with replacement; replicate b draws from Rng(mix_seed({seed, b})), so two metrics
// bootstrapped with the same seed see the same resamples. Throws on no values or B < 1.
Interval bootstrap_over_problems(const std::vector<double>& values, int B, uint64_t seed,
                                 double confidence = 0.95);
// values[r][p]: run r (a seed) on problem p; every run must cover the same problems. Each
// replicate resamples problems with replacement and, for each drawn problem, one run uniformly;
// its statistic is the mean of the drawn values. mean = the grand mean over runs and problems.
Interval bootstrap_over_seeds(const std::vector<std::vector<double>>& values, int B, uint64_t seed,
                              double confidence = 0.95);

// Per-problem metrics with a bootstrap-over-problems interval. All throw leap::Error for no
// problems, a problem with no paths, or (pass@k) k outside 1..N of some problem.
Interval pass_at_1(const std::vector<ProblemOutcome>& problems, int B = 2000, uint64_t seed = 0);
Interval cons_at_n(const std::vector<ProblemOutcome>& problems, int B = 2000, uint64_t seed = 0);
Interval pass_at_k(const std::vector<ProblemOutcome>& problems, int k, int B = 2000, uint64_t seed = 0);
Interval shortest_majority(const std::vector<ProblemOutcome>& problems, int B = 2000, uint64_t seed = 0);

// The same over several runs (seeds) of the same problems, with bootstrap_over_seeds.
Interval pass_at_1_runs(const std::vector<std::vector<ProblemOutcome>>& runs, int B = 2000, uint64_t seed = 0);
Interval cons_at_n_runs(const std::vector<std::vector<ProblemOutcome>>& runs, int B = 2000, uint64_t seed = 0);
Interval pass_at_k_runs(const std::vector<std::vector<ProblemOutcome>>& runs, int k, int B = 2000, uint64_t seed = 0);
Interval shortest_majority_runs(const std::vector<std::vector<ProblemOutcome>>& runs, int B = 2000, uint64_t seed = 0);

struct MetricsOptions {
    int bootstrap = 2000;        // B, replicates
    uint64_t seed = 0;           // bootstrap seed
    double confidence = 0.95;
    std::vector<int> ks;         // pass@k values; empty: 1, 2, 4, ... and N (N = fewest paths)
    double wall_s = 0;           // > 0: the measured wall time of the whole run, used instead of
                                 // the problems' elapsed_s (or, for results without them, the sum
                                 // of per-problem wall_s, which overlap when problems run at once)
};

struct Summary {
    int n = 0;                   // problems
    int paths = 0;               // N: paths per problem (the fewest, if problems differ)
    int runs = 1;                // seeds summarized
    int bootstrap = 0;
    uint64_t seed = 0;
    double confidence = 0.95;
    Interval pass1, cons, shortest_majority;
    // Present when every problem has them: the reference's check (pass@1_reference,
    // cons@n_reference), and LeaP-S's representatives only (pass@1_representatives, ...).
    std::optional<Interval> pass1_reference, cons_reference;
    std::optional<Interval> pass1_representatives, cons_representatives;
    std::optional<Interval> cons_confidence;  // confidence-weighted vote, when every problem has it
    double stopped_per_problem = 0;           // paths stopped early (early exit, pruning), mean
    // When every path has a confidence: AUROC of confidence for correctness, and the mean
    // confidence of correct and of wrong paths (docs/adaptive.md: does the signal exist at all).
    std::optional<double> confidence_auroc;
    double confidence_correct = 0, confidence_wrong = 0;
    std::map<int, Interval> pass_k;              // k -> unbiased pass@k
    std::map<std::string, double> tokens_per_problem;  // mean by kind, plus "total"
    long tokens_total = 0;       // over all problems (and runs), prompts and peers' summaries included
    long tokens_sampled = 0;     // the tokens the model sampled: reasoning, summaries, answers
    double wall_s = 0;           // elapsed wall time (see MetricsOptions::wall_s)
    bool wall_elapsed = true;    // false: results without elapsed_s; wall_s sums per-problem times
    // THE tokens-per-second of leap (progress lines, tables, JSON, the report): sampled tokens over
    // elapsed wall time (0 when wall_s is 0).
    double tokens_per_s = 0;
    struct RunPoint {
        double pass1 = 0, cons = 0;
    };
    std::vector<RunPoint> per_run;  // summarize_runs with several runs: each run's point values

    // Keys: "pass@1", "pass@1_ci" [lo, hi], "cons@n", "cons@n_ci", "shortest_majority",
    // "shortest_majority_ci", "pass@k" {"k": value}, "pass@k_ci" {"k": [lo, hi]}, "n", "paths",
    // "runs", "tokens_per_problem" {kind: mean, "total": mean}, "tokens_total", "tokens_sampled",
    // "wall_s", "wall_s_source" ("elapsed" | "per-problem sum"), "tokens_per_s", "bootstrap" {"B", "seed", "confidence", "over"}, and "per_run" for runs > 1;
    // "pass@1_reference", "cons@n_reference" (+ "_ci") and, for LeaP-S, "pass@1_representatives",
    // "cons@n_representatives" (+ "_ci") when present.
    nlohmann::json to_json() const;
};

Summary summarize(const std::vector<ProblemOutcome>& problems, const MetricsOptions& options = {});
// runs[r][p]: run r on problem p (same problems, same order, in every run). Means are over all
// runs and problems; intervals come from bootstrap_over_seeds; tokens and wall time add up over
// runs (tokens_per_problem is the mean per problem per run).
Summary summarize_runs(const std::vector<std::vector<ProblemOutcome>>& runs,
                       const MetricsOptions& options = {});

}  // namespace leap
