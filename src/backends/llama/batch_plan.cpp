#include "backends/llama/batch_plan.h"

#include <algorithm>
#include <numeric>

namespace leap {

std::vector<AppendFeed> plan_appends(const std::vector<AppendDemand>& demands, int budget, bool pad) {
    const int k = (int)demands.size();
    std::vector<AppendFeed> feeds(k);
    if (k == 0 || budget <= 0) return feeds;

    // Even shares (water-filling): the shortest take what they need, the rest split what is left.
    std::vector<int> by_pending(k);
    std::iota(by_pending.begin(), by_pending.end(), 0);
    std::stable_sort(by_pending.begin(), by_pending.end(),
                     [&](int a, int b) { return demands[a].pending < demands[b].pending; });
    int left = budget;
    for (int r = 0; r < k && left > 0; ++r) {
        const int i = by_pending[r];
        const int share = std::max(1, left / (k - r));
        feeds[i].n = std::min({demands[i].pending, share, left});
        left -= feeds[i].n;
    }
    if (!pad) return feeds;

    // Runs of consecutive sequence ids, each padded to one height where that is cheap.
    std::vector<int> by_seq;
    for (int i = 0; i < k; ++i)
        if (feeds[i].n > 0) by_seq.push_back(i);
    std::sort(by_seq.begin(), by_seq.end(), [&](int a, int b) { return demands[a].seq < demands[b].seq; });
    for (size_t lo = 0; lo < by_seq.size();) {
        size_t hi = lo + 1;
        while (hi < by_seq.size() && demands[by_seq[hi]].seq == demands[by_seq[hi - 1]].seq + 1) ++hi;
        const int count = (int)(hi - lo);
        if (count >= 2) {
            long real = 0;
            int tallest = 0;
            for (size_t j = lo; j < hi; ++j) {
                real += feeds[by_seq[j]].n;
                tallest = std::max(tallest, feeds[by_seq[j]].n);
            }
            // The height the run's tokens and what is left of the budget allow.
            const int height = (int)std::min<long>(tallest, (real + left) / count);
            long fed = 0, pads = 0;
            bool fits = height > 0;
            for (size_t j = lo; j < hi && fits; ++j) {
                const int i = by_seq[j];
                const int n = std::min(feeds[i].n, height);
                fed += n;
                pads += height - n;
                fits = demands[i].room >= height;
            }
            if (fits && pads > 0 && pads <= kMaxPadShare * fed) {
                for (size_t j = lo; j < hi; ++j) {
                    AppendFeed& f = feeds[by_seq[j]];
                    f.n = std::min(f.n, height);
                    f.pad = height - f.n;
                }
                left += (int)(real - fed - pads);
            }
        }
        lo = hi;
    }
    return feeds;
}

}  // namespace leap
