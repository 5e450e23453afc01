#pragma once
// A deterministic test backend for ProblemRun: "tokens" come from a script instead of a model.
//
// It plays the backend's side of the protocol exactly as the llama backend does:
//   - it keeps its own copy of every path's text and, for each request, rolls it back to
//     text[0, keep) and appends `append`; the result must equal ProblemRun's text for the path
//     (asserted: the real backend's KV cache relies on this invariant);
//   - it samples one token per step, applies the stop strings with leap::find_stop over the
//     request's generated text (so a stop split over two tokens is found, and text after the
//     stop inside the same token is dropped), then the max_tokens budget;
//   - a forced answer with an answer check ends once leap::answer_end says it is complete;
//   - EOS (kEos from the script) ends the request with StopReason::EndOfSequence and is neither
//     part of the text nor counted as sampled;
//   - a path can be given a context limit: once it has sampled that many tokens in total (all
//     requests but answers, which the real engine keeps room for), the current request ends with
//     StopReason::ContextFull, or a new one ends at once with nothing sampled.
// The driver runs one or more ProblemRuns to completion, one token per active path per step
// (the order within a step is configurable), and keeps a log of every request.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/answer.h"
#include "core/problem_run.h"
#include "core/rng.h"
#include "core/stop.h"

namespace leap_test {

using leap::GenerateRequest;
using leap::GenerateResult;
using leap::Phase;
using leap::ProblemRun;
using leap::StopReason;
using leap::TokenKind;

// The built-in prompts with one trigger ("Recap.") and one opener ("So:"), so that expected
// texts can be written down without knowing the random draw.
inline const leap::PromptSet& fixed_prompts() {
    static const leap::PromptSet p = [] {
        leap::PromptSet q = leap::PromptSet::builtin();
        q.triggers = {"Recap."};
        q.openers = {"So:"};
        return q;
    }();
    return p;
}

// Returned by a script to end the request with end-of-sequence.
inline const std::string kEos = "\x04<eos>\x04";

// What a script sees when asked for the next token.
struct ScriptCall {
    int problem = 0;             // ProblemRun::index()
    int path = 0;
    const std::string& text;     // the path's full text so far (after the shared prompt)
    TokenKind kind = TokenKind::Reasoning;  // the request's kind
    int sampled = 0;             // tokens sampled so far in this request
    int request = 0;             // this path's request number (0-based)
};
using Script = std::function<std::string(const ScriptCall&)>;

// One request as the backend carried it out.
struct RequestLog {
    GenerateRequest req;
    std::string before;    // the path's text when sampling began (after keep + append)
    // The user message of the conversation the path's text follows: "" for the problem's shared
    // prompt, else the last new_conversation the path was given (MoA, reference layout).
    std::string conversation;
    GenerateResult result;
    std::string after;     // ProblemRun's text for the path after complete() returned
    Phase phase_after = Phase::Segment;
    long step = 0;         // driver step at which it completed
};

// Tokens given per request: table[{problem, path}][n] are the tokens of that path's n-th
// request, in order. Past the end of a list (or for a request with no list) `filler` is used.
using RequestTable = std::map<std::pair<int, int>, std::vector<std::vector<std::string>>>;
inline Script by_request(RequestTable table, std::string filler = "z ") {
    return [table = std::move(table), filler = std::move(filler)](const ScriptCall& c) -> std::string {
        const auto it = table.find({c.problem, c.path});
        if (it == table.end() || c.request >= (int)it->second.size()) return filler;
        const auto& tokens = it->second[c.request];
        return c.sampled < (int)tokens.size() ? tokens[c.sampled] : filler;
    };
}

class ScriptedBackend {
public:
    enum class Order { Forward, Reverse, Shuffle };

    explicit ScriptedBackend(Script script) : script_(std::move(script)) {}

    // Step order of the paths within one step (Shuffle: seeded, different every step).
    ScriptedBackend& order(Order o, uint64_t seed = 0) {
        order_ = o;
        shuffle_seed_ = seed;
        return *this;
    }
    // Path `path` of the run in slot `slot` is full after `tokens` sampled tokens (see above).
    ScriptedBackend& context_limit(int slot, int path, long tokens) {
        limits_[{slot, path}] = tokens;
        return *this;
    }
    // Each sampled token's confidence (GenerateResult::token_confidence), as the script's run
    // asks for it; unset: none is reported.
    ScriptedBackend& confidence(std::function<float(const ScriptCall&)> f) {
        confidence_ = std::move(f);
        return *this;
    }
    // How many tokens an appended string costs (n_appended). Default: one per byte.
    ScriptedBackend& append_tokens(std::function<int(std::string_view)> f) {
        count_append_ = std::move(f);
        return *this;
    }

