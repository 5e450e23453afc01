#pragma once
// Spending fewer tokens on a problem (docs/adaptive.md): early exit once enough paths agree, and
// pruning the least confident paths at a block. The decisions only; ProblemRun applies them.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/vote.h"

namespace leap {

// Where --prune-share acts at a block. Before: the pruned paths stop before summarizing (no
// summary, no answer; they are no one's peer at that block). After: they summarize, hear their
// peers like every path, then write a forced answer at once (they may take up a peer's result).
enum class PruneAt { Before, After };
PruneAt parse_prune_at(std::string_view s);  // "before" | "after"; throws leap::Error
std::string_view to_string(PruneAt p);

// How ProblemRun reads and compares final answers for early exit. Core has no grader: the
// default extracts with core/answer.h and compares canonical forms; the commands install the
// grader's (eval/outcome.h) once at start-up, so a quorum agrees exactly when the grader would.
struct AnswerJudge {
    std::function<std::string(std::string_view text, bool multiple_choice)> extract;
    std::function<bool(const std::string& a, const std::string& b, bool multiple_choice)> same;
};
const AnswerJudge& answer_judge();
void set_answer_judge(AnswerJudge judge);

// The paths of the first group of equivalent answers with at least `quorum` members (answers[i]
// is path i's answer; "" for a path without one, which never counts); empty when none has.
std::vector<int> quorum_of(const std::vector<std::string>& answers, int quorum, const AnswerEquivalence& same);

// The paths to prune: floor(share x candidates) of the candidates with the lowest confidence
// (ties: the higher index goes first), always leaving at least one candidate running.
std::vector<int> lowest_confidence(const std::vector<double>& confidence, const std::vector<bool>& candidate,
                                   double share);

}  // namespace leap
