#pragma once
// Solves a list of problems on any backend: keeps up to P of them in flight (RunDefaults), each
// started with the backend's own settings as soon as there is room, and steps the backend until
// every one is done. The one run loop of leap solve, eval and bench, for either backend.
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/backend.h"

namespace leap {

using DoneFn = std::function<void(ProblemRun& run, nlohmann::json timings)>;
using ProgressFn = std::function<void(const Progress&)>;

// indices[i] numbers problem i (seeds depend on it, so a resumed run gives a problem the same
// number); empty: 0, 1, 2, ... on_done hears of each problem as it finishes; on_progress after
// a problem finished and at least every RunDefaults::progress_interval_s. When anything throws,
// the backend is reset (nothing stays in flight) and the error goes on.
void run_problems(Backend& backend, const std::vector<Problem>& problems, const std::vector<int>& indices,
                  const DoneFn& on_done, const ProgressFn& on_progress = {});

}  // namespace leap
