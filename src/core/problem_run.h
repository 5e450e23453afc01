#pragma once
// One problem solved by N paths with the LeaP method, as a state machine with no I/O.
// A backend asks it for generation requests, carries them out (batched however it likes),
// and reports the results back. The run decides everything else: segments, blocks, routing,
// answer forcing. See docs/method.md for how this maps onto the paper.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/path.h"
#include "core/prompts.h"

namespace leap {

struct Problem {
    std::string id;
    std::string text;
    Choices choices;  // empty for math
    bool multiple_choice() const { return !choices.empty(); }
};

// One request to the backend for one path. The backend first makes its copy of the path's text
// equal to text[0, keep) (rolling its cache back), then feeds `append` (not sampled), then
// samples up to `max_tokens` tokens, stopping after any string in `stops` or at end-of-sequence.
struct GenerateRequest {
    int path = 0;
    size_t keep = 0;
    std::string append;
    TokenKind append_kind = TokenKind::Injected;
    int max_tokens = 0;
    std::vector<std::string> stops;
    TokenKind kind = TokenKind::Reasoning;
};

struct GenerateResult {
    std::string text;          // sampled text; ends with the stop string when one matched
    int n_sampled = 0;         // tokens sampled
    int n_appended = 0;        // tokens fed for `append`
    StopReason reason = StopReason::Budget;
};

class ProblemRun {
public:
    ProblemRun(int problem_index, Problem problem, RunConfig config, const PromptSet& prompts);

    // The user message and the start of the assistant's text (prefill) shared by all paths.
    const std::string& user_message() const { return user_message_; }
    const std::string& prefill() const { return prefill_; }

    // Requests that became ready since the last call (at most one per path in flight).
    std::vector<GenerateRequest> take_requests();
    void complete(int path, const GenerateResult& result);
    bool done() const;

    // The backend reports that the shared prompt took this many tokens.
    void set_prompt_tokens(long n) { prompt_tokens_ = n; }
    void add_note(int path, std::string note) { paths_[path].notes.push_back(std::move(note)); }

    int index() const { return index_; }
    const Problem& problem() const { return problem_; }
    const RunConfig& config() const { return config_; }
    const std::vector<Path>& paths() const { return paths_; }
    long prompt_tokens() const { return prompt_tokens_; }

    // Everything that happened, as the trace's "problem" object (schema: docs/trace.md).
    nlohmann::json trace() const;

private:
    void issue(Path& p, int max_tokens, std::vector<std::string> stops, TokenKind kind,
               TokenKind append_kind = TokenKind::Injected);
    void start_segment(Path& p);
    void end_segment(Path& p);
    void force_answer(Path& p);
    void finish(Path& p, FinishReason why);
    void advance();            // runs blocks and routing when their barriers are met
    void start_block(int block);
    void route_and_inject(int block);
    std::vector<std::string> segment_stops(int segment) const;

    int index_;
    Problem problem_;
    RunConfig config_;
    const PromptSet& prompts_;
    std::string user_message_, prefill_;
    std::vector<Path> paths_;
    std::vector<GenerateRequest> pending_;
    std::vector<int> in_flight_;  // 1 while a path has a request out
    long prompt_tokens_ = 0;
};

}  // namespace leap
