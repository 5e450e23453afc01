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
const char* kTableA = "A:";
const char* kTableB = ". B:";
const char* kFind = ". Find the key that A sends";
const char* kFollow = ", then follow B ";
const char* kTimes = " times from it. Where do you end?";
const char* kNo = " no";
const char* kYes = " yes";
const char* kKey = " key ";
const char* kTried = " tried ";
const char* kNone = "none";
const char* kKeep = "keep";
const char* kNoKeyYet = "no key yet";
const char* kBoxed = "\\boxed{";

// Tokens (each one word of the vocabulary). A table entry is one token ("3>0", "4=6"), and a
// path names keys with other tokens ("3?" for a try in A, "4:" for a step in B): reading an entry
// is then one attention hop from the key a path writes to the entry with that key, and the
// keys a path or its peers tried are tokens it can see (and avoid) in the context.
std::string a_entry(int k, int v) { return std::to_string(k) + ">" + std::to_string(v); }
std::string b_entry(int k, int v) { return std::to_string(k) + "=" + std::to_string(v); }
std::string try_key(int k) { return std::to_string(k) + "?"; }
std::string step_key(int k) { return std::to_string(k) + ":"; }
std::string target_word(int t) { return " to " + std::to_string(t); }

// A slip: the digit next to the right one (a misread of the table), never the right one.
int slipped(int right, Rng& rng) { return (right + (rng.below(2) ? 1 : 9)) % 10; }

bool chance(Rng& rng, double p) { return (double)(rng.next() >> 11) / 9007199254740992.0 < p; }

void shuffle(int* v, Rng& rng) {
    for (int i = 9; i > 0; --i) std::swap(v[i], v[rng.below((uint64_t)i + 1)]);
}
}  // namespace

std::string NanoProblem::text() const {
    std::string s = kTableA;
    for (int k = 0; k < 10; ++k) s += " " + a_entry(k, a[k]);
    s += kTableB;
    for (int k = 0; k < 10; ++k) s += " " + b_entry(k, b[k]);
    return s + kFind + target_word(target) + kFollow + std::to_string(steps) + kTimes;
}

NanoProblem make_problem(uint64_t seed, int index, const TaskSpec& spec) {
    if (spec.steps < 1 || spec.steps > 9) throw Error("nano task: steps must be in 1..9, got " + std::to_string(spec.steps));
    Rng rng(mix_seed({seed, (uint64_t)index, 0x4b4559u}));
    NanoProblem p;
    p.id = "nano-s" + std::to_string(seed) + "-" + std::to_string(index);
    for (int k = 0; k < 10; ++k) p.a[k] = p.b[k] = k;
    shuffle(p.a, rng);
    shuffle(p.b, rng);
    p.key = (int)rng.below(10);
    p.target = p.a[p.key];
    p.steps = spec.steps;
    int v = p.key;
    for (int s = 0; s < p.steps; ++s) v = p.b[v];
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

std::string try_text(int key, int value, bool hit) {
    return try_key(key) + std::to_string(value) + (hit ? kYes : kNo) + "\n\n";
}

std::string step_text(int from, int to) { return step_key(from) + std::to_string(to) + "\n\n"; }

std::string answer_text(int value) { return std::string("\n\n") + kBoxed + std::to_string(value) + "}"; }

std::string summary_text(int key, const std::vector<int>& tried) {
    // Keys as plain digits here: a try token ("3?") is then always followed by its value, which
    // a small model learns from the previous token alone (with "3?" in summaries too, it was
    // followed by a space as often, and telling the two apart needs the wider context).
    if (key >= 0) return kKey + std::to_string(key) + " ";
    std::string s = kTried;
    if (tried.empty()) s += kNone;
    for (size_t i = 0; i < tried.size(); ++i) s += (i ? " " : "") + std::to_string(tried[i]);
    return s + " ";
}

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
    std::vector<int> tried;   // own tries, in order
    std::set<int> excluded;   // keys known to fail (own tries and peers' reports)
    int key = -1;             // the key it follows B from (wrong after a slip)
    int value = -1;           // where it is in B
    int steps_done = 0;
    bool done = false;        // wrote the end-of-thinking marker
    bool forced = false;
};

