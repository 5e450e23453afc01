#pragma once
// Majority voting over the paths' final answers (Cons@N).
#include <functional>
#include <string>
#include <vector>

namespace leap {

struct VoteResult {
    std::string answer;          // the winning answer as written by its first path ("" if none)
    int votes = 0;               // paths in the winning group
    int voters = 0;              // paths with a non-empty answer
    std::vector<int> majority;   // indices of the paths in the winning group
};

// Groups equivalent answers; empty answers do not vote. The largest group wins.
// Ties: plain majority picks the group whose first member has the lowest path index;
// shortest_majority (when `lengths` is given) picks the group with the smallest mean length
// (the response length in tokens), then the lowest index.
// `same` decides whether two answers agree (default: equal canonical_answer()); an answer joins
// the first group whose first answer it agrees with.
using AnswerEquivalence = std::function<bool(const std::string&, const std::string&)>;
VoteResult majority_vote(const std::vector<std::string>& answers,
                         const std::vector<long>* lengths = nullptr, const AnswerEquivalence& same = {});

// Confidence-weighted vote (DeepConf): answers grouped as majority_vote groups them, each group
// scores the sum of its paths' weights (a path's confidence), the highest score wins (ties: the
// group whose first member has the lowest index). `votes` is the winning group's size. Throws
// leap::Error when the sizes differ or a weight is negative or not finite.
VoteResult weighted_vote(const std::vector<std::string>& answers, const std::vector<double>& weights,
                         const AnswerEquivalence& same = {});

}  // namespace leap
