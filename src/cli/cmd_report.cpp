// leap report: Markdown and standalone HTML (inline SVG charts) from results folders of leap eval.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "eval/report.h"

namespace leap::cli {

namespace {

struct ReportFlags {
    std::vector<std::string> folders;
    std::string out = "report";
    ReportOptions options;
};

void report(const ReportFlags& f) {
    const Report r = load_report(f.folders, f.options);
    for (const auto& w : r.warnings) std::fprintf(stderr, "leap report: warning: %s\n", w.c_str());
    write_report(r, f.out);
    std::printf("%s.md\n%s.html\n", f.out.c_str(), f.out.c_str());
}

}  // namespace

void register_report(CLI::App& app) {
    auto f = std::make_shared<ReportFlags>();
    CLI::App* cmd = app.add_subcommand("report", "Markdown + HTML report (tables, SVG charts) from leap eval results folders");
    cmd->add_option("runs", f->folders,
                    "results folders (run.json + <bench>.jsonl); folders differing only in the seed are seeds of one run")
        ->required();
    cmd->add_option("-o,--out,--output", f->out, "output prefix: writes OUT.md and OUT.html")->capture_default_str();
    cmd->add_option("--label", f->options.labels, "label of a run, repeatable, in the order of the runs")
        ->allow_extra_args(false);
    cmd->add_option("--title", f->options.title, "report title")->capture_default_str();
    cmd->add_flag("--paper", f->options.paper, "show the paper's Pass@1 (Luo et al. 2025) beside ours");
    cmd->add_option("--bootstrap", f->options.bootstrap, "bootstrap replicates for the intervals")->capture_default_str();
    cmd->callback([f] { report(*f); });
}

}  // namespace leap::cli
