#pragma once
// Benchmark datasets: the reference JSON arrays (data/benchmarks/*.json) and JSON Lines files,
// loaded into Problems with their gold answers. Multiple-choice options are shuffled per question
// with a recorded seed (the reference GPQA file always has the correct option at A).
// Formats, names and the shuffle are described in docs/datasets.md.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/problem_run.h"

namespace leap {

// Names of the fields in each item. `id` empty: items are named "<dataset name>-<index>"
// (index from 0); otherwise the field must be present in every item (a string or an integer)
// and unique. `options` empty: the dataset has no options (every item is free-answer).
struct DatasetFields {
    std::string problem = "problem";
    std::string answer = "answer";
    std::string options = "options";
    std::string id = "";
};

struct DatasetOptions {
    std::string data_dir;          // where the benchmark names (aime24, ...) are looked up
    DatasetFields fields;
    bool shuffle_options = true;   // false: options as in the file (parity with the reference)
    uint64_t shuffle_seed = 0;
};

struct Item {
    Problem problem;                        // choices: displayed letters -> option text
    std::string answer;                     // gold; for multiple choice the displayed letter
    std::vector<std::string> option_order;  // original letters in displayed order; empty if not MC
};

struct Dataset {
    std::string name;        // benchmark name, or the file's stem for a path
    std::string path;        // the file read
    bool multiple_choice = false;
    uint64_t shuffle_seed = 0;
    bool shuffled = false;   // options were shuffled (multiple choice and shuffle_options)
    std::vector<Item> items;
};

// The built-in benchmark names, in a fixed order: aime24, aime25, aimo25, gpqa.
std::vector<std::string> benchmark_names();
bool is_benchmark_name(const std::string& name);
// The reference file name for a benchmark name ("aime24" -> "aime.json"); throws leap::Error for
// an unknown name, listing the known ones.
std::string benchmark_file(const std::string& name);

// Loads a benchmark by name (from options.data_dir) or a .json / .jsonl file by path. The format
// is decided by content: a leading '[' means a JSON array, anything else JSON Lines. Throws
// leap::Error naming the file and the item index (array) or line number (JSONL) of the first
// problem found.
Dataset load_dataset(const std::string& path_or_name, const DatasetOptions& options = {});

// The same, from text already in memory; `origin` names it in errors and becomes Dataset::path.
Dataset parse_dataset(std::string_view text, const std::string& origin, const std::string& name,
                      const DatasetOptions& options = {});

// The permutation used for item `index`: perm[j] is the index (in sorted-letter order) of the
// original option displayed at position j. Fisher-Yates with Rng(mix_seed({seed, index})).
std::vector<size_t> option_permutation(uint64_t seed, uint64_t index, size_t n_options);

}  // namespace leap
