// --parity reference against an oracle of the reference implementation's text assembly.
//
// The oracle below is written from the semantics of the reference (SPEC.md §2-3 and the
// behaviour docs/method.md lists under "Differences from the reference"), with its own few
// functions and nothing from src/core/ but the types that carry the scripted tokens. It runs
// every path in lockstep (all segments, then every block, ...), asking the same script for the
// same tokens, and must produce, request by request, the text leap's ProblemRun holds when the
// scripted backend samples, and the same final text, byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "core/problem_run.h"
#include "scripted_backend.h"

namespace {

using namespace leap;
using leap_test::kEos;
using leap_test::ScriptCall;
using leap_test::ScriptedBackend;

// ---- the oracle ------------------------------------------------------------------------------

struct OracleRequest {
    TokenKind kind;
    std::string before;     // the path's text when sampling began
    std::string generated;  // what the request added (stop string included)
};

struct OraclePath {
    std::string text;
    bool done = false;
    int requests = 0;
    std::vector<OracleRequest> log;
    std::string summary;
    std::string finish;  // "end-of-thinking", "end-of-sequence", "forced"
};

struct OracleSettings {
    Method method;
    int n = 3, T = 6, M = 3, S = 4, A = 4, k = 1;
    std::vector<int> blocks;  // enabled blocks (0-based)
    int group_size = 0;       // leap-s
    bool multiple_choice = false;
};

bool has_suffix(const std::string& s, const std::string& x) {
    return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

std::string strip(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace((unsigned char)s[b])) ++b;
    while (e > b && std::isspace((unsigned char)s[e - 1])) --e;
    return s.substr(b, e - b);
}

// 1 - indel / (|a| + |b|), indel = |a| + |b| - 2 LCS (ASCII texts here).
double indel_similarity(const std::string& a, const std::string& b) {
    if (a.empty() && b.empty()) return 1.0;
    std::vector<int> prev(b.size() + 1, 0), cur(b.size() + 1, 0);
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
        std::swap(prev, cur);
    }
    const double lcs = prev[b.size()];
    return 1.0 - (a.size() + b.size() - 2 * lcs) / (double)(a.size() + b.size());
}

class Oracle {
public:
    Oracle(OracleSettings s, leap_test::Script script, const PromptSet& p, std::string prefill)
        : s_(std::move(s)), script_(std::move(script)), p_(p) {
        paths_.resize(s_.n);
        for (auto& path : paths_) path.text = prefill;
        eot_ = "</think>";
    }

    std::vector<OraclePath> run() {
        for (int seg = 0; seg < s_.M; ++seg) {
            for (int i = 0; i < s_.n; ++i) {
                if (paths_[i].done) continue;
                std::vector<std::string> stops{eot_};
                if (s_.method == Method::LeapT) stops.push_back("<summarize>");  // every segment
                const auto [gen, eos] = generate(i, TokenKind::Reasoning, s_.T, stops);
                if (eos) finish(i, "end-of-sequence");
                else if (has_suffix(gen, eot_)) finish(i, "end-of-thinking");  // stops there, graded as is
            }
            const bool block = seg + 1 < s_.M && std::find(s_.blocks.begin(), s_.blocks.end(), seg) != s_.blocks.end();
            if (block) run_block();
        }
        for (int i = 0; i < s_.n; ++i)
            if (!paths_[i].done) force(i);
        return paths_;
    }

private:
    // Samples with the script until a stop string, end of sequence or the budget.
    std::pair<std::string, bool> generate(int i, TokenKind kind, int budget, const std::vector<std::string>& stops) {
        OraclePath& p = paths_[i];
        OracleRequest r{kind, p.text, {}};
        bool eos = false;
        for (int n = 0; n < budget; ++n) {
            const std::string tok = script_(ScriptCall{0, i, p.text + r.generated, kind, n, p.requests});
            if (tok == kEos) {
                eos = true;
                break;
            }
            const size_t old = r.generated.size();
            r.generated += tok;
            // The earliest stop string that ends in the new token's text.
            size_t cut = std::string::npos;
            for (const std::string& st : stops) {
                const size_t from = old >= st.size() ? old - st.size() + 1 : 0;
                const size_t at = r.generated.find(st, from);
                if (at != std::string::npos && (cut == std::string::npos || at + st.size() < cut)) cut = at + st.size();
            }
            if (cut != std::string::npos) {
                r.generated.resize(cut);
                break;
            }
        }
        p.text += r.generated;
        ++p.requests;
        p.log.push_back(r);
        return {r.generated, eos};
    }

    void finish(int i, const char* why) {
        paths_[i].done = true;
        paths_[i].finish = why;
    }

