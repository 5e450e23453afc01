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
const char* kThen = ", then apply y to 3y+1 mod 10";
const char* kNoneYet = " none yet";
const char* kBoxed = "\\boxed{";
// After the end-of-thinking marker the answer opens with one token: spelt as "\n\n" then
// "\boxed{", a model must look two tokens back to tell it from the blank line after a peer
// comment's cue, and a partly trained one answered right after the cue.
const char* kAnswerOpen = "\n\n\\boxed{";

// Tokens (each one word of the vocabulary). Every step a model takes is a function of the token
// before it, a copy of the one token of a kind, or both in one token: a try "3x+7 at x=4" names a
// key drawn at will and copies the problem's target (the one "Find x ... 3x+7" token); its product
// and verdict (" gives 19 no", or " gives 10 yes so x=1" when the product is a multiple of 10) are
// one token, a function of the try; the plan (" (x+4)\n\n") restates the problem's shift, a copy
// of the plan before, so the start finds it near; a found key is copied into reports (" x=1") and a peer's report
// into a try; a step "y2=3\n\n" follows from "y1=4\n\n" (the first from the start), and the
// answer "3}" after "\boxed{" copies the last step. (Designs that needed a model to compare two
// numbers or to choose one of several listed keys were not learnt within this machine's training
// budget; docs/nano.md.)
std::string n(int v) { return std::to_string(v); }
std::string find_word(int t) { return "Find x in 0..9 with 10 dividing 3x+" + n(t); }
// The key last: number-structured embeddings (make_model) give a token the component of the last
// number in its text, so a try shares it with its key's report " x=4" and found-key verdict.
std::string try_word(int k, int t) { return "3x+" + n(t) + " at x=" + n(k); }
// A try of a key a peer reported has its own tokens: were it spelt like a free try, tries of the
// passing key would be more frequent than others in the traces, and a model would learn to try it
// first (greedy decoding then "finds" the key on its first try without any search).
std::string peer_try_word(int k, int t) { return "peer's " + try_word(k, t); }
std::string verdict_word(int v, int k) {
    return " gives " + n(v) + (product_passes(v) ? " yes so x=" + n(k) : std::string(" no"));
}
// Every try ends by restating the problem's shift (" (x+4)\n\n", the plan), so the start finds it
// just before: a copy from the problem itself, forty tokens back on average, was never learnt
// (runs 5g-6i; a probe training the start alone: 99% from 9-token contexts within 500 steps,
// chance from real ones after 8,000). Each plan copies the one before (the first, the problem a
// few tokens back), as each try copies the target from the try before. Its own token, not part
// of the verdict: verdicts that restated it (run 7a) were ten times as many tokens, and their
// tables were learnt far more slowly.
std::string plan_word(int shift) { return " (x+" + n(shift) + ")\n\n"; }
std::string given_word(int k) { return "With x=" + n(k); }
std::string report_word(int k) { return " x=" + n(k); }
std::string times_word(int steps, int shift) {
    return " " + n(steps) + " times from x+" + n(shift) + ". Where do you end?";
}
// Where the steps start: one token "y0=8+4=2\n\n", the found key plus the problem's shift and their
// sum, right after the passing try's plan: the shift is the token before and the key two back
// (read from the problem itself, forty tokens back, the shift was copied at chance in runs
// 5g-6i, docs/nano.md), and the token is fixed by those two copies, the sum being part of its
// spelling. The sum comes last so that its number-structured embedding is the sum's, and the
// first step ("y1=7") is a function of that number, as every later step is of the one before:
// after a start that ended on the shift ("y0=8+4", run 7b) the first step was a 100-entry table
// and stayed at chance while the others were learnt. The shift makes the answer depend on two
// tokens of the problem, which a model this small does not learn to read off jointly; without it
// the answer was a function of the target alone, ten problems, and a trained model wrote it
// down without searching (docs/nano.md).
std::string start_word(int key, int shift) {
    return "y0=" + n(key) + "+" + n(shift) + "=" + n((key + shift) % kKeys) + "\n\n";
}
std::string answer_word(int v) { return n(v) + "}"; }
constexpr int kMaxProduct = 3 * (kKeys - 1) + (kTargets - 1) + 1;  // a slip may write one more

// A slip: a number next to the right one (a miscalculation), never the right one.
int slipped(int right, Rng& rng) { return right == 0 || rng.below(2) ? right + 1 : right - 1; }

bool chance(Rng& rng, double p) { return (double)(rng.next() >> 11) / 9007199254740992.0 < p; }
}  // namespace

