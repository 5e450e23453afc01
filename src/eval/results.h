#pragma once
// A results file: one JSON line per finished problem, appended atomically (a single write of a
// whole line with O_APPEND, then fsync), so a run killed at any moment loses at most the
// problems in flight and a rerun resumes where it stopped.
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace leap {

class ResultsFile {
public:
    // Reads the lines already there. A last line without its newline (a write cut short by a
    // kill) is dropped and the file truncated to the last whole line; any other unreadable line
    // is an error naming the file and line.
    explicit ResultsFile(std::string path);

    const std::vector<nlohmann::json>& lines() const { return lines_; }
    bool has(const std::string& id) const { return ids_.count(id) > 0; }
    void append(const nlohmann::json& line);  // line must hold a string "id"
    const std::string& path() const { return path_; }
    bool dropped_partial_line() const { return dropped_partial_; }

private:
    std::string path_;
    std::vector<nlohmann::json> lines_;
    std::set<std::string> ids_;
    bool dropped_partial_ = false;
};

}  // namespace leap
