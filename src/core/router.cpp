#include "core/router.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/rng.h"

namespace leap {

RouterKind parse_router(std::string_view name) {
    if (name == "dispersed") return RouterKind::Dispersed;
    if (name == "clustered") return RouterKind::Clustered;
    if (name == "hybrid") return RouterKind::Hybrid;
    if (name == "random") return RouterKind::Random;
    if (name == "all") return RouterKind::All;
    if (name == "confident") return RouterKind::Confident;
    if (name == "confident-dispersed") return RouterKind::ConfidentDispersed;
    throw Error("unknown router \"" + std::string(name) +
                "\" (choices: dispersed, clustered, hybrid, random, all, confident, confident-dispersed)");
}

std::string_view to_string(RouterKind kind) {
    switch (kind) {
        case RouterKind::Dispersed: return "dispersed";
        case RouterKind::Clustered: return "clustered";
        case RouterKind::Hybrid: return "hybrid";
        case RouterKind::Random: return "random";
        case RouterKind::All: return "all";
        case RouterKind::Confident: return "confident";
        case RouterKind::ConfidentDispersed: return "confident-dispersed";
    }
    return "?";
}

namespace {

// Pairwise similarities, computed on first use and shared by (i, j) and (j, i), so each
// unordered pair costs one distance computation; each summary is decoded once.
class ScoreCache {
public:
    ScoreCache(const std::vector<std::string>& summaries, const std::vector<bool>& active,
               Similarity kind)
        : n_(summaries.size()), kind_(kind), decoded_(n_),
          scores_(n_ * n_, std::numeric_limits<double>::quiet_NaN()) {
        for (size_t i = 0; i < n_; ++i)
            if (active[i]) decoded_[i] = code_points(summaries[i]);
    }
    double operator()(int i, int j) {
        double& s = scores_[static_cast<size_t>(i) * n_ + static_cast<size_t>(j)];
        if (std::isnan(s)) {
            s = similarity(std::span<const uint32_t>(decoded_[i]),
                           std::span<const uint32_t>(decoded_[j]), kind_);
            scores_[static_cast<size_t>(j) * n_ + static_cast<size_t>(i)] = s;
        }
        return s;
    }

private:
    size_t n_;
    Similarity kind_;
    std::vector<std::vector<uint32_t>> decoded_;
    std::vector<double> scores_;
};

}  // namespace

std::vector<std::vector<RouteChoice>> route(const std::vector<std::string>& summaries,
                                            const std::vector<bool>& active,
                                            const RouterOptions& opt) {
    if (opt.k < 1) throw Error("k must be at least 1");
    if (summaries.size() != active.size())
        throw Error("route: " + std::to_string(summaries.size()) + " summaries but " +
                    std::to_string(active.size()) + " active flags");
    const bool by_confidence = opt.kind == RouterKind::Confident || opt.kind == RouterKind::ConfidentDispersed;
    if (by_confidence && opt.confidence.size() != summaries.size())
        throw Error("router " + std::string(to_string(opt.kind)) + ": " + std::to_string(opt.confidence.size()) +
                    " confidences for " + std::to_string(summaries.size()) + " summaries");
    // The candidates in order of confidence, most confident first (stable: ties keep the lower index).
    const auto most_confident = [&](std::vector<int> v) {
        std::stable_sort(v.begin(), v.end(), [&](int x, int y) { return opt.confidence[x] > opt.confidence[y]; });
        return v;
    };
    const int n = static_cast<int>(summaries.size());
    const size_t k = static_cast<size_t>(opt.k);
    ScoreCache score(summaries, active, opt.similarity);
    std::vector<std::vector<RouteChoice>> out(summaries.size());

    for (int i = 0; i < n; ++i) {
        if (!active[i]) continue;
        std::vector<int> cand;  // increasing index order
        for (int j = 0; j < n; ++j)
            if (j != i && active[j]) cand.push_back(j);
        auto& chosen = out[i];
        const auto pick = [&](int j) { chosen.push_back({j, score(i, j)}); };
        // Stable sorts over increasing index: equal scores keep the lower index first.
        const auto least = [&] {
            std::vector<int> v = cand;
            std::stable_sort(v.begin(), v.end(), [&](int x, int y) { return score(i, x) < score(i, y); });
            return v;
        };
        const auto most = [&] {
            std::vector<int> v = cand;
            std::stable_sort(v.begin(), v.end(), [&](int x, int y) { return score(i, x) > score(i, y); });
            return v;
        };
        switch (opt.kind) {
            case RouterKind::Dispersed:
            case RouterKind::Clustered: {
                const auto order = opt.kind == RouterKind::Dispersed ? least() : most();
                for (size_t t = 0; t < std::min(k, order.size()); ++t) pick(order[t]);
                break;
            }
            case RouterKind::Hybrid: {
                const size_t n_least = k / 2, n_most = k - k / 2;
                const auto lo = least(), hi = most();
                for (size_t t = 0; t < std::min(n_least, lo.size()); ++t) pick(lo[t]);
                if (opt.reference_parity) {
                    // Reference behaviour: the two slices are concatenated as they are.
                    for (size_t t = 0; t < std::min(n_most, hi.size()); ++t) pick(hi[t]);
                } else {
                    // Skip peers the least-similar part already took; keep going down the list.
                    const size_t want = std::min(k, cand.size());
                    for (size_t t = 0; t < hi.size() && chosen.size() < want; ++t) {
                        const bool taken = std::any_of(chosen.begin(), chosen.end(),
                                                       [&](const RouteChoice& c) { return c.peer == hi[t]; });
                        if (!taken) pick(hi[t]);
                    }
                }
                break;
            }
            case RouterKind::Random: {
                // Partial Fisher-Yates; the draw depends only on (seed, receiver).
                Rng rng(mix_seed({opt.seed, static_cast<uint64_t>(i)}));
                std::vector<int> pool = cand;
                const size_t take = std::min(k, pool.size());
                for (size_t t = 0; t < take; ++t) {
                    const size_t r = t + static_cast<size_t>(rng.below(pool.size() - t));
                    std::swap(pool[t], pool[r]);
                    pick(pool[t]);
                }
                break;
            }
            case RouterKind::All:
                for (int j : cand) pick(j);
                break;
            case RouterKind::Confident: {
                const auto order = most_confident(cand);
                for (size_t t = 0; t < std::min(k, order.size()); ++t) pick(order[t]);
                break;
            }
            case RouterKind::ConfidentDispersed: {
                // The more confident half (at least k), then the least similar of those.
                auto pool = most_confident(cand);
                pool.resize(std::min(pool.size(), std::max(k, (pool.size() + 1) / 2)));
                std::sort(pool.begin(), pool.end());
                std::stable_sort(pool.begin(), pool.end(), [&](int x, int y) { return score(i, x) < score(i, y); });
                for (size_t t = 0; t < std::min(k, pool.size()); ++t) pick(pool[t]);
                break;
            }
        }
    }
    return out;
}

}  // namespace leap
