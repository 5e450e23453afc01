#pragma once
// One problem solved by N paths with the LeaP method, as a state machine with no I/O.
// A backend asks it for generation requests, carries them out (batched however it likes),
// and reports the results back. The run decides everything else: segments, blocks, routing,
// answer forcing. See docs/method.md for how this maps onto the paper.
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/path.h"
#include "core/prompts.h"

namespace leap {

// One message of a chat (leap serve): role "system", "user" or "assistant".
struct ChatTurn {
    std::string role;
    std::string content;
};

struct Problem {
    std::string id;
    std::string text;
    Choices choices;  // empty for math
    // Prefix-dominance-trap experiment: assistant text every path continues from (e.g. the first
    // 15% of an existing response). It follows the method's prefill and is part of the shared
    // prompt, so it is evaluated once; the first segment starts after it. Empty: none.
    std::string assistant_prefix;
    // Chat turns before the problem's message (leap serve: a system prompt, earlier turns);
    // rendered by the chat template ahead of the method's user message. Empty: none.
    std::vector<ChatTurn> earlier_turns;
    bool multiple_choice() const { return !choices.empty(); }
};

// Mixture of Agents: one path's response in an earlier layer (the last layer is the path itself).
struct LayerRecord {
    int layer = 1;                      // 1-based
    std::string text;                   // the path's whole text in that layer
    std::vector<std::string> segments;
    std::string answer;
    FinishReason finish = FinishReason::None;
    std::array<long, (size_t)TokenKind::Count> tokens{};  // tokens spent in that layer
};

// A forced answer ends as soon as it is complete (answer_end in core/answer.h), so nothing
// sampled after its box or letter can change the grade.
enum class AnswerCheck { None, Math, Choice };

// One request to the backend for one path. The backend first makes its copy of the path's text
// equal to text[0, keep) (rolling its cache back), then feeds `append` (not sampled), then
// samples up to `max_tokens` tokens, stopping after any string in `stops`, at end-of-sequence,
// or (answer_check) once the answer that `answer_before` opened is complete.
struct GenerateRequest {
    int path = 0;
    size_t keep = 0;
    std::string append;
    TokenKind append_kind = TokenKind::Injected;
    int max_tokens = 0;
    std::vector<std::string> stops;
    TokenKind kind = TokenKind::Reasoning;
    AnswerCheck answer_check = AnswerCheck::None;
    std::string answer_before;  // the answer's opener, as the path's text ends before sampling
    // Non-empty: the path starts a new conversation before anything else (MoA with
    // --moa-layout reference). The backend renders the problem's earlier turns and this user
    // message with the chat template (with its generation prompt), and that rendering takes the
    // place of the shared prompt for this path from now on: its cache is cleared from position 0
    // and refilled. `keep` is 0; the path's text (`append` on) follows the new prompt.
    std::string new_conversation;
};

struct GenerateResult {
    std::string text;          // sampled text; ends with the stop string when one matched
    int n_sampled = 0;         // tokens sampled
    int n_appended = 0;        // tokens fed for `append`
    StopReason reason = StopReason::Budget;
    // The token confidence (core/confidence.h) of each sampled token, in order, when the run
    // needs it (RunConfig::needs_confidence); empty otherwise.
    std::vector<float> token_confidence;
};

class ProblemRun {
public:
    ProblemRun(int problem_index, Problem problem, RunConfig config, const PromptSet& prompts);

    // The user message and the start of the assistant's text shared by all paths: the method's
    // prefill followed by the problem's assistant prefix. The backend evaluates it once with the
    // prompt; every path's text starts with it.
    const std::string& user_message() const { return user_message_; }
    const std::string& prefill() const { return start_; }
    const std::string& method_prefill() const { return prefill_; }  // without the assistant prefix

