#include "core/vote.h"


#include <cmath>

#include "core/answer.h"
#include "core/error.h"

namespace leap {

VoteResult majority_vote(const std::vector<std::string>& answers, const std::vector<long>* lengths,
                         const AnswerEquivalence& same) {
    struct Group { std::vector<int> members; double length = 0; };
    std::vector<Group> groups;  // by first appearance (lowest index first)
    VoteResult out;
    for (int i = 0; i < (int)answers.size(); ++i) {
        if (answers[i].empty()) continue;
        ++out.voters;
        Group* home = nullptr;
        for (Group& g : groups) {
            const std::string& first = answers[g.members.front()];
            if (same ? same(first, answers[i]) : canonical_answer(first) == canonical_answer(answers[i])) {
                home = &g;
                break;
            }
        }
        if (!home) home = &groups.emplace_back();
        home->members.push_back(i);
        if (lengths) home->length += (double)(*lengths)[i];
    }
    const Group* best = nullptr;
    for (const Group& g : groups) {
        if (!best || g.members.size() > best->members.size()) {
            best = &g;
        } else if (lengths && g.members.size() == best->members.size() &&
                   g.length / g.members.size() < best->length / best->members.size()) {
            best = &g;
        }
    }
    if (best) {
        out.answer = answers[best->members.front()];
        out.votes = (int)best->members.size();
        out.majority = best->members;
    }
    return out;
}

VoteResult weighted_vote(const std::vector<std::string>& answers, const std::vector<double>& weights,
                         const AnswerEquivalence& same) {
    if (answers.size() != weights.size())
        throw Error("weighted vote: " + std::to_string(answers.size()) + " answers but " +
                    std::to_string(weights.size()) + " weights");
    struct Group { std::vector<int> members; double weight = 0; };
    std::vector<Group> groups;
    VoteResult out;
    for (int i = 0; i < (int)answers.size(); ++i) {
        if (!(std::isfinite(weights[i]) && weights[i] >= 0))
            throw Error("weighted vote: path " + std::to_string(i) + "'s weight " + std::to_string(weights[i]) +
                        " is not a finite number >= 0");
        if (answers[i].empty()) continue;
        ++out.voters;
        Group* home = nullptr;
        for (Group& g : groups) {
            const std::string& first = answers[g.members.front()];
            if (same ? same(first, answers[i]) : canonical_answer(first) == canonical_answer(answers[i])) {
                home = &g;
                break;
            }
        }
        if (!home) home = &groups.emplace_back();
        home->members.push_back(i);
        home->weight += weights[i];
    }
    const Group* best = nullptr;
    for (const Group& g : groups)
        if (!best || g.weight > best->weight) best = &g;
    if (best) {
        out.answer = answers[best->members.front()];
        out.votes = (int)best->members.size();
        out.majority = best->members;
    }
    return out;
}

}  // namespace leap
