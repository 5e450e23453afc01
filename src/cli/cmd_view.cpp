// leap view: writes the trace viewer page (src/viewer/, docs/viewer.md) with a trace embedded, a
// single HTML file that reads offline. With --gold, each path's answer and the vote are graded
// the way leap grade does, so the page can show which paths were right.
#include <cstdio>
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
#include "viewer/page.h"

namespace leap::cli {

namespace {

struct ViewArgs {
    std::string trace;
    std::string output;
    std::string gold;
};

nlohmann::json read_trace(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read trace " + path);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json trace;
    try {
        trace = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(path + " is not JSON: " + e.what());
    }
    // The page draws what docs/trace.md describes; anything else would be an empty page.
    if (!trace.is_object() || !trace.contains("problems") || !trace["problems"].is_array())
        throw Error(path + " is not a LeaP trace: no \"problems\" array (leap solve --trace writes one; docs/trace.md)");
    for (size_t i = 0; i < trace["problems"].size(); ++i) {
        const auto& p = trace["problems"][i];
        if (!p.is_object() || !p.contains("paths") || !p["paths"].is_array())
            throw Error(path + " is not a LeaP trace: problems[" + std::to_string(i) + "] has no \"paths\" array");
    }
    return trace;
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
    nlohmann::json trace = read_trace(a.trace);
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
    cmd->add_option("trace", args->trace, "trace file written by leap solve --trace (docs/trace.md)")->required();
    cmd->add_option("-o,--output", args->output, "the HTML file to write (default: standard output)");
    cmd->add_option("--gold", args->gold, "the problem's gold answer (math expression, or the correct letter): grades each path");
    cmd->callback([args] { run_view(*args); });
}

}  // namespace leap::cli
