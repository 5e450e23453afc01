#pragma once
// LeaP-T nano: a synthetic reasoning task on which early slips dominate (docs/nano.md).
//
// A problem is a chain of additions/subtractions of single digits modulo 10, e.g.
//   "Start at 4 and apply, modulo 10: [1]+3 [2]-5 ... [10]-1. What is the final value?"
// A path reasons one step per paragraph ("[1]+3 4=7\n\n": step, operation, value before, after),
// carrying the running value. A slip (a wrong result) is never undone by later correct steps, so
// one early slip decides the answer:
// the prefix dominance trap in miniature. LeaP blocks let a path compare its running value with
// its peers' and take the value most of them hold.
#include <cstdint>
#include <string>
#include <vector>

#include "core/prompts.h"
#include "core/router.h"

namespace leap::nano {

struct TaskSpec {
    int steps = 9;       // operations per problem (not 10: ten repeats of one operation cancel out)
    double slip = 0.08;  // per-step chance of a wrong result in generated traces
    // One operation repeated (the default) or a different one per step. With one operation a
    // step reads only the latest operation, index and value; per-step operations need each one
    // looked up in the problem by index (harder to learn; docs/nano.md).
    bool varied_ops = false;
};

struct NanoProblem {
    std::string id;
    int start = 0;         // 0..9
    std::vector<int> ops;  // -9..+9, never 0 (so every step changes the value)
    int answer = 0;        // start + sum(ops) mod 10
    std::string text() const;
};

// Problem `index` of the stream `seed` (the same seed and index give the same problem).
NanoProblem make_problem(uint64_t seed, int index, const TaskSpec& spec);
std::vector<NanoProblem> make_problems(uint64_t seed, int count, const TaskSpec& spec);
// One JSON object per line: {"id", "problem", "answer"} (docs/datasets.md), with "\n" endings.
std::string to_jsonl(const std::vector<NanoProblem>& problems);

// Texts a path writes (the model's side of a trace), shared by the generator and the tests.
std::string step_text(int step, int value_before, int op, int value_after);  // "[3]+8 0=8\n\n"
std::string summary_text(int step, int value);                             // " [3] gives 8 "
// The check after the comment block: "\n\nmine 7, peers 3 3: take 3\n\n".
std::string check_text(int mine, const std::vector<int>& peers, int result);
// The vote a path applies to its own running value and its peers': the value held most often;
// ties keep the path's own value; among other values, the first one named wins a tie.
int vote(int mine, const std::vector<int>& peers);
std::string answer_text(int value);  // "\n\n\\boxed{7}" (after the end-of-thinking marker)

// A training sequence, in pieces: `injected` text is what the engine writes (prompt, triggers,
// openers, comment blocks, cues, answer openers); the rest is what the model samples.
// `alt` (injected pieces only): what the model would have sampled at that point had the engine
// not injected anything. Training uses it as the label there, so the model learns to keep
// reasoning instead of writing the engine's text on its own.
struct Piece {
    std::string text;
    bool injected = false;
    std::string alt;
};

struct Trace {
    std::string problem_id;
    std::string user_message;  // rendered with the chat template by the trainer
    std::vector<Piece> pieces; // the assistant side, after the template's generation prompt
    bool correct = false;      // the final answer equals the gold answer
    int n_paths = 1, k = 0, blocks = 0;
};

struct TraceOptions {
    TaskSpec spec;
    std::vector<int> n_paths = {2, 4, 4, 8, 8};  // drawn uniformly per problem
    int max_k = 4;                               // k drawn in 1..min(max_k, N-1)
    int max_blocks = 2;                          // blocks drawn in 0..max_blocks
    double forced_share = 0.05;                  // traces cut short with the forced-answer opener
    // Fixed settings instead of drawn ones (the idealised comparison in `leap nano-data --simulate`):
    int fixed_k = 0;                  // > 0: this k (capped at N-1)
    std::vector<int> fixed_blocks;    // non-empty: blocks after these steps; {-1}: no block
    int fixed_router = -1;            // >= 0: index into dispersed, clustered, hybrid, random
};

// The N traces of one simulated run of problem `p` (independent or LeaP-T, drawn from `seed`),
// with the engine's own texts (core/block.h, the prompt set) so training matches inference.
std::vector<Trace> simulate_run(const NanoProblem& p, uint64_t seed, const TraceOptions& opt,
                                const PromptSet& prompts);

// The user-defined tokens of the nano vocabulary: every fixed string above and the prompt set's
// texts (so each is one token), longest matched first by llama.cpp's tokenizer.
std::vector<std::string> vocabulary_words(const PromptSet& prompts, int max_steps = 40, int max_peers = 16);

}  // namespace leap::nano