std::string NanoProblem::text() const { return find_word(target) + kThen + times_word(steps, shift); }

std::string given_key_text(const NanoProblem& p) { return given_word(p.key) + kThen + times_word(p.steps, p.shift); }

NanoProblem make_problem(uint64_t seed, int index, const TaskSpec& spec) {
    if (spec.steps < 1 || spec.steps > 5) throw Error("nano task: steps must be in 1..5, got " + std::to_string(spec.steps));
    Rng rng(mix_seed({seed, (uint64_t)index, 0x4b4559u}));
    NanoProblem p;
    p.id = "nano-s" + std::to_string(seed) + "-" + std::to_string(index);
    p.target = (int)rng.below(kTargets);
    p.key = passing_key(p.target);
    p.shift = (int)rng.below(kKeys);
    p.steps = spec.steps;
    int v = (p.key + p.shift) % kKeys;
    for (int s = 0; s < p.steps; ++s) v = step_value(v);
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

std::string try_text(int key, int target, int shift, int value, bool peers_key) {
    return (peers_key ? peer_try_word(key, target) : try_word(key, target)) + verdict_word(value, key) + plan_word(shift);
}

std::string step_text(int index, int value) { return "y" + n(index) + "=" + n(value) + "\n\n"; }

std::string answer_text(int value) { return kAnswerOpen + answer_word(value); }

std::string summary_text(int key) { return (key >= 0 ? report_word(key) : std::string(kNoneYet)) + " "; }

WordSplitter::WordSplitter(std::vector<std::string> words) : longest_first_(std::move(words)) {
    for (const char* control : {kUserTurn, kAssistantTurn, kEndOfText}) longest_first_.push_back(control);
    std::stable_sort(longest_first_.begin(), longest_first_.end(),
                     [](const auto& x, const auto& y) { return x.size() > y.size(); });
}

std::vector<std::string> WordSplitter::split(const std::string& text) const {
    // llama.cpp's partition of raw text by user-defined tokens: longest token first, each splits
    // every raw fragment at its occurrences; what stays raw is byte-level BPE without merges.
    struct Fragment {
        std::string text;
        bool word;
    };
    std::vector<Fragment> frags = {{text, false}};
    for (const auto& w : longest_first_) {
        std::vector<Fragment> next;
        for (auto& f : frags) {
            if (f.word || f.text.find(w) == std::string::npos) {
                next.push_back(std::move(f));
                continue;
            }
            size_t from = 0, at;
            while ((at = f.text.find(w, from)) != std::string::npos) {
                if (at > from) next.push_back({f.text.substr(from, at - from), false});
                next.push_back({w, true});
                from = at + w.size();
            }
            if (from < f.text.size()) next.push_back({f.text.substr(from), false});
        }
        frags = std::move(next);
    }
    std::vector<std::string> out;
    for (const auto& f : frags) {
        if (f.word) out.push_back(f.text);
        else
            for (char c : f.text) out.emplace_back(1, c);
    }
    return out;
}

namespace {
// One path of a simulated run: what it knows and what it writes next.
struct SimPath {
    int key = -1;             // the key it steps on from (wrong after a slip)
    int value = -1;           // where its steps are
    bool started = false;     // wrote the start (key plus shift)
    int steps_done = 0;
    bool done = false;        // wrote the end-of-thinking marker
    bool forced = false;
};

// The next paragraph a path writes, and what it changes once written.
struct Action {
    std::string text;
    int tries = -1;           // key tried
    bool hit = false;
    int to = -1;              // a step: the new value
    bool start = false;       // the step is the start
    bool finish = false;
};

Action try_action(int key, const NanoProblem& p, double slip, Rng& rng, bool peers_key = false) {
    Action a;
    a.tries = key;
    const int v = chance(rng, slip) ? slipped(check_value(key, p.target), rng) : check_value(key, p.target);
    a.hit = product_passes(v);
    a.text = try_text(key, p.target, p.shift, v, peers_key);
    return a;
}

Action next_action(const SimPath& s, const NanoProblem& p, double slip, const std::string& eot, Rng& rng) {
    // Keys are drawn with replacement: a path's next try does not depend on its earlier ones
    // (a model this small would not learn to avoid them, so the traces do not ask it to).
    if (s.key < 0) return try_action((int)rng.below(kKeys), p, slip, rng);
    Action a;
    if (!s.started) {
        a.start = true;
        a.to = (s.key + p.shift) % kKeys;
        a.text = start_word(s.key, p.shift);
    } else if (s.steps_done < p.steps) {
        a.to = chance(rng, slip) ? slipped(step_value(s.value), rng) : step_value(s.value);
        a.text = step_text(s.steps_done + 1, a.to);
    } else {
        a.finish = true;
        a.text = eot;
    }
    return a;
}

void apply(SimPath& s, const Action& a) {
    if (a.tries >= 0) {
        if (a.hit) s.key = s.value = a.tries;
    } else if (a.start) {
        s.value = a.to;
        s.started = true;
    } else if (a.to >= 0) {
        s.value = a.to;
        ++s.steps_done;
    } else if (a.finish) {
        s.done = true;
    }
}
}  // namespace

std::vector<Trace> simulate_run(const NanoProblem& p, uint64_t seed, const TraceOptions& opt,
                                const PromptSet& prompts) {
    if (opt.n_paths.empty()) throw Error("nano traces: n_paths is empty");
    if (opt.min_segment_tokens < 4 || opt.max_segment_tokens < opt.min_segment_tokens || opt.min_segments < 1 ||
        opt.max_segments < opt.min_segments)
        throw Error("nano traces: bad segment ranges");
    const WordSplitter splitter(vocabulary_words(prompts));
    Rng rng(mix_seed({seed, 0x52554eu}));
    const int n = opt.n_paths[rng.below(opt.n_paths.size())];
    if (n < 1) throw Error("nano traces: N must be >= 1");
    bool independent = n == 1 || chance(rng, opt.independent_share);
    if (opt.fixed_independent >= 0) independent = opt.fixed_independent == 1 || n == 1;
    int k = n > 1 ? 1 + (int)rng.below((uint64_t)std::min(opt.max_k, n - 1)) : 0;
    if (opt.fixed_k > 0) k = std::min(opt.fixed_k, n - 1);
    int T = opt.min_segment_tokens + (int)rng.below((uint64_t)(opt.max_segment_tokens - opt.min_segment_tokens + 1));
    if (opt.fixed_segment_tokens > 0) T = opt.fixed_segment_tokens;
    int M = opt.min_segments + (int)rng.below((uint64_t)(opt.max_segments - opt.min_segments + 1));
    if (opt.fixed_segments > 0) M = opt.fixed_segments;

    static const RouterKind kinds[] = {RouterKind::Dispersed, RouterKind::Clustered, RouterKind::Hybrid,
                                       RouterKind::Random};
    RouterOptions ro;
    ro.kind = kinds[rng.below(4)];
    if (opt.fixed_router >= 0) ro.kind = kinds[opt.fixed_router % 4];
    ro.k = std::max(1, k);
    ro.seed = rng.next();

    const bool given_key = opt.given_key_share > 0 && chance(rng, opt.given_key_share);
    const std::string& eot = prompts.end_of_thinking;
    const std::string user = fill_template(prompts.plain_user_math, given_key ? given_key_text(p) : p.text(), {}, eot);
    std::vector<Trace> traces(n);
    std::vector<SimPath> state(n);
    if (given_key)
        for (auto& st : state) st.key = st.value = p.key;
    std::vector<std::string> text(n);  // each path's assistant text, for the engine's helpers
    for (int i = 0; i < n; ++i) {
        traces[i].problem_id = p.id;
        traces[i].user_message = user;
        traces[i].n_paths = n;
        traces[i].k = independent ? 0 : k;
        traces[i].segment_tokens = T;
        traces[i].segments = M;
    }
    auto add = [&](int i, std::string s, bool injected, std::string alt = {}) {
        text[i] += s;
        traces[i].pieces.push_back({std::move(s), injected, std::move(alt)});
    };
    const double slip = opt.spec.slip;
    // Independent sampling: the segments run on without a block, so the budget is M x T.
    const int seg_budget = independent ? M * T : T;
    const int n_segments = independent ? 1 : M;
    std::vector<int> carry(n, 0);  // tokens of the segment already used (the check after a block)
    for (int seg = 0; seg < n_segments; ++seg) {
        const bool last = seg + 1 == n_segments;
        std::vector<std::string> pending(n);  // the paragraph a block cut off (alt label)
        for (int i = 0; i < n; ++i) {
            SimPath& s = state[i];
            if (s.done) continue;
            int used = carry[i];
            while (!s.done) {
                const Action a = next_action(s, p, slip, eot, rng);
                const auto toks = splitter.split(a.text);
                if (used + (int)toks.size() <= seg_budget) {
                    add(i, a.text, false);
                    apply(s, a);
                    used += (int)toks.size();
                    continue;
                }
                // The budget ends inside this paragraph: before a block the engine trims it;
                // at the end it forces the answer after what was written.
                if (last) {
                    std::string part;
                    for (int t = 0; t < seg_budget - used; ++t) part += toks[t];
                    if (!part.empty()) add(i, part, false);
                    s.forced = true;
                    s.done = true;
                } else {
                    pending[i] = a.text;
                }
                break;
            }
        }
        if (last) break;
        // A LeaP block among the paths still thinking.
        std::vector<std::string> summaries(n);
        std::vector<bool> active(n, false);
        for (int i = 0; i < n; ++i) {
            if (state[i].done) continue;
            active[i] = true;
            const std::string& trigger = prompts.triggers[rng.below(prompts.triggers.size())];
            const std::string& opener = prompts.openers[rng.below(prompts.openers.size())];
            std::string alt = pending[i];
            if (alt.empty()) {  // the segment ended between paragraphs: the next one
                Rng peek = rng;
                alt = next_action(state[i], p, slip, eot, peek).text;
            }
            add(i, summary_request(text[i], trigger, opener), true, alt);
            add(i, summary_text(state[i].key) + std::string(kSummarizeClose), false);
            summaries[i] = last_summary(text[i]);
            ++traces[i].blocks;
        }
        const auto choices = route(summaries, active, ro);
        for (int i = 0; i < n; ++i) {
            if (!active[i]) continue;
            SimPath& s = state[i];
            add(i, comment_block(choices[i], summaries, prompts), true);
            // The path goes on after the cue; one that has no key but hears of one first checks it
            // with a try of its own.
            std::string check = "\n\n";
            if (s.key < 0) {
                std::vector<int> claims;  // keys peers report (some wrong, after a slip)
                for (const auto& c : choices[i])
                    if (state[c.peer].key >= 0) claims.push_back(state[c.peer].key);
                if (!claims.empty()) {
                    const Action a = try_action(claims[rng.below(claims.size())], p, slip, rng, true);
                    check += a.text;
                    apply(s, a);
                }
            }
            add(i, check, false);
            carry[i] = (int)splitter.split(check).size();
        }
    }
    for (int i = 0; i < n; ++i) {
        SimPath& s = state[i];
        int answer;
        if (s.forced) {
            // Out of budget: the engine's opener, then where its steps are, or, without a key,
            // that it has none. (Not a guess: a guess drawn at random teaches nothing, and at
            // greedy decoding a model turns the faint pull of the answers it saw after finding
            // keys into an answer read off the prompt, a shortcut no trace ever takes.)
            add(i, prompts.answer_opener_math, true);
            answer = s.value;
            add(i, (answer >= 0 ? answer_word(answer) : std::string(kNoneYet) + "}") + kEndOfText, false);
        } else {
            answer = s.value;
            add(i, answer_text(answer) + kEndOfText, false);
        }
        traces[i].correct = answer == p.answer;
        traces[i].found = s.key == p.key;
    }
    return traces;
}

std::vector<std::string> vocabulary_words(const PromptSet& prompts, int max_peers) {
    std::vector<std::string> w = {"\n\n", "<think>", prompts.end_of_thinking, std::string(kSummarizeOpen),
                                  std::string(kSummarizeClose), "<comment>", "</comment>", kBoxed, kAnswerOpen, kThen, kNoneYet};
    for (int t = 0; t < kTargets; ++t) {
        w.push_back(find_word(t));
        for (int k = 0; k < kKeys; ++k) {
            w.push_back(try_word(k, t));
            w.push_back(peer_try_word(k, t));
        }
    }
    for (int v = 0; v <= kMaxProduct; ++v)
        if (!product_passes(v)) w.push_back(verdict_word(v, 0));
        else
            for (int k = 0; k < kKeys; ++k) w.push_back(verdict_word(v, k));  // slips find wrong keys
    for (int k = 0; k < kKeys; ++k)
        for (int v = 0; v < kKeys; ++v) w.push_back(start_word(k, v));
    for (int v = 0; v < kKeys; ++v) w.push_back(plan_word(v));
    for (int v = 0; v < kKeys; ++v) {
        w.push_back(report_word(v));
        w.push_back(given_word(v));
        w.push_back(answer_word(v));
    }
    for (int s = 1; s <= 5; ++s) {
        for (int v = 0; v < kKeys; ++v) w.push_back(times_word(s, v));
        for (int v = 0; v < kKeys; ++v) w.push_back(step_text(s, v));
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
