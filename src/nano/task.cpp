#include "nano/task.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/block.h"
#include "core/error.h"
#include "core/rng.h"
#include "nano/vocab.h"

namespace leap::nano {

namespace {
int mod10(int v) { return ((v % 10) + 10) % 10; }

std::string op_text(int op) { return (op < 0 ? "-" : "+") + std::to_string(op < 0 ? -op : op); }

const char* kStart = "Start at ";
const char* kApply = " and apply, modulo 10:";
const char* kQuestion = ". What is the final value?";
const char* kMine = "mine ";
const char* kPeers = ", peers ";
const char* kKeep = ": keep ";
const char* kTake = ": take ";
const char* kGives = " gives ";
const char* kBoxed = "\\boxed{";

// A slip: the kinds of mistakes people make in running sums (off by one, a sign read wrongly),
// so a slip lands on one of a few values rather than anywhere.
int slipped(int before, int op, int right, Rng& rng) {
    int wrong = right;
    switch (rng.below(3)) {
        case 0: wrong = mod10(right + 1); break;
        case 1: wrong = mod10(right - 1); break;
        default: wrong = mod10(before - op); break;
    }
    if (wrong == right) wrong = mod10(right + 1);  // before - op == before + op when op is 5 or -5
    return wrong;
}
}  // namespace

std::string NanoProblem::text() const {
    std::string s = kStart + std::to_string(start) + kApply;
    for (size_t i = 0; i < ops.size(); ++i) s += " [" + std::to_string(i + 1) + "]" + op_text(ops[i]);
    return s + kQuestion;
}

NanoProblem make_problem(uint64_t seed, int index, const TaskSpec& spec) {
    if (spec.steps < 1 || spec.steps > 40) throw Error("nano task: steps must be in 1..40, got " + std::to_string(spec.steps));
    Rng rng(mix_seed({seed, (uint64_t)index, 0x4e414e4fu}));
    NanoProblem p;
    p.id = "nano-s" + std::to_string(seed) + "-" + std::to_string(index);
    p.start = (int)rng.below(10);
    int v = p.start;
    const int first = (1 + (int)rng.below(9)) * (rng.below(2) ? -1 : 1);
    for (int i = 0; i < spec.steps; ++i) {
        int op = first;
        if (spec.varied_ops && i > 0) op = (1 + (int)rng.below(9)) * (rng.below(2) ? -1 : 1);
        p.ops.push_back(op);
        v = mod10(v + op);
    }
    p.answer = v;
    return p;
}

std::vector<NanoProblem> make_problems(uint64_t seed, int count, const TaskSpec& spec) {
    if (count < 0) throw Error("nano task: count must be >= 0");
    std::vector<NanoProblem> out;
    out.reserve(count);
    for (int i = 0; i < count; ++i) out.push_back(make_problem(seed, i, spec));
    return out;
}

std::string to_jsonl(const std::vector<NanoProblem>& problems) {
    std::string out;
    for (const auto& p : problems) {
        nlohmann::json j = {{"id", p.id}, {"problem", p.text()}, {"answer", std::to_string(p.answer)}};
        out += j.dump() + "\n";
    }
    return out;
}

std::string step_text(int step, int value_before, int op, int value_after) {
    // The index is followed by its operation, as in the problem: copying the operation is then
    // "find the earlier occurrence of this token, take the next one", which small models learn fast.
    return "[" + std::to_string(step) + "]" + op_text(op) + " " + std::to_string(value_before) + "=" +
           std::to_string(value_after) + "\n\n";
}

std::string summary_text(int step, int value) {
    return " [" + std::to_string(step) + "]" + kGives + std::to_string(value) + " ";
}

int vote(int mine, const std::vector<int>& peers) {
    int count[10] = {0};
    count[mine]++;
    for (int v : peers) count[v]++;
    int best = mine;
    for (int v : peers)
        if (count[v] > count[best]) best = v;
    return best;
}

std::string check_text(int mine, const std::vector<int>& peers, int result) {
    std::string s = std::string("\n\n") + kMine + std::to_string(mine) + kPeers;
    for (size_t i = 0; i < peers.size(); ++i) s += (i ? " " : "") + std::to_string(peers[i]);
    s += result == mine ? kKeep : kTake;
    return s + std::to_string(result) + "\n\n";
}

std::string answer_text(int value) { return std::string("\n\n") + kBoxed + std::to_string(value) + "}"; }

std::vector<Trace> simulate_run(const NanoProblem& p, uint64_t seed, const TraceOptions& opt,
                                const PromptSet& prompts) {
    if (opt.n_paths.empty()) throw Error("nano traces: n_paths is empty");
    Rng rng(mix_seed({seed, 0x52554eu}));
    const int n = opt.n_paths[rng.below(opt.n_paths.size())];
    if (n < 1) throw Error("nano traces: N must be >= 1");
    int k = n > 1 ? 1 + (int)rng.below((uint64_t)std::min(opt.max_k, n - 1)) : 0;
    if (opt.fixed_k > 0) k = std::min(opt.fixed_k, n - 1);
    const int max_blocks = n > 1 ? opt.max_blocks : 0;
    const int n_blocks = (int)rng.below((uint64_t)max_blocks + 1);
    const int steps = (int)p.ops.size();

    // The engine ends a segment after T tokens and trims to the last blank line, so a block
    // follows a whole step; where it falls depends on T and k. Draw the positions.
    std::set<int> block_after;
    for (int b = 0, at = 0; b < n_blocks; ++b) {
        at += 2 + (int)rng.below(4);
        if (at >= steps) break;
        block_after.insert(at);
    }
    if (!opt.fixed_blocks.empty()) {
        block_after.clear();
        for (int at : opt.fixed_blocks)
            if (at > 0 && at < steps && n > 1) block_after.insert(at);
    }
    // Some traces run out of budget: the engine forces the answer after a step.
    int cut = steps;
    if (rng.below(1000) < (uint64_t)(opt.forced_share * 1000)) cut = steps / 2 + (int)rng.below((uint64_t)(steps - steps / 2));

    static const RouterKind kinds[] = {RouterKind::Dispersed, RouterKind::Clustered, RouterKind::Hybrid,
                                       RouterKind::Random};
    RouterOptions ro;
    ro.kind = kinds[rng.below(4)];
    if (opt.fixed_router >= 0) ro.kind = kinds[opt.fixed_router % 4];
    ro.k = std::max(1, k);
    ro.seed = rng.next();

    const std::string user = fill_template(prompts.plain_user_math, p.text(), {}, prompts.end_of_thinking);
    std::vector<Trace> traces(n);
    std::vector<int> value(n, p.start);
    std::vector<std::string> text(n);  // each path's assistant text, for the engine's helpers
    for (int i = 0; i < n; ++i) {
        traces[i].problem_id = p.id;
        traces[i].user_message = user;
        traces[i].n_paths = n;
        traces[i].k = k;
        traces[i].blocks = (int)block_after.size();
    }
    auto add = [&](int i, std::string s, bool injected, std::string alt = {}) {
        text[i] += s;
        traces[i].pieces.push_back({std::move(s), injected, std::move(alt)});
    };
    const double slip = opt.spec.slip;
    for (int s = 1; s <= cut; ++s) {
        const int op = p.ops[s - 1];
        for (int i = 0; i < n; ++i) {
            const int right = mod10(value[i] + op);
            const bool slips = (double)(rng.next() >> 11) / 9007199254740992.0 < slip;
            const int after = slips ? slipped(value[i], op, right, rng) : right;
            add(i, step_text(s, value[i], op, after), false);
            value[i] = after;
        }
        if (!block_after.count(s) || s == cut) continue;
        const std::string next = "[" + std::to_string(s + 1) + "]";
        std::vector<std::string> summaries(n);
        for (int i = 0; i < n; ++i) {
            const std::string& trigger = prompts.triggers[rng.below(prompts.triggers.size())];
            const std::string& opener = prompts.openers[rng.below(prompts.openers.size())];
            add(i, summary_request(text[i], trigger, opener), true, next);
            add(i, summary_text(s, value[i]) + std::string(kSummarizeClose), false);
            summaries[i] = last_summary(text[i]);
        }
        const auto choices = route(summaries, std::vector<bool>(n, true), ro);
        std::vector<int> updated(n);
        for (int i = 0; i < n; ++i) {
            add(i, comment_block(choices[i], summaries, prompts), true);
            if (choices[i].empty()) {  // no peer: carry on
                updated[i] = value[i];
                continue;
            }
            std::vector<int> peers;
            for (const auto& c : choices[i]) peers.push_back(value[c.peer]);
            updated[i] = vote(value[i], peers);
            add(i, check_text(value[i], peers, updated[i]), false);
        }
        value = updated;
    }
    for (int i = 0; i < n; ++i) {
        if (cut < steps) {
            add(i, prompts.answer_opener_math, true, "[" + std::to_string(cut + 1) + "]");
            add(i, std::to_string(value[i]) + "}" + kEndOfText, false);
        } else {
            add(i, prompts.end_of_thinking + answer_text(value[i]) + kEndOfText, false);
        }
        traces[i].correct = value[i] == p.answer;
    }
    return traces;
}

std::vector<std::string> vocabulary_words(const PromptSet& prompts, int max_steps, int max_peers) {
    std::vector<std::string> w = {"\n\n", "<think>", prompts.end_of_thinking, std::string(kSummarizeOpen),
                                  std::string(kSummarizeClose), "<comment>", "</comment>", kBoxed, kStart,
                                  kApply, kQuestion, kMine, kPeers, kKeep, kTake, kGives};
    for (int i = 1; i <= max_steps; ++i) w.push_back("[" + std::to_string(i) + "]");
    for (int d = 0; d <= 9; ++d) {
        w.push_back("+" + std::to_string(d));
        w.push_back("-" + std::to_string(d));
    }
    for (int i = 1; i <= max_peers; ++i) w.push_back("Peer " + std::to_string(i) + ": \"");
    // The prompt set: the plain prompt around its placeholder, and every text a block injects.
    const std::string& plain = prompts.plain_user_math;
    const size_t at = plain.find("{problem}");
    if (at == std::string::npos) {
        w.push_back(plain);
    } else {
        w.push_back(plain.substr(0, at));
        w.push_back(plain.substr(at + 9));
    }
    for (const auto& t : prompts.triggers) w.push_back(t);
    for (const auto& t : prompts.openers) w.push_back(t);
    for (const auto* t : {&prompts.comment_cue, &prompts.no_comment_text, &prompts.no_comment_cue,
                          &prompts.answer_opener_math})
        w.push_back(*t);
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (auto& s : w)
        if (!s.empty() && seen.insert(s).second) out.push_back(s);
    return out;
}

}  // namespace leap::nano
