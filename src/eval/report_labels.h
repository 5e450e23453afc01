#pragma once
// The labels `leap report` gives its runs: words a reader knows ("LeaP-T, 4 paths, 2 peers
// (dispersed)", "Independent, 12 paths (LeaP-T's token budget)"), never internal keys.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace leap {

// The label of one run from its run.json identity: method and the settings that make it.
std::string run_label(const nlohmann::json& identity);

// The labels of the runs of one report, in order: run_label, with "X's token budget" for an
// independent run that is the compute-matched baseline of a LeaP run of the report
// (--match-budget), and where two runs would read the same, the settings in which they differ
// ("temperature 0.6", "model small.gguf"), or the first folder's name when none does.
std::vector<std::string> run_labels(const std::vector<nlohmann::json>& identities,
                                    const std::vector<std::string>& first_folders);

// A readable name of a run.json setting ("config.sampling.temperature" -> "temperature").
std::string setting_name(const std::string& key);

}  // namespace leap
