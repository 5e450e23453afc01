// libFuzzer target: a results file (src/eval/results.cpp) and the outcomes the metrics take
// from its lines (dataset_outcomes, outcome_of), as `leap eval` reads them on a resume and
// `leap report` reads them. Bad lines must end in leap::Error naming the file and line; any
// other exception escaping, a crash, or what ASan/UBSan report is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/metrics.h"
#include "eval/results.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // ResultsFile reads a path (and truncates a partial last line), so each input is a file.
    static const std::string dir = [] {
        char tmpl[] = "/tmp/leap-fuzz-results-XXXXXX";
        if (!mkdtemp(tmpl)) std::abort();
        return std::string(tmpl);
    }();
    const std::string path = dir + "/results.jsonl";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        leap::ResultsFile results(path);
        // Every other problem is in the dataset, so foreign lines are met too.
        std::set<std::string> ids;
        for (size_t i = 0; i < results.lines().size(); i += 2) ids.insert(results.lines()[i]["id"].get<std::string>());
        std::vector<std::string> warnings;
        const std::vector<leap::ProblemOutcome> outcomes = leap::dataset_outcomes(results, ids, warnings);
        if (!outcomes.empty()) {
            (void)leap::pass_at_1(outcomes, 20, 1);
            (void)leap::cons_at_n(outcomes, 20, 1);
            (void)leap::shortest_majority(outcomes, 20, 1);
        }
    } catch (const leap::Error&) {
    }
    return 0;
}
