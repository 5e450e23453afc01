#pragma once
// A results line of `leap eval` (docs/results.md) as a trace file (docs/trace.md) of one problem,
// so the trace viewer draws a problem of an eval exactly as it draws `leap solve --trace`.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace leap {

// True when the line holds its problem's trace (paths with their segments); an "unfit" line, or
// one written without a trace, has none.
bool line_has_trace(const nlohmann::json& line);

// The trace of the line's problem: `run` is the folder's run.json (its identity gives the model
// and the settings; null when not known), the problem gets the line's answers, the vote (with
// the majority's paths, voted again with the grader's equivalence), its gold and which paths
// and vote were right, and its timings. Throws leap::Error when the line has no trace.
nlohmann::json trace_of_line(const nlohmann::json& line, const nlohmann::json& run);

// The lines of a results file (`<bench>.jsonl`), parsed; a last line without its newline (a run
// still writing) is left out, any other line that is not JSON is an error naming file and line.
std::vector<nlohmann::json> read_results_lines(const std::string& path);

}  // namespace leap
