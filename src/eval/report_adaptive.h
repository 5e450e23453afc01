#pragma once
// The confidence-aware section of `leap report` (docs/adaptive.md): for each benchmark, every
// run's tokens per problem against Pass@1 and Cons@N (a table and an accuracy-versus-tokens
// chart, one point per run), the confidence-weighted Cons@N, the paths stopped early, whether
// the paths' confidence separates right from wrong (AUROC), and the runs no other run beats on
// both accuracy and tokens. Shown only when some run used a confidence-aware option.
#include <string>
#include <vector>

#include "eval/report.h"

namespace leap {

bool has_adaptive_runs(const Report& r);
std::string adaptive_html(const Report& r);
std::string adaptive_markdown(const Report& r);

// The runs (indices into r.runs) on the bench's frontier: no other run has at least the accuracy
// (Pass@1, or Cons@N with cons) with at most the tokens per problem, one of the two strictly.
std::vector<size_t> frontier(const Report& r, const std::string& bench, bool cons);

}  // namespace leap
