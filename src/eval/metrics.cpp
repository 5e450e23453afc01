#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/rng.h"

namespace leap {
namespace {

using Runs = std::vector<std::vector<ProblemOutcome>>;
using PerProblem = std::function<double(const ProblemOutcome&)>;

void check_bootstrap(int B, double confidence) {
    if (B < 1) throw Error("bootstrap replicates must be at least 1 (got " + std::to_string(B) + ")");
    if (!(confidence > 0 && confidence < 1))
        throw Error("confidence must be in (0, 1) (got " + std::to_string(confidence) + ")");
}

// Linear interpolation between order statistics (the usual "type 7" quantile).
double quantile(const std::vector<double>& sorted, double q) {
    const double h = (static_cast<double>(sorted.size()) - 1) * q;
    const size_t i = static_cast<size_t>(std::floor(h));
    if (i + 1 >= sorted.size()) return sorted.back();
    return sorted[i] + (h - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

Interval percentile(std::vector<double> reps, double mean, double confidence) {
    std::sort(reps.begin(), reps.end());
    const double a = (1 - confidence) / 2;
    return {mean, quantile(reps, a), quantile(reps, 1 - a)};
}

void check_problems(const std::vector<ProblemOutcome>& problems, const std::string& where) {
    if (problems.empty()) throw Error(where + "no problems to score");
    for (size_t p = 0; p < problems.size(); ++p)
        if (problems[p].correct.empty())
            throw Error(where + "problem " + std::to_string(p) + " has no paths");
}

void check_runs(const Runs& runs) {
    if (runs.empty()) throw Error("no runs to score");
    for (size_t r = 0; r < runs.size(); ++r) {
        if (runs[r].size() != runs[0].size())
            throw Error("run " + std::to_string(r) + " has " + std::to_string(runs[r].size()) +
                        " problems but run 0 has " + std::to_string(runs[0].size()) +
                        " (runs must cover the same problems)");
        check_problems(runs[r], "run " + std::to_string(r) + ": ");
    }
}

int count_correct(const ProblemOutcome& o) {
    return static_cast<int>(std::count(o.correct.begin(), o.correct.end(), true));
}

double pass1_of(const ProblemOutcome& o) {
    return static_cast<double>(count_correct(o)) / static_cast<double>(o.correct.size());
}
double cons_of(const ProblemOutcome& o) { return o.consensus_correct ? 1.0 : 0.0; }
double share(const std::vector<bool>& v) {
    return static_cast<double>(std::count(v.begin(), v.end(), true)) / static_cast<double>(v.size());
}
double pass1_reference_of(const ProblemOutcome& o) { return share(o.correct_reference); }
double cons_reference_of(const ProblemOutcome& o) { return o.consensus_reference_correct ? 1.0 : 0.0; }
double pass1_representatives_of(const ProblemOutcome& o) { return share(o.representative_correct); }
double cons_representatives_of(const ProblemOutcome& o) { return o.consensus_representatives_correct ? 1.0 : 0.0; }

// Whether every problem of every run carries a per-path vector (an optional metric's input).
bool all_have(const Runs& runs, std::vector<bool> ProblemOutcome::*field) {
    for (const auto& run : runs)
        for (const auto& o : run)
            if ((o.*field).empty()) return false;
    return true;
}
double shortest_of(const ProblemOutcome& o) { return o.shortest_majority_correct ? 1.0 : 0.0; }
double cons_confidence_of(const ProblemOutcome& o) { return o.confidence_vote_correct > 0 ? 1.0 : 0.0; }

PerProblem passk_of(int k) {
    return [k](const ProblemOutcome& o) {
        return pass_at_k_unbiased(static_cast<int>(o.correct.size()), count_correct(o), k);
    };
}

void check_k(const Runs& runs, int k) {
    if (k < 1) throw Error("pass@k needs k >= 1 (got " + std::to_string(k) + ")");
    for (size_t r = 0; r < runs.size(); ++r)
        for (size_t p = 0; p < runs[r].size(); ++p)
            if (static_cast<size_t>(k) > runs[r][p].correct.size())
                throw Error("pass@" + std::to_string(k) + ": " +
                            (runs.size() > 1 ? "run " + std::to_string(r) + ", " : std::string()) +
                            "problem " + std::to_string(p) + " has only " +
                            std::to_string(runs[r][p].correct.size()) + " paths (k must be <= N)");
}

std::vector<double> values_of(const std::vector<ProblemOutcome>& problems, const PerProblem& f) {
    std::vector<double> v;
    v.reserve(problems.size());
    for (const auto& o : problems) v.push_back(f(o));
    return v;
}

std::vector<std::vector<double>> values_of(const Runs& runs, const PerProblem& f) {
    std::vector<std::vector<double>> v;
    v.reserve(runs.size());
    for (const auto& run : runs) v.push_back(values_of(run, f));
    return v;
}

Interval one(const std::vector<ProblemOutcome>& problems, const PerProblem& f, int B, uint64_t seed,
             double confidence = 0.95) {
    check_problems(problems, "");
    return bootstrap_over_problems(values_of(problems, f), B, seed, confidence);
}

Interval many(const Runs& runs, const PerProblem& f, int B, uint64_t seed, double confidence = 0.95) {
    check_runs(runs);
    return bootstrap_over_seeds(values_of(runs, f), B, seed, confidence);
}

nlohmann::json ci(const Interval& i) { return nlohmann::json::array({i.lo, i.hi}); }

}  // namespace

double pass_at_k_unbiased(int n, int c, int k) {
    if (n < 1) throw Error("pass@k needs at least one path (n = " + std::to_string(n) + ")");
    if (c < 0 || c > n)
        throw Error("pass@k: correct count " + std::to_string(c) + " outside 0.." + std::to_string(n));
    if (k < 1 || k > n)
        throw Error("pass@" + std::to_string(k) + " needs 1 <= k <= n (n = " + std::to_string(n) + ")");
    if (n - c < k) return 1.0;  // every k-subset holds a correct path
    double prod = 1.0;          // C(n-c, k) / C(n, k) = prod_{i=n-c+1..n} (1 - k/i)
    for (int i = n - c + 1; i <= n; ++i) prod *= 1.0 - static_cast<double>(k) / i;
    return 1.0 - prod;
}

Interval bootstrap_over_problems(const std::vector<double>& values, int B, uint64_t seed,
                                 double confidence) {
    if (values.empty()) throw Error("bootstrap: no problems to resample");
    check_bootstrap(B, confidence);
    const size_t P = values.size();
    double mean = 0;
    for (double v : values) mean += v;
    mean /= static_cast<double>(P);
    std::vector<double> reps(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) {
        Rng rng(mix_seed({seed, static_cast<uint64_t>(b)}));
        double s = 0;
        for (size_t i = 0; i < P; ++i) s += values[rng.below(P)];
        reps[static_cast<size_t>(b)] = s / static_cast<double>(P);
    }
    return percentile(std::move(reps), mean, confidence);
}

Interval bootstrap_over_seeds(const std::vector<std::vector<double>>& values, int B, uint64_t seed,
                              double confidence) {
    if (values.empty()) throw Error("bootstrap: no runs to resample");
    const size_t R = values.size(), P = values[0].size();
    if (P == 0) throw Error("bootstrap: no problems to resample");
    for (size_t r = 0; r < R; ++r)
        if (values[r].size() != P)
            throw Error("bootstrap: run " + std::to_string(r) + " has " +
                        std::to_string(values[r].size()) + " problems but run 0 has " +
                        std::to_string(P));
    check_bootstrap(B, confidence);
    double mean = 0;
    for (const auto& run : values)
        for (double v : run) mean += v;
    mean /= static_cast<double>(R * P);
    std::vector<double> reps(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) {
        Rng rng(mix_seed({seed, static_cast<uint64_t>(b)}));
        double s = 0;
        for (size_t i = 0; i < P; ++i) {
            const size_t p = rng.below(P);
            // With one run no draw is spent, so R = 1 reproduces bootstrap_over_problems.
            const size_t r = R > 1 ? rng.below(R) : 0;
            s += values[r][p];
        }
        reps[static_cast<size_t>(b)] = s / static_cast<double>(P);
    }
    return percentile(std::move(reps), mean, confidence);
}

Interval pass_at_1(const std::vector<ProblemOutcome>& problems, int B, uint64_t seed) {
    return one(problems, pass1_of, B, seed);
}
Interval cons_at_n(const std::vector<ProblemOutcome>& problems, int B, uint64_t seed) {
    return one(problems, cons_of, B, seed);
}
Interval shortest_majority(const std::vector<ProblemOutcome>& problems, int B, uint64_t seed) {
    return one(problems, shortest_of, B, seed);
}
Interval pass_at_k(const std::vector<ProblemOutcome>& problems, int k, int B, uint64_t seed) {
    check_problems(problems, "");
    check_k(Runs{problems}, k);
    return one(problems, passk_of(k), B, seed);
}

Interval pass_at_1_runs(const Runs& runs, int B, uint64_t seed) { return many(runs, pass1_of, B, seed); }
Interval cons_at_n_runs(const Runs& runs, int B, uint64_t seed) { return many(runs, cons_of, B, seed); }
Interval shortest_majority_runs(const Runs& runs, int B, uint64_t seed) {
    return many(runs, shortest_of, B, seed);
}
Interval pass_at_k_runs(const Runs& runs, int k, int B, uint64_t seed) {
    check_runs(runs);
    check_k(runs, k);
    return many(runs, passk_of(k), B, seed);
}

Summary summarize_runs(const Runs& runs, const MetricsOptions& opt) {
    check_runs(runs);
    check_bootstrap(opt.bootstrap, opt.confidence);
    Summary s;
    s.runs = static_cast<int>(runs.size());
    s.n = static_cast<int>(runs[0].size());
    s.bootstrap = opt.bootstrap;
    s.seed = opt.seed;
    s.confidence = opt.confidence;

    size_t min_n = SIZE_MAX;
    for (const auto& run : runs)
        for (const auto& o : run) min_n = std::min(min_n, o.correct.size());
    s.paths = static_cast<int>(min_n);

    const int B = opt.bootstrap;
    s.pass1 = many(runs, pass1_of, B, opt.seed, opt.confidence);
    s.cons = many(runs, cons_of, B, opt.seed, opt.confidence);
    s.shortest_majority = many(runs, shortest_of, B, opt.seed, opt.confidence);

    if (all_have(runs, &ProblemOutcome::correct_reference)) {
        s.pass1_reference = many(runs, pass1_reference_of, B, opt.seed, opt.confidence);
        s.cons_reference = many(runs, cons_reference_of, B, opt.seed, opt.confidence);
    }
    if (all_have(runs, &ProblemOutcome::representative_correct)) {
        s.pass1_representatives = many(runs, pass1_representatives_of, B, opt.seed, opt.confidence);
        s.cons_representatives = many(runs, cons_representatives_of, B, opt.seed, opt.confidence);
    }

    bool weighted = true;
    long stopped = 0;
    for (const auto& run : runs)
        for (const auto& o : run) {
            weighted = weighted && o.confidence_vote_correct >= 0;
            stopped += o.stopped;
        }
    std::vector<std::pair<double, bool>> scored;
    bool scores = true;
    for (const auto& run : runs)
        for (const auto& o : run) {
            scores = scores && o.path_confidence.size() == o.correct.size();
            for (size_t i = 0; i < o.path_confidence.size() && i < o.correct.size(); ++i)
                scored.emplace_back(o.path_confidence[i], o.correct[i]);
        }
    if (scores && !scored.empty()) {
        s.confidence_auroc = auroc(scored);
        double sum[2] = {0, 0};
        long count[2] = {0, 0};
        for (const auto& [c, ok] : scored) {
            sum[ok] += c;
            ++count[ok];
        }
        s.confidence_correct = count[1] ? sum[1] / count[1] : 0;
        s.confidence_wrong = count[0] ? sum[0] / count[0] : 0;
    }
    if (weighted) s.cons_confidence = many(runs, cons_confidence_of, B, opt.seed, opt.confidence);
    s.stopped_per_problem = (double)stopped / (double)(runs.size() * runs[0].size());

    std::vector<int> ks = opt.ks;
    if (ks.empty()) {
        for (int k = 1; k <= s.paths; k *= 2) ks.push_back(k);
        if (ks.back() != s.paths) ks.push_back(s.paths);
    }
    for (int k : ks) {
        check_k(runs, k);
        s.pass_k[k] = many(runs, passk_of(k), B, opt.seed, opt.confidence);
    }

    double wall = 0, elapsed = 0;
    bool all_elapsed = true;
    std::map<std::string, long> sums;
    for (const auto& run : runs)
        for (const auto& o : run) {
            wall += o.wall_s;
            all_elapsed = all_elapsed && o.elapsed_s >= 0;
            elapsed += std::max(0.0, o.elapsed_s);
            for (const auto& [kind, t] : o.tokens) {
                sums[kind] += t;
                s.tokens_total += t;
                // Prompts and the peers' summaries fed to a path are evaluated, not sampled.
                if (kind != "prompt" && kind != "injected") s.tokens_sampled += t;
            }
        }
    const double cells = static_cast<double>(runs.size() * runs[0].size());
    for (const auto& [kind, t] : sums) s.tokens_per_problem[kind] = static_cast<double>(t) / cells;
    s.tokens_per_problem["total"] = static_cast<double>(s.tokens_total) / cells;
    s.wall_elapsed = opt.wall_s > 0 || all_elapsed;
    s.wall_s = opt.wall_s > 0 ? opt.wall_s : all_elapsed ? elapsed : wall;
    s.tokens_per_s = s.wall_s > 0 ? static_cast<double>(s.tokens_sampled) / s.wall_s : 0.0;

    if (runs.size() > 1) {
        for (const auto& run : runs) {
            double p1 = 0, cn = 0;
            for (const auto& o : run) {
                p1 += pass1_of(o);
                cn += cons_of(o);
            }
            s.per_run.push_back({p1 / static_cast<double>(run.size()),
                                 cn / static_cast<double>(run.size())});
        }
    }
    return s;
}

std::optional<double> auroc(const std::vector<std::pair<double, bool>>& scored) {
    // Mann-Whitney: sum of the correct paths' ranks (ties share the mean rank).
    std::vector<std::pair<double, bool>> v = scored;
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double rank_sum = 0;
    long pos = 0, neg = 0;
    for (size_t i = 0; i < v.size();) {
        size_t j = i;
        while (j < v.size() && v[j].first == v[i].first) ++j;
        const double mean_rank = (double)(i + 1 + j) / 2.0;  // ranks i+1 .. j
        for (size_t t = i; t < j; ++t) {
            if (v[t].second) {
                rank_sum += mean_rank;
                ++pos;
            } else {
                ++neg;
            }
        }
        i = j;
    }
    if (pos == 0 || neg == 0) return std::nullopt;
    return (rank_sum - (double)pos * (pos + 1) / 2.0) / ((double)pos * (double)neg);
}

Summary summarize(const std::vector<ProblemOutcome>& problems, const MetricsOptions& options) {
    check_problems(problems, "");
    return summarize_runs(Runs{problems}, options);
}

nlohmann::json Summary::to_json() const {
    nlohmann::json j;
    j["n"] = n;
    j["paths"] = paths;
    j["runs"] = runs;
    j["pass@1"] = pass1.mean;
    j["pass@1_ci"] = ci(pass1);
    j["cons@n"] = cons.mean;
    j["cons@n_ci"] = ci(cons);
    j["shortest_majority"] = shortest_majority.mean;
    j["shortest_majority_ci"] = ci(shortest_majority);
    auto optional = [&](const char* key, const std::optional<Interval>& i) {
        if (!i) return;
        j[key] = i->mean;
        j[std::string(key) + "_ci"] = ci(*i);
    };
    optional("pass@1_reference", pass1_reference);
    optional("cons@n_reference", cons_reference);
    optional("pass@1_representatives", pass1_representatives);
    optional("cons@n_representatives", cons_representatives);
    optional("cons@n_confidence", cons_confidence);
    if (stopped_per_problem > 0) j["stopped_per_problem"] = stopped_per_problem;
    if (confidence_auroc) {
        j["confidence_auroc"] = *confidence_auroc;
        j["confidence_correct_mean"] = confidence_correct;
        j["confidence_wrong_mean"] = confidence_wrong;
    }
    j["pass@k"] = nlohmann::json::object();
    j["pass@k_ci"] = nlohmann::json::object();
    for (const auto& [k, i] : pass_k) {
        j["pass@k"][std::to_string(k)] = i.mean;
        j["pass@k_ci"][std::to_string(k)] = ci(i);
    }
    j["tokens_per_problem"] = nlohmann::json::object();
    for (const auto& [kind, v] : tokens_per_problem) j["tokens_per_problem"][kind] = v;
    j["tokens_total"] = tokens_total;
    j["tokens_sampled"] = tokens_sampled;
    j["wall_s"] = wall_s;
    j["wall_s_source"] = wall_elapsed ? "elapsed" : "per-problem sum";
    j["tokens_per_s"] = tokens_per_s;
    j["bootstrap"] = {{"B", bootstrap},
                      {"seed", seed},
                      {"confidence", confidence},
                      {"over", runs > 1 ? "problems and seeds" : "problems"}};
    if (runs > 1) {
        j["per_run"] = nlohmann::json::array();
        for (const auto& r : per_run) j["per_run"].push_back({{"pass@1", r.pass1}, {"cons@n", r.cons}});
    }
    return j;
}

}  // namespace leap
