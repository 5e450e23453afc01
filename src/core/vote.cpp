#include "core/vote.h"


#include <cmath>

#include "core/answer.h"
#include "core/error.h"

namespace leap {

namespace {
// The paths with an answer, grouped by equivalence with each group's first answer; groups in
// order of first appearance (lowest index first), members in index order.
std::vector<std::vector<int>> group_answers(const std::vector<std::string>& answers, const AnswerEquivalence& same) {
    std::vector<std::vector<int>> groups;
    for (int i = 0; i < (int)answers.size(); ++i) {
        if (answers[i].empty()) continue;
        std::vector<int>* home = nullptr;
        for (auto& g : groups) {
            const std::string& first = answers[g.front()];
            if (same ? same(first, answers[i]) : canonical_answer(first) == canonical_answer(answers[i])) {
                home = &g;
                break;
            }
        }
        if (!home) home = &groups.emplace_back();
        home->push_back(i);
    }
    return groups;
}

VoteResult result_of(const std::vector<std::string>& answers, const std::vector<std::vector<int>>& groups,
                     const std::vector<int>* best) {
    VoteResult out;
    for (const auto& g : groups) out.voters += (int)g.size();
    if (best) {
        out.answer = answers[best->front()];
        out.votes = (int)best->size();
        out.majority = *best;
    }
    return out;
}
}  // namespace

VoteResult majority_vote(const std::vector<std::string>& answers, const std::vector<long>* lengths,
                         const AnswerEquivalence& same) {
    const auto groups = group_answers(answers, same);
    auto mean_length = [&](const std::vector<int>& g) {
        double sum = 0;
        for (int i : g) sum += (double)(*lengths)[i];
        return sum / g.size();
    };
    const std::vector<int>* best = nullptr;
    for (const auto& g : groups) {
        if (!best || g.size() > best->size()) {
            best = &g;
        } else if (lengths && g.size() == best->size() && mean_length(g) < mean_length(*best)) {
            best = &g;
        }
    }
    return result_of(answers, groups, best);
}

VoteResult weighted_vote(const std::vector<std::string>& answers, const std::vector<double>& weights,
                         const AnswerEquivalence& same) {
    if (answers.size() != weights.size())
        throw Error("weighted vote: " + std::to_string(answers.size()) + " answers but " +
                    std::to_string(weights.size()) + " weights");
    for (int i = 0; i < (int)weights.size(); ++i)
        if (!(std::isfinite(weights[i]) && weights[i] >= 0))
            throw Error("weighted vote: path " + std::to_string(i) + "'s weight " + std::to_string(weights[i]) +
                        " is not a finite number >= 0");
    const auto groups = group_answers(answers, same);
    auto weight = [&](const std::vector<int>& g) {
        double sum = 0;
        for (int i : g) sum += weights[i];
        return sum;
    };
    const std::vector<int>* best = nullptr;
    for (const auto& g : groups)
        if (!best || weight(g) > weight(*best)) best = &g;
    return result_of(answers, groups, best);
}

}  // namespace leap