    void force(int i) {
        OraclePath& p = paths_[i];
        std::string opener = s_.multiple_choice ? p_.answer_opener_choice : p_.answer_opener_math;
        for (size_t at; (at = opener.find("{eot}")) != std::string::npos;) opener.replace(at, 5, eot_);
        p.text += opener;
        generate(i, TokenKind::Answer, s_.A, {eot_, "</summarize>"});
        finish(i, "forced");
    }

    void run_block() {
        std::vector<int> active;
        for (int i = 0; i < s_.n; ++i)
            if (!paths_[i].done) active.push_back(i);
        for (int i : active) {
            OraclePath& p = paths_[i];
            // Trim: everything after the last blank line of the whole text (the reference searches
            // all of it, the prefill included).
            const size_t blank = p.text.rfind("\n\n");
            if (blank != std::string::npos) p.text.resize(blank + 2);
            else if (s_.method == Method::LeapT && has_suffix(p.text, "<summarize>")) {
                p.text.resize(p.text.size() - 11);
                while (!p.text.empty() && p.text.back() == ' ') p.text.pop_back();
            }
            std::string sep = has_suffix(p.text, "\n\n") ? "" : (has_suffix(p.text, "\n") ? "\n" : "\n\n");
            p.text += sep + p_.triggers.at(0) + " <summarize> " + p_.openers.at(0);
            const auto [gen, eos] = generate(i, TokenKind::Summary, s_.S, {"</summarize>", eot_});
            (void)eos;
            // Normalize: end-of-thinking markers deleted, the closing tag completed or added.
            std::string g = gen;
            p.text.resize(p.text.size() - gen.size());
            for (size_t at; (at = g.find(eot_)) != std::string::npos;) g.erase(at, eot_.size());
            const std::string close = "</summarize>";
            if (!has_suffix(g, close)) {
                bool partial = false;
                for (size_t n = close.size() - 1; n > 0 && !partial; --n)
                    if (has_suffix(g, close.substr(0, n))) {
                        g += close.substr(n);
                        partial = true;
                    }
                if (!partial) g += "... " + close;
            }
            p.text += g;
            const size_t open = p.text.rfind("<summarize>");
            const size_t end = p.text.find(close, open);
            p.summary = strip(p.text.substr(open + 11, end - open - 11));
        }
        for (int i : active) {
            // Dispersed routing: the k least similar active peers (of the same group for leap-s).
            std::vector<std::pair<double, int>> cand;
            for (int j : active)
                if (j != i && (s_.group_size == 0 || j / s_.group_size == i / s_.group_size))
                    cand.push_back({indel_similarity(paths_[i].summary, paths_[j].summary), j});
            std::stable_sort(cand.begin(), cand.end(), [](auto& a, auto& b) { return a.first < b.first; });
            if ((int)cand.size() > s_.k) cand.resize(s_.k);
            std::string c = " <comment> ";
            if (cand.empty()) {
                c += p_.no_comment_text + " </comment>\n\n" + p_.no_comment_cue;
            } else {
                for (size_t n = 0; n < cand.size(); ++n)
                    c += (n ? "\n" : "") + std::string("Peer ") + std::to_string(n + 1) + ": \"" +
                         paths_[cand[n].second].summary + "\"";
                c += " </comment>\n\n" + p_.comment_cue;
            }
            paths_[i].text += c;
        }
        if (s_.group_size > 0)
            // LeaP-S: in each group only the lowest active path goes on; the others answer now.
            for (int i : active) {
                const int g = i / s_.group_size;
                const int rep = *std::find_if(active.begin(), active.end(), [&](int j) { return j / s_.group_size == g; });
                if (i != rep) force(i);
            }
    }

    OracleSettings s_;
    leap_test::Script script_;
    const PromptSet& p_;
    std::string eot_;
    std::vector<OraclePath> paths_;
};

// ---- the comparison ----------------------------------------------------------------------------

const PromptSet& prompts() {
    static const PromptSet p = [] {
        PromptSet q = PromptSet::builtin();
        q.triggers = {"Let me recap."};
        q.openers = {"So far:"};
        return q;
    }();
    return p;
}

// Paragraphs, a natural end of thinking (path 1, its second request), an end of sequence
// (path 2, third request), summaries that close, run out, or stop half-way through the tag.
std::string script(const ScriptCall& c) {
    const std::string id = "p" + std::to_string(c.path) + "r" + std::to_string(c.request) + "t" + std::to_string(c.sampled);
    switch (c.kind) {
        case TokenKind::Reasoning:
            if (c.path == 1 && c.request == 2 && c.sampled == 3) return " so</th";
            if (c.path == 1 && c.request == 2 && c.sampled == 4) return "ink> done";
            if (c.path == 2 && c.request == 4 && c.sampled == 2) return kEos;
            if (c.path == 0 && c.sampled == 4) return " <summarize> hmm";  // LeaP-T opens a summary
            return c.sampled % 3 == 2 ? id + "\n\n" : id + " ";
        case TokenKind::Summary:
            if (c.path == 0) return c.sampled == 1 ? "</summarize>" : " x=" + std::to_string(c.request);
            if (c.path == 1 && c.sampled == 2) return " </summ";
            return " y" + id;
        case TokenKind::Answer:
            if (c.sampled == 0) return "4";
            return c.sampled == 1 ? "2} and </summarize> more" : "z";
        default:
            return "?";
    }
}

