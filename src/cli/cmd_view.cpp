// leap view: writes the trace viewer page (src/viewer/, docs/viewer.md) with a trace embedded, a
// single HTML file that reads offline. The input is a trace (leap solve --trace) or a problem of
// an eval (its results folder, results file or one results line, with --problem). With --gold,
// each path's answer and the vote are graded the way leap grade does, so the page can show which
// paths were right.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/usage.h"
#include "core/error.h"
#include "eval/grader.h"
#include "eval/results_trace.h"
#include "viewer/page.h"

namespace leap::cli {

namespace {

struct ViewArgs {
    std::string trace;
    std::string output;
    std::string gold;
    std::string problem;  // --problem ID
};

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read trace " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The page draws what docs/trace.md describes; anything else would be an empty page.
void check_trace(const nlohmann::json& trace, const std::string& path) {
    if (!trace.is_object() || !trace.contains("problems") || !trace["problems"].is_array())
        throw Error(path + " is not a LeaP trace: no \"problems\" array (leap solve --trace writes one; docs/trace.md)");
    for (size_t i = 0; i < trace["problems"].size(); ++i) {
        const auto& p = trace["problems"][i];
        if (!p.is_object() || !p.contains("paths") || !p["paths"].is_array())
            throw Error(path + " is not a LeaP trace: problems[" + std::to_string(i) + "] has no \"paths\" array");
    }
}

// A results line: what `leap eval` writes per problem (docs/results.md).
bool is_results_line(const nlohmann::json& j) {
    return j.is_object() && j.contains("id") && j.contains("paths") && (j.contains("trace") || j.contains("unfit"));
}

// The run.json of the folder holding `file`, or null when there is none (a line copied elsewhere).
nlohmann::json run_json_beside(const fs::path& folder) {
    const fs::path run = folder / "run.json";
    if (!fs::exists(run)) return nullptr;
    try {
        return nlohmann::json::parse(slurp(run.string()));
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(run.string() + " is not JSON: " + e.what());
    }
}

std::string line_id(const nlohmann::json& line) {
    return line.contains("id") && line["id"].is_string() ? line["id"].get<std::string>() : "";
}

// Picks the line of problem `id` from `lines` (read from `where`); without an id, the only line.
const nlohmann::json& pick_line(const std::vector<nlohmann::json>& lines, const std::string& id, const std::string& where) {
    if (lines.empty()) throw Error(where + " holds no finished problem");
    if (id.empty()) {
        if (lines.size() == 1) return lines[0];
        throw UsageError(where + " holds " + std::to_string(lines.size()) + " problems; choose one with --problem ID (e.g. --problem " +
                         line_id(lines[0]) + ")");
    }
    for (const auto& l : lines)
        if (line_id(l) == id) return l;
    std::string known;
    for (size_t i = 0; i < lines.size() && i < 5; ++i) known += (i ? ", " : "") + line_id(lines[i]);
    if (lines.size() > 5) known += ", ...";
    throw Error("--problem: no problem '" + id + "' in " + where + " (it holds " + known + ")");
}

// The results lines of a results folder: every <bench>.jsonl beside its run.json.
std::vector<nlohmann::json> folder_lines(const std::string& dir) {
    if (!fs::exists(fs::path(dir) / "run.json"))
        throw Error(dir + " is a folder but not a results folder of leap eval (no run.json; docs/results.md)");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".jsonl" && e.path().filename().string()[0] != '.')
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<nlohmann::json> lines;
    for (const auto& f : files)
        for (auto& l : read_results_lines(f.string()))
            if (is_results_line(l)) lines.push_back(std::move(l));
    return lines;
}

// What to draw: a trace file as it is (--problem picks one of its problems), or the trace of one
// problem of an eval, from its results folder, results file or a file holding one results line.
nlohmann::json read_input(const std::string& path, const std::string& problem) {
    if (fs::is_directory(path)) {
        const auto lines = folder_lines(path);
        return trace_of_line(pick_line(lines, problem, path), run_json_beside(path));
    }
    const std::string text = slurp(path);
    nlohmann::json j;
    bool one_document = true;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        one_document = false;
        if (path.size() < 6 || path.compare(path.size() - 6, 6, ".jsonl") != 0)
            throw Error(path + " is not JSON: " + e.what());
    }
    const fs::path folder = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
    if (!one_document || is_results_line(j)) {
        std::vector<nlohmann::json> lines;
        if (one_document) lines.push_back(j);
        else
            for (auto& l : read_results_lines(path))
                if (is_results_line(l)) lines.push_back(std::move(l));
        if (!one_document && lines.empty()) throw Error(path + " is not JSON and holds no results line (docs/results.md)");
        return trace_of_line(pick_line(lines, problem, path), run_json_beside(folder));
    }
    check_trace(j, path);
    if (!problem.empty()) {
        nlohmann::json kept = nlohmann::json::array();
        for (const auto& p : j["problems"])
            if (p.contains("id") && p["id"].is_string() && p["id"].get<std::string>() == problem) kept.push_back(p);
        if (kept.empty()) throw Error("--problem: no problem '" + problem + "' in " + path);
        j["problems"] = kept;
    }
    return j;
}

// Grades each path's extracted answer and the vote against `gold` (multiple choice: the letter).
void grade(nlohmann::json& problem, const std::string& gold) {
    const bool mc = problem.contains("choices") && problem["choices"].is_object() && !problem["choices"].empty();
    auto correct = [&](const std::string& a) { return !a.empty() && (mc ? a == gold : math_equivalent(a, gold)); };
    nlohmann::json flags = nlohmann::json::array();
    for (const auto& a : problem.value("answers", nlohmann::json::array()))
        flags.push_back(a.is_string() && correct(a.get<std::string>()));
    problem["gold"] = gold;
    problem["correct"] = flags;
    const auto vote = problem.value("vote", nlohmann::json::object());
    problem["vote_correct"] = vote.contains("answer") && vote["answer"].is_string() && correct(vote["answer"].get<std::string>());
}

void run_view(const ViewArgs& a) {
    if (!a.output.empty()) check_output_file(a.output, "-o");
    nlohmann::json trace = read_input(a.trace, a.problem);
    if (!a.gold.empty()) {
        if (trace["problems"].size() != 1)
            throw UsageError("--gold: " + a.trace + " holds " + std::to_string(trace["problems"].size()) +
                             " problems; --gold is the answer of a trace of one problem");
        grade(trace["problems"][0], a.gold);
    }
    const std::string page = viewer::page_with_trace(trace);
    if (a.output.empty()) {
        std::fwrite(page.data(), 1, page.size(), stdout);
    } else {
        write_output_file(a.output, page, "-o");
        std::fprintf(stderr, "leap view: wrote %s\n", a.output.c_str());
    }
}

}  // namespace

void register_view(CLI::App& app) {
    auto args = std::make_shared<ViewArgs>();
    CLI::App* cmd = app.add_subcommand("view", "write a trace as a self-contained HTML page (docs/viewer.md)");
    cmd->add_option("trace", args->trace,
                    "trace file written by leap solve --trace (docs/trace.md), or a problem of leap eval: its results "
                    "folder, results file (<bench>.jsonl) or one results line (docs/results.md)")
        ->required();
    cmd->add_option("--problem", args->problem, "the problem to draw (its id, e.g. aime24-3): needed for a results folder or file of several problems");
    cmd->add_option("-o,--output", args->output, "the HTML file to write (default: standard output)");
    cmd->add_option("--gold", args->gold, "the problem's gold answer (math expression, or the correct letter): grades each path");
    cmd->callback([args] { run_view(*args); });
}

}  // namespace leap::cli
