#pragma once
// Token and group confidence of a reasoning path (DeepConf, "Deep Think with Confidence", 2025),
// the signal the confidence-aware options of docs/adaptive.md act on.
//   token confidence  C_t = -(1/k) * sum over the k most likely tokens j of log p_t(j), with p_t
//                     the model's distribution at step t (raw logits, no temperature): high when
//                     the distribution is peaked (the top token near log 1 = 0, the others far
//                     below), low when many tokens are about as likely.
//   group confidence  the mean of C over the last `window` tokens the path sampled (a sliding
//                     window): a path's "lowest group confidence" is the minimum over its full
//                     windows (as DeepConf: a path shorter than one window has the mean of all its
//                     tokens), its "tail" the window that ends at its last token.
#include <cstddef>
#include <deque>
#include <nlohmann/json.hpp>
#include <vector>

namespace leap {

struct ConfidenceOptions {
    bool record = false;  // --confidence: compute and record (implied by every option that uses it)
    int top_k = 20;       // --confidence-top-k: k of the token confidence (DeepConf's 20 logprobs)
    int window = 2048;    // --confidence-window: tokens per group (DeepConf's 2048)
};

// C_t over a distribution given by `n` logits (the whole vocabulary, or the candidates a
// device kept: then the log-probabilities are normalized over those). k is capped at n; logits
// of -inf (banned tokens) count as absent. Returns 0 for no finite logit.
double token_confidence(const float* logits, int n, int k);

// One stretch of a path's tokens (a segment's reasoning): how many, their mean confidence, the
// lowest group confidence among the full windows that end inside it (none full: the group
// confidence at its end), and the group confidence at its end.
struct ConfidenceSpan {
    long tokens = 0;
    double sum = 0;
    double lowest_group = 0;
    double group_at_end = 0;
    bool any_full = false;  // some window ending inside it was full
    double mean() const { return tokens ? sum / tokens : 0.0; }
    nlohmann::json to_json() const;
};

// A path's running confidence: the sliding window over every reasoning token so far (windows
// span segments), the path's totals and one span per segment.
class PathConfidence {
public:
    explicit PathConfidence(int window = 2048) : window_(window < 1 ? 1 : window) {}
    void start_segment() { segments_.emplace_back(); }
    void add(double c);  // a reasoning token of the current segment
    long tokens() const { return total_.tokens; }
    // Mean of the last `window` tokens (all tokens while fewer); 0 before any.
    double group() const { return recent_.empty() ? 0.0 : recent_sum_ / (double)recent_.size(); }
    double lowest_group() const { return total_.lowest_group; }
    const ConfidenceSpan& total() const { return total_; }
    const std::vector<ConfidenceSpan>& segments() const { return segments_; }
    nlohmann::json to_json() const;  // {tokens, mean, lowest_group, tail_group, window, segments}

private:
    int window_;
    std::deque<double> recent_;
    double recent_sum_ = 0;
    ConfidenceSpan total_;
    std::vector<ConfidenceSpan> segments_;
};

}  // namespace leap
