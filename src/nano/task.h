#pragma once
// LeaP-T nano: a synthetic reasoning task on which a path's start decides its result and peers
// can help (docs/nano.md).
//
// A problem names a target t, for which one of the keys 0..9 passes a check, and a shift:
//   "Find x in 0..9 with 10 dividing 3x+7, then apply y to 3y+1 mod 10 3 times from x+4.
//    Where do you end?"
// Checking a key is one step of arithmetic, finding the one that passes is a search: a path tries
// keys one per paragraph ("3x+7 at x=4 gives 19 no (x+4)", "3x+7 at x=1 gives 10 yes so x=1 (x+4)";
// each try ends restating the shift), then starts from the key it found plus the shift
// ("y0=1+4=5"), applies the steps ("y1=6", "y2=9", ...) and answers \boxed{...}. The token budget
// allows only a few tries, so a path whose first tries miss runs out: its beginning decides its
// result (the prefix dominance trap in miniature), and no decoding setting helps, because which key
// passes cannot be known before trying it. At a LeaP block a path reports the key it found (" x=1")
// or " none yet"; a path that hears of a key checks it with one try of its own ("peer's 3x+7 at x=1
// gives 10 yes so x=1 (x+4)") and carries on from it. Slips (a wrong product) make some reports
// wrong; the check catches them.
//
// Every step a model takes is a function of the token before it, a copy of the one token of a
// kind, or both at once in one token (a try names a key drawn at will and the problem's target).
// Designs that needed a model to compare two numbers or to choose one of several listed keys
// were not learnt within this machine's training budget (docs/nano.md).
#include <cstdint>
#include <string>
#include <vector>

#include "core/prompts.h"
#include "core/router.h"

namespace leap::nano {

inline constexpr int kKeys = 10;     // keys 0..9
inline constexpr int kTargets = 10;  // targets 0..9

// The task's arithmetic, fixed for every problem (the model learns it as it learns the format).
inline int check_value(int x, int t) { return 3 * x + t; }  // what a try computes (0..36)
inline bool product_passes(int v) { return v % 10 == 0; }  // the check, on a product as written
// The one key x with product_passes(check_value(x, t)): x = -t / 3 = -7t mod 10 (3 * 7 = 21).
inline int passing_key(int t) { return (7 * (10 - t % 10)) % 10; }
inline int step_value(int y) { return (3 * y + 1) % kKeys; }   // one step after the key

struct TaskSpec {
    int steps = 3;       // steps after the key is found (1..5)
    double slip = 0.02;  // per-computation chance of a wrong number in generated traces
};

struct NanoProblem {
    std::string id;
    int target = 0;   // t of the check 3x+t
    int shift = 0;    // the steps start from x + shift (mod 10)
    int steps = 0;
    int key = 0;      // the key that passes the check
    int answer = 0;   // step_value applied `steps` times to (key + shift) mod 10
    std::string text() const;
};

// Problem `index` of the stream `seed` (the same seed and index give the same problem).
NanoProblem make_problem(uint64_t seed, int index, const TaskSpec& spec);
std::vector<NanoProblem> make_problems(uint64_t seed, int count, const TaskSpec& spec);
// One JSON object per line: {"id", "problem", "answer"} (docs/datasets.md), with "\n" endings.
std::string to_jsonl(const std::vector<NanoProblem>& problems);

// Texts a path writes (the model's side of a trace), shared by the generator and the tests.
// A try: the key and the check, its product and the verdict (from the product).
// A key a peer reported is tried with its own tokens ("peer's 3x+7 at x=1 gives 10 yes so x=1 (x+4)\n\n").
// A try ends restating the problem's shift (the plan): "3x+7 at x=4 gives 19 no (x+2)\n\n".
std::string try_text(int key, int target, int shift, int value, bool peers_key = false);
std::string step_text(int index, int value);         // "y1=11\n\n" (index from 1)
std::string answer_text(int value);                  // "\n\n\\boxed{3}" (after the end-of-thinking marker)
// A summary, as the model writes it between the tags: " x=10 " once a key is found, else
// " none yet ".
std::string summary_text(int key);
// The warm-up variant's problem text (TraceOptions::given_key_share): the key is given.
std::string given_key_text(const NanoProblem& p);

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
    bool found = false;        // the path stepped on from the right key
    int n_paths = 1, k = 0, blocks = 0, segment_tokens = 0, segments = 0;
};

// How simulated runs are drawn. Budgets are in tokens of the nano vocabulary, counted as
// llama.cpp tokenizes it (count_tokens), so a block falls where the engine would put it.
struct TraceOptions {
    TaskSpec spec;
    std::vector<int> n_paths = {2, 4, 4, 8, 8};  // drawn uniformly per problem
    int max_k = 2;                               // k drawn in 1..min(max_k, N-1)
    int min_segment_tokens = 5, max_segment_tokens = 8;    // T drawn in this range
    int min_segments = 3, max_segments = 5;                // M drawn in this range
    double independent_share = 0.25;             // runs without blocks (independent sampling)
    // Runs of a warm-up variant (training only): the problem gives the key ("With x=8, then apply
    // ..."), so every path starts at once, at one fixed distance from the shift it copies, as the
    // first try sits at a fixed distance from the target it copies. Tried because the search's
    // starts come at varying offsets and their shift copy was never learnt; it did not help
    // either (run 6g, docs/nano.md), so it is off by default.
    double given_key_share = 0;
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
