#pragma once
// A LeaP-T fine-tuning set from `leap eval` results (SPEC §5): the paths whose final answer is
// correct and whose every summary is under a token limit (256), split into what the model wrote
// and what the engine injected (summary requests, comment blocks, forced-answer openers), so
// training labels only the model's side as sampled text (train/examples.h).
#include <functional>
#include <string>
#include <vector>

#include "nano/task.h"

namespace leap::train {

struct ResultTrace {
    std::string id;           // problem id, path index
    std::string user_message; // as the engine rendered it into the chat template
    std::vector<nano::Piece> pieces;
};

struct ResultsSelection {
    int problems = 0, paths = 0, correct = 0, long_summary = 0, kept = 0;
};

// Reads one results file (<bench>.jsonl from `leap eval --out`). `count_tokens` measures a
// summary. `answer_opener` is the prompt set's forced-answer opener (math). Throws leap::Error
// naming the file and line for malformed input or a trace whose texts do not line up.
std::vector<ResultTrace> traces_from_results(const std::string& path,
                                             const std::function<int(const std::string&)>& count_tokens,
                                             const std::string& answer_opener, int max_summary_tokens,
                                             ResultsSelection& stats);

}  // namespace leap::train