// The next paragraph a path writes, and what it changes once written.
struct Action {
    std::string text;
    int tries = -1;           // key tried
    bool hit = false;
    int to = -1;              // B step: the new value
    bool finish = false;
};

Action next_action(const SimPath& s, const NanoProblem& p, double slip, const std::string& eot, Rng& rng) {
    Action a;
    if (s.key < 0) {
        std::vector<int> open;
        for (int k = 0; k < 10; ++k)
            if (!s.excluded.count(k)) open.push_back(k);
        if (open.empty())
            for (int k = 0; k < 10; ++k) open.push_back(k);
        a.tries = open[rng.below(open.size())];
        const int v = chance(rng, slip) ? slipped(p.a[a.tries], rng) : p.a[a.tries];
        a.hit = v == p.target;
        a.text = try_text(a.tries, v, a.hit);
    } else if (s.steps_done < p.steps) {
        a.to = chance(rng, slip) ? slipped(p.b[s.value], rng) : p.b[s.value];
        a.text = step_text(s.value, a.to);
    } else {
        a.finish = true;
        a.text = eot;
    }
    return a;
}

void apply(SimPath& s, const Action& a) {
    if (a.tries >= 0) {
        s.tried.push_back(a.tries);
        s.excluded.insert(a.tries);
        if (a.hit) s.key = s.value = a.tries;
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

    const std::string& eot = prompts.end_of_thinking;
    const std::string user = fill_template(prompts.plain_user_math, p.text(), {}, eot);
    std::vector<Trace> traces(n);
    std::vector<SimPath> state(n);
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
            add(i, summary_text(state[i].key, state[i].tried) + std::string(kSummarizeClose), false);
            summaries[i] = last_summary(text[i]);
            ++traces[i].blocks;
        }
        const auto choices = route(summaries, active, ro);
        for (int i = 0; i < n; ++i) {
            if (!active[i]) continue;
            SimPath& s = state[i];
            add(i, comment_block(choices[i], summaries, prompts), true);
            std::string check;
            if (s.key >= 0) {
                check = "\n\n" + std::string(kKeep) + "\n\n";
            } else {
                int claimed = -1;
                for (const auto& c : choices[i]) {
                    const SimPath& peer = state[c.peer];
                    if (peer.key >= 0 && claimed < 0) claimed = peer.key;
                    for (int t : peer.tried) s.excluded.insert(t);
                }
                if (claimed >= 0) {
                    // Check the peer's key with one try of its own.
                    const int v = chance(rng, slip) ? slipped(p.a[claimed], rng) : p.a[claimed];
                    const bool hit = v == p.target;
                    check = "\n\n" + try_text(claimed, v, hit);
                    s.tried.push_back(claimed);
                    s.excluded.insert(claimed);
                    if (hit) s.key = s.value = claimed;
                } else {
                    check = "\n\n" + std::string(kNoKeyYet) + "\n\n";
                }
            }
            if (choices[i].empty()) check = "\n\n";  // no peer: carry on after the cue
            add(i, check, false);
            carry[i] = (int)splitter.split(check).size();
        }
    }
    for (int i = 0; i < n; ++i) {
        SimPath& s = state[i];
        int answer;
        if (s.forced) {
            // Out of budget: the engine's opener, then the best the path has (where it is in B,
            // else a guess among the keys it has not ruled out).
            add(i, prompts.answer_opener_math, true);
            if (s.value >= 0) {
                answer = s.value;
            } else {
                std::vector<int> open;
                for (int d = 0; d < 10; ++d)
                    if (!s.excluded.count(d)) open.push_back(d);
                answer = open.empty() ? (int)rng.below(10) : open[rng.below(open.size())];
            }
            add(i, std::to_string(answer) + "}" + kEndOfText, false);
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
                                  std::string(kSummarizeClose), "<comment>", "</comment>", kBoxed, kTableA,
                                  kTableB, kFind, kFollow, kTimes, kNo, kYes, kKey, kTried, kNone, kKeep, kNoKeyYet};
    for (int d = 0; d <= 9; ++d) {
        w.push_back(try_key(d));
        w.push_back(step_key(d));
        w.push_back(target_word(d));
        for (int v = 0; v <= 9; ++v) {
            w.push_back(a_entry(d, v));
            w.push_back(b_entry(d, v));
        }
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
