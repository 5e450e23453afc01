#include "eval/results.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "eval/outcome.h"

namespace leap {

ResultsFile::ResultsFile(std::string path) : path_(std::move(path)) {
    namespace fs = std::filesystem;
    if (fs::path(path_).has_parent_path()) fs::create_directories(fs::path(path_).parent_path());
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;  // a new run
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    size_t start = 0, line_no = 0, good_end = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        ++line_no;
        if (nl == std::string::npos) {
            dropped_partial_ = true;  // cut short by a kill: the problem will run again
            break;
        }
        const std::string line = text.substr(start, nl - start);
        start = nl + 1;
        last_line_ = line_no;
        if (line.empty()) {
            good_end = start;
            continue;
        }
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
            throw Error("results file '" + path_ + "', line " + std::to_string(line_no) + ": not valid JSON (" +
                        e.what() + "); move the file away or fix that line");
        }
        if (!j.is_object() || !j.contains("id") || !j["id"].is_string())
            throw Error("results file '" + path_ + "', line " + std::to_string(line_no) + ": no string \"id\"");
        if (!ids_.insert(j["id"].get<std::string>()).second)
            throw Error("results file '" + path_ + "', line " + std::to_string(line_no) + ": problem '" +
                        j["id"].get<std::string>() + "' appears twice");
        lines_.push_back(std::move(j));
        line_numbers_.push_back(line_no);
        good_end = start;
    }
    if (dropped_partial_) fs::resize_file(path_, good_end);
}

void ResultsFile::append(const nlohmann::json& line) {
    const std::string id = line.at("id").get<std::string>();
    if (ids_.count(id)) throw Error("results file '" + path_ + "': problem '" + id + "' is already recorded");
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) throw Error("cannot open results file '" + path_ + "': " + std::strerror(errno));
    // One write of the whole line: a kill leaves either the line or a partial last line, which
    // the next run drops.
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            ::close(fd);
            throw Error("cannot write results file '" + path_ + "': " + why);
        }
        done += (size_t)n;
    }
    ::fsync(fd);
    ::close(fd);
    ids_.insert(id);
    lines_.push_back(line);
    line_numbers_.push_back(++last_line_);
}

std::vector<ProblemOutcome> dataset_outcomes(const ResultsFile& results, const std::set<std::string>& dataset_ids,
                                             std::vector<std::string>& warnings) {
    std::vector<std::pair<std::string, ProblemOutcome>> by_id;
    for (size_t i = 0; i < results.lines().size(); ++i) {
        const nlohmann::json& line = results.lines()[i];
        const std::string id = line.at("id").get<std::string>();  // checked when the file was read
        const std::string where = "results file '" + results.path() + "', line " + std::to_string(results.line_number(i));
        if (!dataset_ids.count(id)) {
            warnings.push_back(where + ": problem '" + id + "' is not in the dataset; not counted");
            continue;
        }
        ProblemOutcome o;
        try {
            o = outcome_of(line);
        } catch (const nlohmann::json::exception& e) {
            throw Error(where + ": not a results line (docs/results.md): " + e.what());
        }
        if (o.correct.empty()) throw Error(where + ": problem '" + id + "' has no paths");
        by_id.emplace_back(id, std::move(o));
    }
    std::sort(by_id.begin(), by_id.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<ProblemOutcome> out;
    for (auto& [_, o] : by_id) out.push_back(std::move(o));
    return out;
}

}  // namespace leap