    // Runs every ProblemRun to completion and returns them. Slots are positions in `runs`.
    std::vector<ProblemRun> drive(std::vector<ProblemRun> runs) {
        runs_ = &runs;
        step_ = -1;  // requests issued before the first step sample from step 0 on
        completions_.clear();
        state_.assign(runs.size(), {});
        logs_.assign(runs.size(), {});
        for (size_t s = 0; s < runs.size(); ++s) {
            state_[s].resize(runs[s].paths().size());
            logs_[s].resize(runs[s].paths().size());
            for (size_t i = 0; i < runs[s].paths().size(); ++i) {
                // The shared prompt (with the prefill) is already in every path's cache.
                state_[s][i].text = runs[s].prefill();
                EXPECT_EQ(runs[s].paths()[i].text, runs[s].prefill()) << "slot " << s << " path " << i;
            }
            start_all((int)s);
        }
        for (step_ = 0;; ++step_) {
            bool all_done = true;
            for (const auto& r : runs) all_done = all_done && r.done();
            if (all_done) break;
            std::vector<std::pair<int, int>> active;
            for (int s = 0; s < (int)runs.size(); ++s)
                for (int i = 0; i < (int)state_[s].size(); ++i)
                    if (state_[s][i].active) active.emplace_back(s, i);
            if (active.empty()) {
                ADD_FAILURE() << "stalled: some run is not done but no request is in flight";
                break;
            }
            if (step_ > 100000) {
                ADD_FAILURE() << "runaway: more than 100000 steps";
                break;
            }
            if (order_ == Order::Reverse) std::reverse(active.begin(), active.end());
            if (order_ == Order::Shuffle) {
                leap::Rng rng(leap::mix_seed({shuffle_seed_, (uint64_t)step_}));
                for (size_t t = active.size(); t > 1; --t) std::swap(active[t - 1], active[rng.below(t)]);
            }
            // One token per path whose request was in flight when this step began.
            for (const auto& [s, i] : active) {
                PathCopy& pc = state_[s][i];
                if (pc.active && pc.started_step < step_) sample_one(s, i);
            }
        }
        for (size_t s = 0; s < runs.size(); ++s)
            for (size_t i = 0; i < state_[s].size(); ++i) {
                EXPECT_FALSE(state_[s][i].active) << "slot " << s << " path " << i << " still in flight";
                EXPECT_EQ(state_[s][i].text, runs[s].paths()[i].text)
                    << "backend copy and ProblemRun disagree at the end (slot " << s << " path " << i << ")";
            }
        runs_ = nullptr;
        return runs;
    }

    const std::vector<RequestLog>& log(int slot, int path) const { return logs_.at(slot).at(path); }
    // Completion order over the whole drive: (slot, path, request kind).
    const std::vector<std::tuple<int, int, TokenKind>>& completions() const { return completions_; }
    long steps() const { return step_; }

private:
    struct PathCopy {
        std::string text;       // the backend's copy of the path's text
        std::string conversation;  // see RequestLog::conversation
        bool active = false;
        GenerateRequest req;
        std::string before;
        std::string generated;
        int n_sampled = 0, n_appended = 0;
        std::vector<float> confidence;
        long total = 0;         // tokens sampled over all non-answer requests
        int requests = 0;
        long started_step = -1;
    };

    void start_all(int s) {
        for (GenerateRequest& r : (*runs_)[s].take_requests()) start(s, std::move(r));
    }

