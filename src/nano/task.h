#pragma once
// LeaP-T nano: a synthetic reasoning task on which a path's start decides its result and peers
// can help (docs/nano.md).
//
// A problem gives two tables of the digits, A and B (each a permutation), a target and a number
// of steps:
//   "A: 0>7 1>2 ... 9>4. B: 0=3 1=8 ... 9=5. Find the key that A sends to 5, then follow B 3
//    times from it. Where do you end?"
// Nothing in the problem says which key A sends to 5, so a path searches: it tries keys one per
// paragraph ("3?0 no", "4?5 yes"), then follows B from the key it found ("4:6", "6:1", "1:8")
// and answers \boxed{8}. The token budget allows only a few tries, so a path that starts with
// unlucky tries runs out and guesses: its beginning decides its result (the prefix dominance
// trap in miniature), and no decoding setting helps, because which key is right cannot be known
// before trying it. At a LeaP block a path reports the key it found (" key 4 ") or the keys it
// tried (" tried 3 7 "); a path that hears of a key checks it with one try of its own and
// follows B from it, and one that hears only of failed tries skips them.
#include <cstdint>
#include <string>
#include <vector>

#include "core/prompts.h"
#include "core/router.h"

namespace leap::nano {

struct TaskSpec {
    int steps = 3;       // steps in B after the key is found
    double slip = 0.03;  // per-lookup chance of a wrong digit in generated traces
};

struct NanoProblem {
    std::string id;
    int a[10] = {};   // table A: a[key] (a permutation of the digits)
    int b[10] = {};   // table B
    int target = 0;   // the value A must send the key to
    int steps = 0;    // steps in B
    int key = 0;      // the key with a[key] == target
    int answer = 0;   // b applied `steps` times to key
    std::string text() const;
};

// Problem `index` of the stream `seed` (the same seed and index give the same problem).
NanoProblem make_problem(uint64_t seed, int index, const TaskSpec& spec);
std::vector<NanoProblem> make_problems(uint64_t seed, int count, const TaskSpec& spec);
// One JSON object per line: {"id", "problem", "answer"} (docs/datasets.md), with "\n" endings.
std::string to_jsonl(const std::vector<NanoProblem>& problems);

// Texts a path writes (the model's side of a trace), shared by the generator and the tests.
std::string try_text(int key, int value, bool hit);  // "3?0 no\n\n", "4?5 yes\n\n"
std::string step_text(int from, int to);             // "4:6\n\n"
std::string answer_text(int value);                  // "\n\n\\boxed{8}" (after the end-of-thinking marker)
// A summary, as the model writes it between the tags: " key 4 " once a key is found, else the
// keys tried so far in order (" tried 3 7 1 ", " tried none ").
std::string summary_text(int key, const std::vector<int>& tried);

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
    bool found = false;        // the path followed B from the right key
    int n_paths = 1, k = 0, blocks = 0, segment_tokens = 0, segments = 0;
};

// How simulated runs are drawn. Budgets are in tokens of the nano vocabulary, counted as
// llama.cpp tokenizes it (count_tokens), so a block falls where the engine would put it.
struct TraceOptions {
    TaskSpec spec;
    std::vector<int> n_paths = {2, 4, 4, 8, 8};  // drawn uniformly per problem
    int max_k = 2;                               // k drawn in 1..min(max_k, N-1)
    int min_segment_tokens = 10, max_segment_tokens = 20;  // T drawn in this range
    int min_segments = 2, max_segments = 3;                // M drawn in this range
    double independent_share = 0.25;             // runs without blocks (independent sampling)
    // Fixed settings instead of drawn ones (`leap nano-data --simulate`):
    int fixed_k = 0;             // > 0: this k (capped at N-1)
    int fixed_segment_tokens = 0;
    int fixed_segments = 0;
    int fixed_independent = -1;  // 0: LeaP, 1: independent
    int fixed_router = -1;       // >= 0: index into dispersed, clustered, hybrid, random
};

// The N traces of one simulated run of problem `p` (independent or LeaP-T, drawn from `seed`):
// segments of T sampled tokens, the engine's trim at a block, its texts (core/block.h, the
// prompt set) and its forced answer when the budget runs out, so training matches inference.
std::vector<Trace> simulate_run(const NanoProblem& p, uint64_t seed, const TraceOptions& opt,
                                const PromptSet& prompts);

// The user-defined tokens of the nano vocabulary: every fixed string above and the prompt set's
// texts (so each is one token), longest matched first by llama.cpp's tokenizer.
std::vector<std::string> vocabulary_words(const PromptSet& prompts, int max_peers = 16);

// Tokens of text the way llama.cpp splits it with the nano vocabulary (`words`): the longest word
// at each position, else one byte; the chat template's control tokens count as one. (The
// trainer's tests check this against llama.cpp's tokenizer.) Built once, used for every text.
class WordSplitter {
public:
    explicit WordSplitter(std::vector<std::string> words);
    std::vector<std::string> split(const std::string& text) const;

private:
    std::vector<std::string> longest_first_;
};


}  // namespace leap::nano
