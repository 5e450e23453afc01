// ProblemRun's confidence-aware options (docs/adaptive.md): early exit once a quorum of paths
// agrees, pruning the least confident paths at a block. Kept apart from problem_run.cpp, which
// holds the method itself; these only stop paths, they never change what a running path sees
// (except the confidence routers, which only choose among the peers).
#include <algorithm>
#include <cstdio>

#include "core/early_exit.h"
#include "core/problem_run.h"

namespace leap {

namespace {
std::string fixed(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}
}  // namespace

void ProblemRun::init_adaptive() {
    stopping_.assign(paths_.size(), FinishReason::None);
    pruned_after_.assign(paths_.size(), -1);
    for (Path& p : paths_) p.confidence = PathConfidence(config_.confidence.window);
}

std::vector<int> ProblemRun::take_stops() {
    std::vector<int> out;
    out.swap(stops_);
    return out;
}

std::vector<double> ProblemRun::path_confidence() const {
    // At a block the decision is online, as DeepConf's early stopping: the group confidence of
    // the window that ends at the block (the path's latest tokens), not its history.
    std::vector<double> c;
    for (const Path& p : paths_) c.push_back(p.confidence.group());
    return c;
}

void ProblemRun::check_early_exit() {
    if (config_.early_exit_quorum <= 0 || quorum_reached_) return;
    const bool mc = problem_.multiple_choice();
    const AnswerJudge& judge = answer_judge();
    std::vector<std::string> answers(paths_.size());
    for (const Path& p : paths_)
        if (p.phase == Phase::Done && !p.stopped()) answers[p.index] = judge.extract(p.text, mc);
    const std::vector<int> quorum = quorum_of(answers, config_.early_exit_quorum,
                                              [&](const std::string& a, const std::string& b) { return judge.same(a, b, mc); });
    if (quorum.empty()) return;
    quorum_reached_ = true;
    std::string who;
    for (int i : quorum) who += (who.empty() ? "" : ", ") + std::to_string(i);
    for (Path& p : paths_)
        if (p.phase != Phase::Done && stopping_[p.index] == FinishReason::None)
            stop_path(p, FinishReason::EarlyExit,
                      "early exit: paths " + who + " agree on " + answers[quorum.front()] + " (quorum " +
                          std::to_string(config_.early_exit_quorum) + ")");
}

void ProblemRun::stop_path(Path& p, FinishReason why, std::string note) {
    p.notes.push_back(std::move(note));
    const auto queued = std::find_if(pending_.begin(), pending_.end(), [&](const GenerateRequest& r) { return r.path == p.index; });
    if (in_flight_[p.index] && queued == pending_.end()) {
        // The backend holds its request: it ends it (take_stops) and reports what it sampled.
        stopping_[p.index] = why;
        stops_.push_back(p.index);
        return;
    }
    if (queued != pending_.end()) {
        // Not handed out yet: the text it would have fed never reaches the backend.
        p.text.resize(p.text.size() - queued->append.size());
        p.synced = std::min(p.synced, p.text.size());
        pending_.erase(queued);
        in_flight_[p.index] = 0;
    }
    finish(p, why);
    p.answer.clear();
}

void ProblemRun::complete_stopped(Path& p, const GenerateResult& r) {
    const FinishReason why = stopping_[p.index];
    stopping_[p.index] = FinishReason::None;
    p.text += r.text;  // what it sampled before the stop is part of its text (and the backend's)
    p.synced = p.text.size();
    // The tokens were spent: they count where the request's kind puts them.
    switch (p.phase) {
        case Phase::Segment:
            p.tokens[(size_t)TokenKind::Reasoning] += r.n_sampled;
            p.segments.back() += r.text;
            for (float c : r.token_confidence) p.confidence.add(c);
            break;
        case Phase::Summarizing: p.tokens[(size_t)TokenKind::Summary] += r.n_sampled; break;
        default: p.tokens[(size_t)TokenKind::Answer] += r.n_sampled; break;
    }
    p.tokens[(size_t)TokenKind::Injected] += r.n_appended;
    finish(p, why);
    p.answer.clear();
}

void ProblemRun::prune_before_block(int block) {
    if (!(config_.prune_share > 0) || config_.prune_at != PruneAt::Before) return;
    std::vector<bool> at_block(paths_.size(), false);
    for (const Path& p : paths_) at_block[p.index] = p.phase == Phase::AtBlock;
    const std::vector<double> conf = path_confidence();
    const long n_at = std::count(at_block.begin(), at_block.end(), true);
    for (int i : lowest_confidence(conf, at_block, config_.prune_share)) {
        Path& p = paths_[i];
        p.notes.push_back("pruned before block " + std::to_string(block + 1) + ": group confidence " +
                          fixed(conf[i]) + " among the " + std::to_string(n_at) + " paths there");
        finish(p, FinishReason::Pruned);
        p.answer.clear();
    }
}

std::vector<char> ProblemRun::prune_after_block(int) {
    std::vector<char> out(paths_.size(), 0);
    if (!(config_.prune_share > 0) || config_.prune_at != PruneAt::After) return out;
    std::vector<bool> at_route(paths_.size(), false);
    for (const Path& p : paths_) at_route[p.index] = p.phase == Phase::AtRoute;
    for (int i : lowest_confidence(path_confidence(), at_route, config_.prune_share)) out[i] = 1;
    return out;
}

}  // namespace leap
