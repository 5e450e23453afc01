#include "core/early_exit.h"

#include <algorithm>
#include <cmath>

#include "core/answer.h"
#include "core/config.h"
#include "core/error.h"

namespace leap {

PruneAt parse_prune_at(std::string_view s) {
    if (s == "before") return PruneAt::Before;
    if (s == "after") return PruneAt::After;
    throw Error("--prune-at: unknown value '" + std::string(s) + "' (choose before or after)");
}

std::string_view to_string(PruneAt p) { return p == PruneAt::After ? "after" : "before"; }

namespace {
AnswerJudge& judge_slot() {
    static AnswerJudge judge{
        [](std::string_view text, bool mc) { return extract_answer(text, mc); },
        [](const std::string& a, const std::string& b, bool) { return canonical_answer(a) == canonical_answer(b); }};
    return judge;
}
}  // namespace

const AnswerJudge& answer_judge() { return judge_slot(); }
void set_answer_judge(AnswerJudge judge) { judge_slot() = std::move(judge); }

std::vector<int> quorum_of(const std::vector<std::string>& answers, int quorum, const AnswerEquivalence& same) {
    if (quorum < 1) return {};
    std::vector<std::vector<int>> groups;  // by first appearance; an answer joins the first it agrees with
    for (int i = 0; i < (int)answers.size(); ++i) {
        if (answers[i].empty()) continue;
        std::vector<int>* home = nullptr;
        for (auto& g : groups)
            if (same ? same(answers[g.front()], answers[i])
                     : canonical_answer(answers[g.front()]) == canonical_answer(answers[i])) {
                home = &g;
                break;
            }
        if (!home) home = &groups.emplace_back();
        home->push_back(i);
        if ((int)home->size() >= quorum) return *home;
    }
    return {};
}

std::vector<int> lowest_confidence(const std::vector<double>& confidence, const std::vector<bool>& candidate,
                                   double share) {
    if (confidence.size() != candidate.size())
        throw Error("lowest_confidence: " + std::to_string(confidence.size()) + " confidences but " +
                    std::to_string(candidate.size()) + " candidate flags");
    std::vector<int> order;
    for (int i = 0; i < (int)candidate.size(); ++i)
        if (candidate[i]) order.push_back(i);
    if (order.empty() || !(share > 0)) return {};
    const int n = (int)order.size();
    const int take = std::min(n - 1, (int)std::floor(share * n + 1e-9));
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return confidence[a] < confidence[b] || (confidence[a] == confidence[b] && a > b);
    });
    order.resize(std::max(0, take));
    std::sort(order.begin(), order.end());
    return order;
}

void RunConfig::validate_adaptive() const {
    auto need = [](bool ok, const std::string& what) {
        if (!ok) throw Error(what);
    };
    need(confidence.top_k >= 1,
         "--confidence-top-k must be at least 1, got " + std::to_string(confidence.top_k));
    need(confidence.window >= 1,
         "--confidence-window must be at least 1, got " + std::to_string(confidence.window));
    need(early_exit_quorum >= 0 && early_exit_quorum <= n_paths,
         "--early-exit-quorum " + std::to_string(early_exit_quorum) + " must be between 0 (off) and the " +
             std::to_string(n_paths) + " paths of -N");
    need(std::isfinite(prune_share) && prune_share >= 0 && prune_share < 1,
         "--prune-share must be at least 0 and below 1 (a share of the paths at a block), got " +
             std::to_string(prune_share));
    const bool has_blocks = method != Method::Independent && method != Method::MixtureOfAgents;
    need(prune_share == 0 || has_blocks,
         "--prune-share acts at blocks; method " + std::string(to_string(method)) + " has none");
    need(prune_share == 0 || method != Method::LeapS,
         "--prune-share: leap-s already stops all but one path per group at its block");
    need(early_exit_quorum == 0 || method != Method::MixtureOfAgents,
         "--early-exit-quorum: moa restarts every path at each layer; early exit is not defined for it");
}

}  // namespace leap