void compare(Method m, std::vector<int> blocks, int n, int group_size, bool mc) {
    RunConfig c;
    c.method = m;
    c.n_paths = n;
    c.segment_tokens = 6;
    c.segments = 4;
    c.summary_tokens = 4;
    c.answer_tokens = 4;
    c.router.k = 1;
    c.reference_parity = true;
    c.blocks = blocks;
    if (m == Method::Single || m == Method::LeapS) c.single_block = blocks.at(0);
    if (m == Method::LeapS) c.group_size = group_size;
    Problem problem{"q", "What is 6 times 7?", {}};
    if (mc) problem.choices = {{"A", "42"}, {"B", "36"}, {"C", "48"}, {"D", "13"}};
    ScriptedBackend b(script);
    std::vector<ProblemRun> runs;
    runs.emplace_back(0, problem, c, prompts());
    runs = b.drive(std::move(runs));
    const ProblemRun& run = runs[0];

    OracleSettings s;
    s.method = m;
    s.n = n;
    s.T = 6;
    s.M = 4;
    s.S = 4;
    s.A = 4;
    s.k = 1;
    s.blocks = blocks;
    s.group_size = m == Method::LeapS ? group_size : 0;
    s.multiple_choice = mc;
    const bool protocol = m != Method::LeapT;
    const std::string prefill = protocol ? prompts().leap_prefill : "";
    const auto want = Oracle(s, script, prompts(), prefill).run();

    for (int i = 0; i < n; ++i) {
        SCOPED_TRACE("path " + std::to_string(i));
        const auto& log = b.log(0, i);
        ASSERT_EQ(log.size(), want[i].log.size());
        for (size_t r = 0; r < log.size(); ++r) {
            SCOPED_TRACE("request " + std::to_string(r));
            EXPECT_EQ(log[r].req.kind, want[i].log[r].kind);
            EXPECT_EQ(log[r].before, want[i].log[r].before);
            EXPECT_EQ(log[r].result.text, want[i].log[r].generated);
        }
        EXPECT_EQ(run.paths()[i].text, want[i].text);
        EXPECT_EQ(std::string(to_string(run.paths()[i].finish)), want[i].finish);
    }
}

TEST(ReferenceParity, LeapEqualsTheOracle) {
    compare(Method::Leap, {0, 1, 2}, 3, 0, false);
    compare(Method::Leap, {0, 1, 2}, 3, 0, true);
}

TEST(ReferenceParity, LeapWithSelectedBlocksEqualsTheOracle) { compare(Method::Leap, {0, 2}, 3, 0, false); }

TEST(ReferenceParity, LeapTEqualsTheOracle) {
    compare(Method::LeapT, {0, 1, 2}, 3, 0, false);
    compare(Method::LeapT, {1}, 3, 0, true);  // LeaP-T with one selected block
}

TEST(ReferenceParity, SingleEqualsTheOracle) { compare(Method::Single, {1}, 3, 0, false); }

TEST(ReferenceParity, LeapSEqualsTheOracle) { compare(Method::LeapS, {0}, 4, 2, false); }

// Without the switch leap differs where the table says it does: the natural end writes an
// answer, the forced answer stops once complete, LeaP-T's last segment runs on past <summarize>.
TEST(ReferenceParity, LeapsOwnBehaviourDiffers) {
    RunConfig c;
    c.method = Method::Leap;
    c.n_paths = 3;
    c.segment_tokens = 6;
    c.segments = 4;
    c.summary_tokens = 4;
    c.answer_tokens = 4;
    c.router.k = 1;
    ScriptedBackend b(script);
    std::vector<ProblemRun> runs;
    runs.emplace_back(0, Problem{"q", "What is 6 times 7?", {}}, c, prompts());
    runs = b.drive(std::move(runs));
    const Path& natural = runs[0].paths()[1];
    EXPECT_EQ(natural.finish, FinishReason::EndOfThinking);
    EXPECT_EQ(b.log(0, 1).back().req.kind, TokenKind::Answer);  // it wrote an answer
    const Path& forced = runs[0].paths()[0];
    EXPECT_TRUE(forced.text.ends_with("\\boxed{42}")) << forced.text;  // stopped once the box closed
}

}  // namespace
