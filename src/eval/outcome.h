#pragma once
// Turning a finished ProblemRun into a graded results line, and a results line back into the
// outcome the metrics need. Keeps `leap eval` and `leap report` reading the same fields.
#include <nlohmann/json.hpp>

#include "core/problem_run.h"
#include "eval/dataset.h"
#include "eval/metrics.h"

namespace leap {

// Grades every path, votes (plain and shortest-majority, answers grouped by the grader's
// equivalence) and returns the results line (schema: docs/results.md).
nlohmann::json graded_line(const ProblemRun& run, const Item& item, const std::string& bench,
                           const nlohmann::json& timings);

ProblemOutcome outcome_of(const nlohmann::json& line);

}  // namespace leap
