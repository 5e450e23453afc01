#pragma once
// `leap report`: reads results folders written by `leap eval` (docs/results.md), summarizes each
// run per benchmark with the metrics of eval/metrics.h (folders that differ only in the seed are
// seeds of one run, summarized together over seeds), and renders a Markdown file and a
// standalone HTML page with inline SVG charts. What the report shows: docs/report.md.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/metrics.h"
#include "eval/report_labels.h"

namespace leap {

struct ReportOptions {
    std::vector<std::string> labels;  // overrides the runs' labels, in order of the runs
    bool paper = false;               // show Luo et al. 2025's Pass@1 beside ours
    std::string title = "LeaP evaluation report";
    int bootstrap = 2000;             // B for the intervals (MetricsOptions::bootstrap)
    uint64_t bootstrap_seed = 0;
};

// One problem's result in one folder of a run, for the report's problems table.
struct ProblemResult {
    std::string id;
    size_t folder = 0;         // index into ReportRun::folders
    int correct = 0, paths = 0;
    bool vote_correct = false;
    bool has_trace = false;    // its line holds the trace: write_report writes its viewer page
};

// One run of the report: a results folder, or several folders that are seeds of one run.
struct ReportRun {
    std::string label;
    std::vector<std::string> folders;   // one per seed, in the order given
    std::vector<uint64_t> seeds;        // identity.config.seed of each folder
    nlohmann::json identity;            // run.json "identity" of the first folder
    std::map<std::string, Summary> benches;   // bench key -> summary (absent: no data)
    std::map<std::string, std::string> notes; // bench key -> remark (problems left out, ...)
    std::map<std::string, std::vector<ProblemResult>> problems;  // bench key -> every line read, by folder
    std::string paper_model;            // with ReportOptions::paper: the paper's model compared
    bool paper_model_assumed = false;   // model file name not recognised: 7B assumed
};

struct Report {
    ReportOptions options;
    std::vector<std::string> benches;   // every bench key present in some run, in display order
    std::vector<ReportRun> runs;
    std::vector<std::string> warnings;  // e.g. a partly written last line skipped
};

// Reads the folders (each holding run.json and <bench>.jsonl files) and summarizes them. Never
// modifies the folders. Throws leap::Error naming the folder, file or line at fault.
Report load_report(const std::vector<std::string>& folders, const ReportOptions& options = {});

std::string report_markdown(const Report& report);
// `pages`: the folder (relative to the HTML file) holding the problems' viewer pages; empty: none
// written, so the problems are not linked.
std::string report_html(const Report& report, const std::string& pages = "");
// Writes OUT_PREFIX.md and OUT_PREFIX.html, each atomically (temporary file + rename), creating
// the parent folders; and where the results hold traces, each problem's viewer page (the page of
// `leap view`) under OUT_PREFIX-problems/, linked from the HTML.
void write_report(const Report& report, const std::string& out_prefix);

// "AIME24", "GPQA-D", ... for the known keys; the key itself otherwise.
std::string bench_title(const std::string& key);
// The paper's Pass@1 (percent) for a model ("R1-Distill-Qwen-7B", ...), method ("leap" =
// dispersed top-4 LeaP, "independent" = baseline) and bench key; nullopt when not reported.
std::optional<double> paper_pass1(const std::string& model, const std::string& method, const std::string& bench);
// Escapes & < > " ' for HTML/SVG text and attribute values.
std::string html_escape(std::string_view text);

}  // namespace leap
