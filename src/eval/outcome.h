#pragma once
// Turning a finished ProblemRun into a graded results line, and a results line back into the
// outcome the metrics need. Keeps `leap eval` and `leap report` reading the same fields.
#include <nlohmann/json.hpp>

#include "core/problem_run.h"
#include "core/vote.h"
#include "eval/dataset.h"
#include "eval/metrics.h"

namespace leap {

// Each path's final answer as the grader extracts it (a letter for multiple choice).
std::vector<std::string> extracted_answers(const ProblemRun& run);
// Two answers agree when the grader says they are equivalent (1/2 and 0.5); letters exactly.
AnswerEquivalence grader_equivalence(bool multiple_choice);
// Installs the grader as the answer judge of early exit (core/early_exit.h: core has no grader).
void install_grader_judge();
// Majority vote over extracted_answers with grader_equivalence (what solve and serve report).
VoteResult vote_paths(const ProblemRun& run, const std::vector<std::string>& answers);

// Grades every path, votes (plain and shortest-majority, answers grouped by the grader's
// equivalence) and returns the results line (schema: docs/results.md).
nlohmann::json graded_line(const ProblemRun& run, const Item& item, const std::string& bench,
                           const nlohmann::json& timings);

// The results line of a problem that was not run because its prompt does not fit in a path's
// context: "unfit" holds the reason. Metrics count it as a problem every path got wrong (N
// wrong paths, a wrong vote), so n stays the dataset's size (docs/results.md).
nlohmann::json unfit_line(const Item& item, const std::string& bench, int index, int n_paths, int prompt_tokens,
                          const std::string& reason);

// What the metrics need from a results line; an "unfit" line is N wrong paths.
ProblemOutcome outcome_of(const nlohmann::json& line);

}  // namespace leap
