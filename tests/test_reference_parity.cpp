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
    std::string before;        // the path's text when sampling began
    std::string generated;     // what the request added (stop string included)
    std::string conversation;  // the user message the text follows ("" = the problem's prompt)
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

// ---- the oracle of the reference's Mixture of Agents ----------------------------------------------
//
// Layer 1: every agent answers the problem. Layer l > 1: every agent starts a new conversation
// whose one user message holds the problem and the previous layer's responses (each response's
// text after its thinking, numbered from 1), and answers again. A response is up to M segments
// of T tokens, each stopped at the end of thinking; after the marker the agent writes its answer
// (up to W tokens, to the end of sequence); one still thinking after M segments gets the answer
// opener and an answer that ends where its box closes (A tokens at most).

struct MoaAgent {
    std::string text, conversation, finish, answer;
    int requests = 0;
    std::vector<OracleRequest> log;
};

class MoaOracle {
public:
    MoaOracle(int n, int layers, int T, int M, int A, int W, leap_test::Script script, const PromptSet& p,
              std::string problem)
        : n_(n), layers_(layers), T_(T), M_(M), A_(A), W_(W), script_(std::move(script)), p_(p),
          problem_(std::move(problem)) {
        agents_.resize(n_);
    }

    std::vector<MoaAgent> run() {
        for (int layer = 1; layer <= layers_; ++layer) {
            const std::string conversation = layer == 1 ? "" : message();
            if (layer > 1) messages.push_back(conversation);
            for (int i = 0; i < n_; ++i) {
                agents_[i].text.clear();
                agents_[i].conversation = conversation;
                respond(i);
            }
        }
        return agents_;
    }

    std::vector<std::string> messages;  // layer 2's, layer 3's, ...

private:
    std::string message() const {
        std::string responses;
        for (int i = 0; i < n_; ++i) {
            const std::string a = strip(agents_[i].answer);
            responses += (i ? "\n\n" : "") + std::string("Response ") + std::to_string(i + 1) + ":\n" +
                         (a.empty() ? "(no answer)" : a);
        }
        std::string m = p_.moa_user_math;
        m.replace(m.find("{responses}"), 11, responses);
        m.replace(m.find("{problem}"), 9, problem_);
        return m;
    }

    void respond(int i) {
        MoaAgent& a = agents_[i];
        const std::string eot = "</think>";
        for (int seg = 0; seg < M_; ++seg) {
            const auto [gen, eos] = generate(i, TokenKind::Reasoning, T_, eot, false);
            if (eos) {
                a.finish = "end-of-sequence";
                a.answer = "";
                return;
            }
            if (has_suffix(gen, eot)) {
                generate(i, TokenKind::Answer, W_, "", false);  // its own answer, no stop string
                a.finish = "end-of-thinking";
                a.answer = a.text.substr(a.text.rfind(eot) + eot.size());
                return;
            }
        }
        const size_t at = a.text.size();
        a.text += p_.answer_opener_math;  // it opens a \boxed{
        generate(i, TokenKind::Answer, A_, "", true);
        a.finish = "forced";
        a.answer = a.text.substr(at);
    }

    // Samples until `stop` (when not empty), the end of sequence, the budget or (box) the brace
    // that closes the opener's \boxed{.
    std::pair<std::string, bool> generate(int i, TokenKind kind, int budget, const std::string& stop, bool box) {
        MoaAgent& a = agents_[i];
        OracleRequest r{kind, a.text, {}, a.conversation};
        bool eos = false;
        int depth = 1;
        for (int n = 0; n < budget; ++n) {
            const std::string tok = script_(ScriptCall{0, i, a.text + r.generated, kind, n, a.requests});
            if (tok == kEos) {
                eos = true;
                break;
            }
            bool cut = false;
            for (char ch : tok) {
                r.generated += ch;
                if (box && ch == '{') ++depth;
                if (box && ch == '}' && --depth == 0) {
                    cut = true;
                    break;
                }
                if (!stop.empty() && has_suffix(r.generated, stop)) {
                    cut = true;
                    break;
                }
            }
            if (cut) break;
        }
        a.text += r.generated;
        ++a.requests;
        a.log.push_back(r);
        return {r.generated, eos};
    }

    int n_, layers_, T_, M_, A_, W_;
    leap_test::Script script_;
    const PromptSet& p_;
    std::string problem_;
    std::vector<MoaAgent> agents_;
};

// ---- the comparison ----------------------------------------------------------------------------

