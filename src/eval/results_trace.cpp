#include "eval/results_trace.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/vote.h"
#include "eval/outcome.h"

namespace leap {

using nlohmann::json;

bool line_has_trace(const json& line) {
    if (!line.is_object() || !line.contains("trace") || !line["trace"].is_object()) return false;
    const json& t = line["trace"];
    return t.contains("paths") && t["paths"].is_array() && !t["paths"].empty();
}

json trace_of_line(const json& line, const json& run) {
    const std::string id = line.is_object() && line.contains("id") && line["id"].is_string() ? line["id"].get<std::string>() : "?";
    if (!line_has_trace(line)) {
        if (line.is_object() && line.contains("unfit"))
            throw Error("problem '" + id + "' was not run (" + line["unfit"].dump() + "): it has no trace");
        throw Error("problem '" + id + "' holds no trace (its line has no \"trace\" with \"paths\")");
    }
    json problem = line["trace"];
    const bool mc = line.value("multiple_choice", false);
    std::vector<std::string> answers;
    json correct = json::array();
    const json& paths = line.contains("paths") && line["paths"].is_array() ? line["paths"] : json::array();
    for (const auto& p : paths) {
        answers.push_back(p.is_object() && p.contains("answer") && p["answer"].is_string() ? p["answer"].get<std::string>() : "");
        correct.push_back(p.is_object() && p.value("correct", false));
    }
    problem["answers"] = answers;
    // The line's vote lacks the majority's path indices the viewer marks; the same vote again
    // (same answers, same equivalence, same tie rule) gives them.
    const VoteResult v = majority_vote(answers, nullptr, grader_equivalence(mc));
    problem["vote"] = {{"answer", v.answer}, {"votes", v.votes}, {"voters", v.voters}, {"majority", v.majority}};
    if (line.contains("gold")) {
        problem["gold"] = line["gold"];
        problem["correct"] = correct;
        if (line.contains("vote") && line["vote"].is_object() && line["vote"].contains("correct"))
            problem["vote_correct"] = line["vote"]["correct"];
    }
    if (line.contains("bench")) problem["bench"] = line["bench"];
    if (line.contains("timings")) problem["timings"] = line["timings"];

    json trace = json::object();
    const json identity = run.is_object() && run.contains("identity") && run["identity"].is_object() ? run["identity"] : json();
    if (run.is_object() && run.contains("leap_version")) trace["leap_version"] = run["leap_version"];
    if (identity.contains("model")) trace["model"] = identity["model"];
    if (identity.contains("config")) trace["config"] = identity["config"];
    trace["problems"] = json::array({problem});
    return trace;
}

std::vector<json> read_results_lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("results file '" + path + "' cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    std::vector<json> lines;
    size_t start = 0;
    int number = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        ++number;
        if (nl == std::string::npos) break;  // partly written: a run still appending
        const std::string raw = text.substr(start, nl - start);
        start = nl + 1;
        if (raw.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            lines.push_back(json::parse(raw));
        } catch (const json::exception& e) {
            throw Error("'" + path + "', line " + std::to_string(number) + ": not JSON (" + e.what() + ")");
        }
    }
    return lines;
}

}  // namespace leap
