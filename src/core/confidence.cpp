#include "core/confidence.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace leap {

double token_confidence(const float* logits, int n, int k) {
    if (n <= 0 || k <= 0) return 0.0;
    // The k largest logits (a min-heap of the best so far) and the log-sum-exp over all, in one pass.
    std::vector<float> top;
    top.reserve((size_t)std::min(n, k));
    float max_logit = -INFINITY;
    for (int i = 0; i < n; ++i) max_logit = std::max(max_logit, logits[i]);
    if (!std::isfinite(max_logit)) return 0.0;
    double sum_exp = 0;
    for (int i = 0; i < n; ++i) {
        const float l = logits[i];
        if (!std::isfinite(l)) continue;
        sum_exp += std::exp((double)l - max_logit);
        if ((int)top.size() < k) {
            top.push_back(l);
            std::push_heap(top.begin(), top.end(), std::greater<float>());
        } else if (l > top.front()) {
            std::pop_heap(top.begin(), top.end(), std::greater<float>());
            top.back() = l;
            std::push_heap(top.begin(), top.end(), std::greater<float>());
        }
    }
    const double log_z = max_logit + std::log(sum_exp);
    double neg = 0;
    for (float l : top) neg += log_z - (double)l;  // -log p(j)
    return neg / (double)top.size();
}

nlohmann::json ConfidenceSpan::to_json() const {
    return {{"tokens", tokens}, {"mean", mean()}, {"lowest_group", lowest_group}, {"group_at_end", group_at_end}};
}

void PathConfidence::add(double c) {
    recent_.push_back(c);
    recent_sum_ += c;
    if ((int)recent_.size() > window_) {
        recent_sum_ -= recent_.front();
        recent_.pop_front();
    }
    const double g = group();
    const bool full = (int)recent_.size() == window_;
    if (segments_.empty()) segments_.emplace_back();
    for (ConfidenceSpan* s : {&total_, &segments_.back()}) {
        if (full) {
            s->lowest_group = s->any_full ? std::min(s->lowest_group, g) : g;
            s->any_full = true;
        } else if (!s->any_full) {
            s->lowest_group = g;  // no full window yet: the mean so far
        }
        ++s->tokens;
        s->sum += c;
        s->group_at_end = g;
    }
}

nlohmann::json PathConfidence::to_json() const {
    nlohmann::json segs = nlohmann::json::array();
    for (const ConfidenceSpan& s : segments_) segs.push_back(s.to_json());
    return {{"tokens", total_.tokens},  {"mean", total_.mean()}, {"lowest_group", total_.lowest_group},
            {"tail_group", group()},    {"window", window_},     {"segments", segs}};
}

}  // namespace leap