// Request by request: the same kind, conversation, text before sampling and generated text.
void expect_requests(const std::vector<leap_test::RequestLog>& log, const std::vector<OracleRequest>& want) {
    ASSERT_EQ(log.size(), want.size());
    for (size_t r = 0; r < log.size(); ++r) {
        SCOPED_TRACE("request " + std::to_string(r));
        EXPECT_EQ(log[r].req.kind, want[r].kind);
        EXPECT_EQ(log[r].conversation, want[r].conversation);
        EXPECT_EQ(log[r].before, want[r].before);
        EXPECT_EQ(log[r].result.text, want[r].generated);
    }
}

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
        expect_requests(b.log(0, i), want[i].log);
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

// A natural end of thinking with a written answer (path 1, layer 1), an end of sequence before
// any answer (path 2, layer 1), forced answers whose box closes inside a token, everything else.
std::string moa_script(const ScriptCall& c) {
    const std::string id = "p" + std::to_string(c.path) + "r" + std::to_string(c.request) + "t" + std::to_string(c.sampled);
    if (c.kind == TokenKind::Reasoning) {
        if (c.path == 1 && c.request == 1 && c.sampled == 3) return " so</th";
        if (c.path == 1 && c.request == 1 && c.sampled == 4) return "ink> done";
        if (c.path == 2 && c.request == 0 && c.sampled == 2) return kEos;
        return c.sampled % 3 == 2 ? id + "\n\n" : id + " ";
    }
    if (c.text.find("</think>") != std::string::npos) {  // the answer after its thinking
        static const char* write_up[] = {" The answer", " is \\boxed{4", "2}.", " Done."};
        return c.sampled < 4 ? write_up[c.sampled] : "!";
    }
    if (c.sampled == 0) return "4";
    return c.sampled == 1 ? "2} and </summarize> more" : "z";
}

// Three agents, two segments of 6 tokens, answers of 4, in leap's layout.
RunConfig small_moa(int layers) {
    RunConfig c;
    c.method = Method::MixtureOfAgents;
    c.n_paths = 3;
    c.moa_layers = layers;
    c.segment_tokens = 6;
    c.segments = 2;
    c.answer_tokens = 4;
    c.write_up_tokens = 4;
    return c;
}

TEST(ReferenceParity, MixtureOfAgentsReferenceLayoutEqualsTheOracle) {
    RunConfig c = small_moa(3);
    c.moa_layout = MoaLayout::Reference;
    c.reference_parity = true;  // its stops do not apply to whole responses (docs/method.md)
    const std::string problem = "What is 6 times 7?";
    ScriptedBackend b(moa_script);
    std::vector<ProblemRun> runs;
    runs.emplace_back(0, Problem{"q", problem, {}}, c, prompts());
    runs = b.drive(std::move(runs));
    const ProblemRun& run = runs[0];

    MoaOracle oracle(3, 3, 6, 2, 4, 4, moa_script, prompts(), problem);
    const auto want = oracle.run();
    ASSERT_EQ(oracle.messages.size(), 2u);
    // The responses the oracle saw include every kind: a write-up, no answer, a forced answer.
    EXPECT_NE(oracle.messages[0].find("Response 2:\nThe answer is \\boxed{42}. Done."), std::string::npos)
        << oracle.messages[0];
    EXPECT_NE(oracle.messages[0].find("Response 3:\n(no answer)"), std::string::npos);
    EXPECT_EQ(run.trace()["moa_user_messages"], nlohmann::json(oracle.messages));
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE("path " + std::to_string(i));
        expect_requests(b.log(0, i), want[i].log);
        EXPECT_EQ(run.paths()[i].text, want[i].text);
        EXPECT_EQ(std::string(to_string(run.paths()[i].finish)), want[i].finish);
        EXPECT_EQ(run.earlier_layers(i).size(), 2u);
    }
}

// leap's own layout differs: no new conversation, the responses sit in the path's own text.
TEST(ReferenceParity, MixtureOfAgentsLeapLayoutDiffers) {
    RunConfig c = small_moa(2);
    ScriptedBackend b(moa_script);
    std::vector<ProblemRun> runs;
    runs.emplace_back(0, Problem{"q", "What is 6 times 7?", {}}, c, prompts());
    runs = b.drive(std::move(runs));
    for (const auto& r : b.log(0, 0)) EXPECT_EQ(r.conversation, "");
    EXPECT_FALSE(runs[0].trace().contains("moa_user_messages"));
    EXPECT_NE(runs[0].paths()[0].text.find("Response 2 (final answer:"), std::string::npos);
}

}  // namespace