    void start(int s, GenerateRequest r) {
        ProblemRun& run = (*runs_)[s];
        ASSERT_GE(r.path, 0);
        ASSERT_LT(r.path, (int)state_[s].size());
        PathCopy& pc = state_[s][r.path];
        ASSERT_FALSE(pc.active) << "two requests in flight for slot " << s << " path " << r.path;
        ASSERT_LE(r.keep, pc.text.size()) << "keep beyond the backend's text (slot " << s << " path " << r.path << ")";
        EXPECT_GT(r.max_tokens, 0);
        if (!r.new_conversation.empty()) {
            // A new conversation replaces the shared prompt: the path's text starts over.
            EXPECT_EQ(r.keep, 0u) << "a new conversation keeps nothing (slot " << s << " path " << r.path << ")";
            pc.conversation = r.new_conversation;
        }
        pc.text.resize(r.keep);
        pc.text += r.append;
        // The invariant the llama backend relies on: after keep + append, the backend holds
        // exactly ProblemRun's text for the path.
        EXPECT_EQ(pc.text, run.paths()[r.path].text)
            << "slot " << s << " path " << r.path << " request " << pc.requests << ": keep=" << r.keep
            << " append=\"" << r.append << "\"";
        EXPECT_EQ(run.paths()[r.path].synced, pc.text.size());
        EXPECT_NE(run.paths()[r.path].phase, Phase::Done);
        pc.active = true;
        pc.req = std::move(r);
        pc.before = pc.text;
        pc.generated.clear();
        pc.n_sampled = 0;
        pc.confidence.clear();
        pc.n_appended = count_append_ ? count_append_(pc.req.append) : (int)pc.req.append.size();
        pc.started_step = step_;
        const int path = pc.req.path;
        if (pc.req.kind != TokenKind::Answer && full(s, path)) finish(s, path, StopReason::ContextFull);
    }

    bool full(int s, int path) const {
        const auto it = limits_.find({s, path});
        return it != limits_.end() && state_[s][path].total >= it->second;
    }

    void sample_one(int s, int path) {
        ProblemRun& run = (*runs_)[s];
        PathCopy& pc = state_[s][path];
        const ScriptCall call{run.index(), path, pc.text, pc.req.kind, pc.n_sampled, pc.requests};
        const std::string tok = script_(call);
        if (tok == kEos) {
            finish(s, path, StopReason::EndOfSequence);
            return;
        }
        if (confidence_) pc.confidence.push_back(confidence_(call));
        const size_t old = pc.generated.size();
        pc.generated += tok;
        pc.text += tok;
        ++pc.n_sampled;
        if (pc.req.kind != TokenKind::Answer) ++pc.total;
        if (auto m = leap::find_stop(pc.generated, old, pc.req.stops)) {
            const size_t overshoot = pc.generated.size() - m->end();
            pc.generated.resize(m->end());
            pc.text.resize(pc.text.size() - overshoot);
            finish(s, path, StopReason::StopString);
        } else if (const auto end = pc.req.answer_check == leap::AnswerCheck::None
                                        ? std::nullopt
                                        : leap::answer_end(pc.req.answer_before, pc.generated,
                                                           pc.req.answer_check == leap::AnswerCheck::Choice)) {
            // A forced answer is complete: what the token wrote past it is dropped.
            pc.text.resize(pc.text.size() - (pc.generated.size() - *end));
            pc.generated.resize(*end);
            finish(s, path, StopReason::AnswerComplete);
        } else if (pc.n_sampled >= pc.req.max_tokens) {
            finish(s, path, StopReason::Budget);
        } else if (pc.req.kind != TokenKind::Answer && full(s, path)) {
            finish(s, path, StopReason::ContextFull);
        }
    }

    void finish(int s, int path, StopReason reason) {
        ProblemRun& run = (*runs_)[s];
        PathCopy& pc = state_[s][path];
        pc.active = false;
        ++pc.requests;
        RequestLog entry;
        entry.req = pc.req;
        entry.before = pc.before;
        entry.conversation = pc.conversation;
        entry.result.text = pc.generated;
        entry.result.n_sampled = pc.n_sampled;
        entry.result.n_appended = pc.n_appended;
        entry.result.reason = reason;
        entry.result.token_confidence = pc.confidence;
        entry.step = step_;
        run.complete(path, entry.result);
        // Early exit: the requests the run no longer needs end now, as the llama backend ends them.
        for (int stopped : run.take_stops())
            if (state_[s][stopped].active) finish(s, stopped, StopReason::Stopped);
        entry.after = run.paths()[path].text;
        entry.phase_after = run.paths()[path].phase;
        logs_[s][path].push_back(std::move(entry));
        completions_.emplace_back(s, path, pc.req.kind);
        start_all(s);
    }

    Script script_;
    Order order_ = Order::Forward;
    uint64_t shuffle_seed_ = 0;
    std::map<std::pair<int, int>, long> limits_;
    std::function<int(std::string_view)> count_append_;
    std::function<float(const ScriptCall&)> confidence_;
    std::vector<ProblemRun>* runs_ = nullptr;
    std::vector<std::vector<PathCopy>> state_;
    std::vector<std::vector<std::vector<RequestLog>>> logs_;
    std::vector<std::tuple<int, int, TokenKind>> completions_;
    long step_ = 0;
};

}  // namespace leap_test
