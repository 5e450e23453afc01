#pragma once
// A results file: one JSON line per finished problem, appended atomically (a single write of a
// whole line with O_APPEND, then fsync), so a run killed at any moment loses at most the
// problems in flight and a rerun resumes where it stopped.
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace leap {

class ResultsFile {
public:
    // Reads the lines already there. A last line without its newline (a write cut short by a
    // kill) is dropped and the file truncated to the last whole line; any other unreadable line
    // is an error naming the file and line.
    explicit ResultsFile(std::string path);

    const std::vector<nlohmann::json>& lines() const { return lines_; }
    // The file's line number (from 1) of lines()[i], for messages.
    size_t line_number(size_t i) const { return line_numbers_.at(i); }
    bool has(const std::string& id) const { return ids_.count(id) > 0; }
    void append(const nlohmann::json& line);  // line must hold a string "id"
    const std::string& path() const { return path_; }
    bool dropped_partial_line() const { return dropped_partial_; }

private:
    std::string path_;
    std::vector<nlohmann::json> lines_;
    std::vector<size_t> line_numbers_;
    size_t last_line_ = 0;  // the number of the file's last whole line
    std::set<std::string> ids_;
    bool dropped_partial_ = false;
};

// The outcomes the metrics count: one per line whose problem is in `dataset_ids`, sorted by
// problem id (so a bootstrap interval does not depend on the order the problems finished in).
// A line of another problem (an edited file, a file of another dataset) is left out with a
// warning in `warnings` naming the file and line. Throws leap::Error naming the file and line
// for a line whose fields are not those of a results line (docs/results.md).
std::vector<ProblemOutcome> dataset_outcomes(const ResultsFile& results, const std::set<std::string>& dataset_ids,
                                             std::vector<std::string>& warnings);

}  // namespace leap