    // Requests that became ready since the last call (at most one per path in flight).
    std::vector<GenerateRequest> take_requests();
    void complete(int path, const GenerateResult& result);
    bool done() const;
    // Paths whose request in flight the run no longer needs (early exit): the backend ends each
    // one as soon as it can with StopReason::Stopped and reports it through complete() as usual
    // (a backend that lets it run to its end is correct too, only slower). Empty when none.
    std::vector<int> take_stops();

    // The backend reports that the shared prompt took this many tokens.
    void set_prompt_tokens(long n) { prompt_tokens_ = n; }
    // ... and what the chat template wrote after the user message (its generation prompt and,
    // for reasoning models, the opening of the thinking section), for the trace.
    void set_prompt_tail(std::string tail) { prompt_tail_ = std::move(tail); }
    // The rendered prompt's part after the user message (the last 256 bytes when the template
    // changed the message's text).
    static std::string tail_after(const std::string& rendered, const std::string& user_message);
    void add_note(int path, std::string note) { paths_[path].notes.push_back(std::move(note)); }

    int index() const { return index_; }
    const Problem& problem() const { return problem_; }
    const RunConfig& config() const { return config_; }
    const std::vector<Path>& paths() const { return paths_; }
    long prompt_tokens() const { return prompt_tokens_; }
    // LeaP-S: the path stopped after the block because it is not its group's continuing path
    // (its answer was forced right after the block).
    bool pruned(int path) const { return pruned_.at(path) != 0; }
    // Mixture of Agents: the current layer (1-based; 1 for every other method) and each path's
    // earlier layers.
    int layer() const { return layer_; }
    // --prune-share with --prune-at after: the path was pruned after hearing its peers at a block
    // (its answer was forced there); -1 when it was not.
    int pruned_after_block(int path) const { return pruned_after_.at(path); }
    const std::vector<LayerRecord>& earlier_layers(int path) const { return layers_.at(path); }

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
    const ThinkingFormat& thinking() const { return prompts_.thinking; }
    void start_layer();                  // MoA: every path restarts from the aggregation text
    std::string moa_responses() const;   // MoA: the previous layer's responses, in path order
    std::string moa_user_message() const;  // MoA, reference layout: the next layer's user message
    bool reference_stops() const;        // --parity reference's stops apply (not to MoA's reference layout)
    // Confidence-aware options (core/problem_run_adaptive.cpp, docs/adaptive.md).
    void init_adaptive();
    std::vector<double> path_confidence() const;  // each path's group confidence now (its last window)
    void check_early_exit();
    void stop_path(Path& p, FinishReason why, std::string note);
    void complete_stopped(Path& p, const GenerateResult& r);
    void prune_before_block(int block);
    std::vector<char> prune_after_block(int block);  // which paths at the route answer now

    int index_;
    Problem problem_;
    RunConfig config_;
    const PromptSet& prompts_;
    std::string user_message_, prefill_, start_;  // start_ = prefill_ + assistant prefix
    std::string opener_math_, opener_choice_;     // the answer openers, {eot} filled in
    std::vector<Path> paths_;
    std::vector<char> pruned_;                    // LeaP-S
    int layer_ = 1;                               // MoA
    std::vector<size_t> layer_start_;             // MoA: where the current layer's own text begins
    std::vector<size_t> answer_at_;               // where the answer part of the text begins
    std::vector<std::vector<LayerRecord>> layers_;
    std::vector<std::array<long, (size_t)TokenKind::Count>> tokens_at_layer_;
    std::vector<std::string> moa_user_messages_;  // MoA, reference layout: layer 2's, layer 3's, ...
    std::vector<char> new_conversation_;          // MoA, reference layout: the path's next request starts one
    std::vector<FinishReason> stopping_;          // a stopped path's reason while its request ends
    std::vector<int> stops_;                      // take_stops
    std::vector<int> pruned_after_;               // --prune-at after: the block, or -1
    bool quorum_reached_ = false;
    std::vector<GenerateRequest> pending_;
    std::vector<int> in_flight_;  // 1 while a path has a request out
    long prompt_tokens_ = 0;
    std::string prompt_tail_;
};

}  // namespace leap
