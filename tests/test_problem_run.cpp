// ProblemRun, the per-problem state machine, driven by the scripted backend: the exact text of
// every path at every request for each method (leap, leap-t, independent, single), routing and
// the comment blocks, answer forcing, the edge cases (early finish, EOS, one or no survivors,
// summary budget, partial closing tag, split stop strings, context full), token counts, the
// trace, determinism and configuration errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/answer.h"
#include "core/block.h"
#include "core/config.h"
#include "core/error.h"
#include "core/problem_run.h"
#include "core/prompts.h"
#include "scripted_backend.h"

using namespace leap;
using leap_test::by_request;
using leap_test::kEos;
using leap_test::RequestLog;
using leap_test::RequestTable;
using leap_test::ScriptCall;
using leap_test::ScriptedBackend;

namespace {

const PromptSet& builtin() {
    static const PromptSet p = PromptSet::builtin();
    return p;
}


const std::string kReq = "Recap. <summarize> So:";    // summary request after a blank line
const std::string kReqNL = "\n\nRecap. <summarize> So:";  // ... after text with no newline

RunConfig config(Method m, int n, int T, int M, int S = 3, int A = 3, RouterKind kind = RouterKind::Dispersed,
                 int k = 2) {
    RunConfig c;
    c.method = m;
    c.n_paths = n;
    c.segment_tokens = T;
    c.segments = M;
    c.summary_tokens = S;
    c.answer_tokens = A;
    c.router.kind = kind;
    c.router.k = k;
    c.seed = 1;
    return c;
}

Problem math(std::string id = "m1") { return {std::move(id), "What is 6 times 7?", {}}; }
Problem choice(std::string id = "c1") {
    return {std::move(id), "Which gas is inert?", {{"A", "Neon"}, {"B", "Oxygen"}, {"C", "Fluorine"}, {"D", "Chlorine"}}};
}

// The comment block as the method writes it, from the peers' summaries in selection order.
std::string comments(const std::vector<std::string>& peer_summaries, const PromptSet& p = leap_test::fixed_prompts()) {
    std::string s = " <comment> ";
    for (size_t i = 0; i < peer_summaries.size(); ++i)
        s += (i ? "\n" : "") + std::string("Peer ") + std::to_string(i + 1) + ": \"" + peer_summaries[i] + "\"";
    return s + " </comment>\n\n" + p.comment_cue;
}
std::string no_comments(const PromptSet& p = leap_test::fixed_prompts()) {
    return " <comment> " + p.no_comment_text + " </comment>\n\n" + p.no_comment_cue;
}

std::vector<ProblemRun> drive(ScriptedBackend& b, ProblemRun run) {
    std::vector<ProblemRun> v;
    v.push_back(std::move(run));
    return b.drive(std::move(v));
}

long tok(const Path& p, TokenKind k) { return p.tokens[(size_t)k]; }

std::vector<int> peer_ids(const BlockRecord& b) {
    std::vector<int> out;
    for (const auto& c : b.peers) out.push_back(c.peer);
    return out;
}

// Checks one logged request: what was asked and what came back.
void expect_request(const RequestLog& r, size_t keep, const std::string& append, TokenKind kind,
                    const std::string& before, const std::string& result, StopReason reason, int n_sampled,
                    const std::string& where) {
    SCOPED_TRACE(where);
    EXPECT_EQ(r.req.keep, keep);
    EXPECT_EQ(r.req.append, append);
    EXPECT_EQ(r.req.kind, kind);
    EXPECT_EQ(r.before, before);
    EXPECT_EQ(r.result.text, result);
    EXPECT_EQ(r.result.reason, reason) << to_string(r.result.reason);
    EXPECT_EQ(r.result.n_sampled, n_sampled);
    EXPECT_EQ(r.result.n_appended, (int)append.size());
}

// ---------------------------------------------------------------------------------------------
// The scripted backend itself.

TEST(ScriptedBackend, StopsBudgetEosAndWhatTheScriptSees) {
    std::vector<std::tuple<int, int, std::string, TokenKind, int, int>> calls;
    ScriptedBackend b([&](const ScriptCall& c) -> std::string {
        calls.emplace_back(c.problem, c.path, c.text, c.kind, c.sampled, c.request);
        if (c.path == 0) {
            if (c.kind == TokenKind::Answer) return c.sampled == 0 ? "A" : kEos;
            const char* toks[] = {"ab", "</th", "ink>xyz"};
            return toks[c.sampled];
        }
        return c.kind == TokenKind::Answer ? std::string("B") : "w" + std::to_string(c.sampled) + " ";
    });
    auto runs = drive(b, ProblemRun(7, math(), config(Method::Independent, 2, 4, 1, 3, 2), leap_test::fixed_prompts()));
    // Path 0: the stop string split over two tokens; the text after it in the token is dropped.
    const auto& L0 = b.log(0, 0);
    ASSERT_EQ(L0.size(), 2u);
    EXPECT_EQ(L0[0].result.text, "ab</think>");
    EXPECT_EQ(L0[0].result.reason, StopReason::StopString);
    EXPECT_EQ(L0[0].result.n_sampled, 3);
    EXPECT_EQ(L0[1].result.text, "A");
    EXPECT_EQ(L0[1].result.reason, StopReason::EndOfSequence);
    EXPECT_EQ(L0[1].result.n_sampled, 1);  // the EOS is not counted
    EXPECT_EQ(runs[0].paths().at(0).text, "ab</think>A");
    // Path 1: the budget.
    const auto& L1 = b.log(0, 1);
    ASSERT_EQ(L1.size(), 2u);
    EXPECT_EQ(L1[0].result.text, "w0 w1 w2 w3 ");
    EXPECT_EQ(L1[0].result.reason, StopReason::Budget);
    EXPECT_EQ(L1[1].result.text, "BB");
    EXPECT_EQ(L1[1].result.reason, StopReason::Budget);
    // What the script saw: problem index, path, text so far, kind, tokens so far, request number.
    ASSERT_GE(calls.size(), 4u);
    EXPECT_EQ(calls[0], std::make_tuple(7, 0, std::string(""), TokenKind::Reasoning, 0, 0));
    EXPECT_EQ(calls[1], std::make_tuple(7, 1, std::string(""), TokenKind::Reasoning, 0, 0));
    EXPECT_EQ(calls[2], std::make_tuple(7, 0, std::string("ab"), TokenKind::Reasoning, 1, 0));
    bool saw_answer = false;
    for (const auto& c : calls)
        if (std::get<1>(c) == 0 && std::get<3>(c) == TokenKind::Answer && std::get<4>(c) == 0) {
            EXPECT_EQ(std::get<2>(c), "ab</think>");
            EXPECT_EQ(std::get<5>(c), 1);
            saw_answer = true;
        }
    EXPECT_TRUE(saw_answer);
}

TEST(ScriptedBackend, ContextLimitAndStepOrder) {
    auto run_order = [](ScriptedBackend::Order o) {
        ScriptedBackend b([](const ScriptCall&) { return std::string("w "); });
        b.order(o).context_limit(0, 1, 2);
        auto runs = drive(b, ProblemRun(0, math(), config(Method::Independent, 3, 3, 1, 3, 1), leap_test::fixed_prompts()));
        EXPECT_EQ(b.log(0, 1).at(0).result.reason, StopReason::ContextFull);
        EXPECT_EQ(b.log(0, 1).at(0).result.n_sampled, 2);
        EXPECT_EQ(b.log(0, 1).at(1).result.reason, StopReason::Budget);  // answers are exempt
        EXPECT_EQ(b.log(0, 0).at(0).result.reason, StopReason::Budget);
        std::vector<int> order;
        for (const auto& [slot, path, kind] : b.completions())
            if (kind == TokenKind::Reasoning) order.push_back(path);
        return order;
    };
    EXPECT_EQ(run_order(ScriptedBackend::Order::Forward), (std::vector<int>{1, 0, 2}));
    EXPECT_EQ(run_order(ScriptedBackend::Order::Reverse), (std::vector<int>{1, 2, 0}));
}

TEST(ScriptedBackend, ByRequestUsesFillerPastTheLists) {
    ScriptedBackend b(by_request({{{0, 0}, {{"x "}}}}, "f "));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Independent, 2, 3, 2, 3, 1), leap_test::fixed_prompts()));
    EXPECT_EQ(runs[0].paths().at(0).segments, (std::vector<std::string>{"x f f ", "f f f "}));
    EXPECT_EQ(runs[0].paths().at(1).segments, (std::vector<std::string>{"f f f ", "f f f "}));
}

// ---------------------------------------------------------------------------------------------
// LeaP, three paths, three segments: every request of every path, byte for byte.

RequestTable full_leap_table() {
    return {
        {{0, 0},
         {{"a ", "b\n\n", "c ", "d ", "e "},          // segment 1: trimmed to "a b\n\n"
          {" x0", " </summarize>", "never"},          // summary: closes on its own
          {"p ", "q\n\n", "r ", "s ", "t "},          // segment 2
          {" s", "</summarize>"},                     // summary 2
          {"f1 ", "f2 ", "f3 ", "f4 ", "f5 "},        // segment 3, then the answer is forced
          {"42", "}", ".", "never"}}},                // answer: runs into its budget
        {{0, 1},
         {{"f ", "g ", "h ", "i ", "j "},             // no blank line: nothing trimmed
          {" yy", "y", " </summ", "never"},           // budget hit on a partial closing tag
          {"u ", "v ", "w\n\n", "x ", "y"},
          {" t", " t", " t", "never"},                // budget hit with no closing tag
          {"g1 ", kEos}}},                            // ends with end-of-sequence
        {{0, 2},
         {{"k\n", "\nl ", "m ", "n\n\n", "o"},        // blank line split over two tokens
          {" zz", " </th", "ink>", "never"},          // end-of-thinking inside the summary
          {"end ", "</th", "ink> extra", "never"},    // finishes mid-segment; " extra" dropped
          {" ans ", "\\boxed{7}", kEos}}},            // and writes its own answer
    };
}

class LeapFullRun : public ::testing::TestWithParam<ScriptedBackend::Order> {};

TEST_P(LeapFullRun, ExactTextOfEveryRequest) {
    const PromptSet& P = leap_test::fixed_prompts();
    ScriptedBackend b(by_request(full_leap_table()));
    b.order(GetParam(), 7);
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 3, 5, 3, 3, 3, RouterKind::Dispersed, 2), P));
    const ProblemRun& run = runs[0];
    ASSERT_TRUE(run.done());
    const std::string PF = P.leap_prefill;
    ASSERT_TRUE(PF.ends_with("\n\n"));
    EXPECT_EQ(run.prefill(), PF);
    EXPECT_EQ(run.user_message(), fill_template(P.leap_user_math, "What is 6 times 7?", {}, "</think>"));
    EXPECT_NE(run.user_message().find("What is 6 times 7?"), std::string::npos);
    const std::string MO = P.answer_opener_math;

    // Block 0 summaries: "So: x0", "So: yyy", "So: zz ..." (indel similarity: LCS is "So: "):
    //   sim(0,1) = 8/13, sim(0,2) = 8/16, sim(1,2) = 8/17. Dispersed k=2, least similar first.
    const std::string C0a = comments({"So: zz ...", "So: yyy"});
    const std::string C1a = comments({"So: zz ...", "So: x0"});
    const std::string C2a = comments({"So: yyy", "So: x0"});
    // Block 1 (path 2 has finished): "So: s" and "So: t t t...", sim = 8/17.
    const std::string C0b = comments({"So: t t t..."});
    const std::string C1b = comments({"So: s"});
    const std::vector<std::string> stops_seg{"</think>"};
    const std::vector<std::string> stops_sum{"</summarize>", "</think>"};

    // Path 0.
    {
        const auto& L = b.log(0, 0);
        ASSERT_EQ(L.size(), 6u);
        std::string t = PF;
        expect_request(L[0], PF.size(), "", TokenKind::Reasoning, t, "a b\n\nc d e ", StopReason::Budget, 5, "p0 seg1");
        EXPECT_EQ(L[0].req.max_tokens, 5);
        EXPECT_EQ(L[0].req.stops, stops_seg);
        t = PF + "a b\n\n";
        expect_request(L[1], t.size(), kReq, TokenKind::Summary, t + kReq, " x0 </summarize>", StopReason::StopString, 2,
                       "p0 sum1");
        EXPECT_EQ(L[1].req.max_tokens, 3);
        EXPECT_EQ(L[1].req.stops, stops_sum);
        t += kReq + " x0 </summarize>";
        expect_request(L[2], t.size(), C0a, TokenKind::Reasoning, t + C0a, "p q\n\nr s t ", StopReason::Budget, 5, "p0 seg2");
        t += C0a + "p q\n\n";
        expect_request(L[3], t.size(), kReq, TokenKind::Summary, t + kReq, " s</summarize>", StopReason::StopString, 2,
                       "p0 sum2");
        t += kReq + " s</summarize>";
        expect_request(L[4], t.size(), C0b, TokenKind::Reasoning, t + C0b, "f1 f2 f3 f4 f5 ", StopReason::Budget, 5,
                       "p0 seg3");
        t += C0b + "f1 f2 f3 f4 f5 ";
        // The forced answer stops once its box closes: the "." after it is never sampled.
        expect_request(L[5], t.size(), MO, TokenKind::Answer, t + MO, "42}", StopReason::AnswerComplete, 2, "p0 answer");
        EXPECT_EQ(L[5].req.answer_check, AnswerCheck::Math);
        EXPECT_EQ(L[5].req.max_tokens, 3);
        EXPECT_TRUE(L[5].req.stops.empty());
        t += MO + "42}";
        const Path& p = run.paths().at(0);
        EXPECT_EQ(p.text, t);
        EXPECT_EQ(p.finish, FinishReason::Forced);
        EXPECT_EQ(p.answer, MO + "42}");
        EXPECT_EQ(extract_answer(p.answer, false), "42");
        EXPECT_EQ(p.segments, (std::vector<std::string>{"a b\n\nc d e ", "p q\n\nr s t ", "f1 f2 f3 f4 f5 "}));
        ASSERT_EQ(p.blocks.size(), 2u);
        EXPECT_EQ(p.blocks.at(0).block, 0);
        EXPECT_EQ(p.blocks.at(0).trimmed_text, "c d e ");
        EXPECT_EQ(p.blocks.at(0).trimmed_chars, 6u);
        EXPECT_EQ(p.blocks.at(0).summary_request, kReq);
        EXPECT_EQ(p.blocks.at(0).summary, "So: x0");
        EXPECT_EQ(peer_ids(p.blocks.at(0)), (std::vector<int>{2, 1}));
        EXPECT_DOUBLE_EQ(p.blocks.at(0).peers.at(0).score, 8.0 / 16);
        EXPECT_DOUBLE_EQ(p.blocks.at(0).peers.at(1).score, 8.0 / 13);
        EXPECT_EQ(p.blocks.at(0).injected, C0a);
        EXPECT_EQ(p.blocks.at(1).block, 1);
        EXPECT_EQ(p.blocks.at(1).trimmed_text, "r s t ");
        EXPECT_EQ(p.blocks.at(1).summary, "So: s");
        EXPECT_EQ(peer_ids(p.blocks.at(1)), (std::vector<int>{1}));
        EXPECT_DOUBLE_EQ(p.blocks.at(1).peers.at(0).score, 8.0 / 17);
        EXPECT_EQ(p.blocks.at(1).injected, C0b);
        EXPECT_EQ(tok(p, TokenKind::Reasoning), 15);
        EXPECT_EQ(tok(p, TokenKind::Summary), 4);
        EXPECT_EQ(tok(p, TokenKind::Answer), 2);
        EXPECT_EQ(tok(p, TokenKind::Injected), (long)(2 * kReq.size() + C0a.size() + C0b.size() + MO.size()));
        EXPECT_TRUE(p.notes.empty());
    }
    // Path 1.
    {
        const auto& L = b.log(0, 1);
        ASSERT_EQ(L.size(), 5u);
        std::string t = PF;
        expect_request(L[0], PF.size(), "", TokenKind::Reasoning, t, "f g h i j ", StopReason::Budget, 5, "p1 seg1");
        t += "f g h i j ";
        expect_request(L[1], t.size(), kReqNL, TokenKind::Summary, t + kReqNL, " yyy </summ", StopReason::Budget, 3,
                       "p1 sum1");
        t += kReqNL + " yyy </summ";
        // The partial closing tag is completed by appending the rest of it.
        expect_request(L[2], t.size(), "arize>" + C1a, TokenKind::Reasoning, t + "arize>" + C1a, "u v w\n\nx y",
                       StopReason::Budget, 5, "p1 seg2");
        t += "arize>" + C1a + "u v w\n\n";
        expect_request(L[3], t.size(), kReq, TokenKind::Summary, t + kReq, " t t t", StopReason::Budget, 3, "p1 sum2");
        t += kReq + " t t t";
        expect_request(L[4], t.size(), "... </summarize>" + C1b, TokenKind::Reasoning, t + "... </summarize>" + C1b,
                       "g1 ", StopReason::EndOfSequence, 1, "p1 seg3");
        t += "... </summarize>" + C1b + "g1 ";
        const Path& p = run.paths().at(1);
        EXPECT_EQ(p.text, t);
        EXPECT_EQ(p.finish, FinishReason::EndOfSequence);
        EXPECT_EQ(p.answer, "");
        ASSERT_EQ(p.blocks.size(), 2u);
        EXPECT_EQ(p.blocks.at(0).trimmed_text, "");
        EXPECT_EQ(p.blocks.at(0).trimmed_chars, 0u);
        EXPECT_EQ(p.blocks.at(0).summary_request, kReqNL);
        EXPECT_EQ(p.blocks.at(0).summary, "So: yyy");
        EXPECT_EQ(peer_ids(p.blocks.at(0)), (std::vector<int>{2, 0}));
        EXPECT_DOUBLE_EQ(p.blocks.at(0).peers.at(0).score, 8.0 / 17);
        EXPECT_DOUBLE_EQ(p.blocks.at(0).peers.at(1).score, 8.0 / 13);
        EXPECT_EQ(p.blocks.at(1).trimmed_text, "x y");
        EXPECT_EQ(p.blocks.at(1).summary, "So: t t t...");
        EXPECT_EQ(peer_ids(p.blocks.at(1)), (std::vector<int>{0}));
        EXPECT_EQ(tok(p, TokenKind::Reasoning), 11);  // EOS is not a token of the text
        EXPECT_EQ(tok(p, TokenKind::Summary), 6);
        EXPECT_EQ(tok(p, TokenKind::Answer), 0);
        EXPECT_EQ(tok(p, TokenKind::Injected),
                  (long)(kReqNL.size() + 6 + C1a.size() + kReq.size() + 16 + C1b.size()));
    }
    // Path 2.
    {
        const auto& L = b.log(0, 2);
        ASSERT_EQ(L.size(), 4u);
        std::string t = PF;
        expect_request(L[0], PF.size(), "", TokenKind::Reasoning, t, "k\n\nl m n\n\no", StopReason::Budget, 5, "p2 seg1");
        t += "k\n\nl m n\n\n";
        // The stop string "</think>" came in two tokens; the summary's copy of it is deleted:
        // the backend must roll back to " zz " before the appended fix.
        expect_request(L[1], t.size(), kReq, TokenKind::Summary, t + kReq, " zz </think>", StopReason::StopString, 3,
                       "p2 sum1");
        t += kReq;
        expect_request(L[2], t.size() + 4, "... </summarize>" + C2a, TokenKind::Reasoning,
                       t + " zz ... </summarize>" + C2a, "end </think>", StopReason::StopString, 3, "p2 seg2");
        t += " zz ... </summarize>" + C2a + "end </think>";
        expect_request(L[3], t.size(), "", TokenKind::Answer, t, " ans \\boxed{7}", StopReason::EndOfSequence, 2,
                       "p2 answer");
        t += " ans \\boxed{7}";
        const Path& p = run.paths().at(2);
        EXPECT_EQ(p.text, t);
        EXPECT_EQ(p.finish, FinishReason::EndOfThinking);
        EXPECT_EQ(p.answer, " ans \\boxed{7}");
        EXPECT_EQ(extract_answer(p.answer, false), "7");
        EXPECT_EQ(p.segments, (std::vector<std::string>{"k\n\nl m n\n\no", "end </think>"}));
        ASSERT_EQ(p.blocks.size(), 1u);  // took no part in block 1
        EXPECT_EQ(p.blocks.at(0).trimmed_text, "o");
        EXPECT_EQ(p.blocks.at(0).summary, "So: zz ...");
        EXPECT_EQ(peer_ids(p.blocks.at(0)), (std::vector<int>{1, 0}));
        EXPECT_EQ(tok(p, TokenKind::Reasoning), 8);
        EXPECT_EQ(tok(p, TokenKind::Summary), 3);
        EXPECT_EQ(tok(p, TokenKind::Answer), 2);
        EXPECT_EQ(tok(p, TokenKind::Injected), (long)(kReq.size() + 16 + C2a.size()));
        // It answered while its peers went on: block 1 started before its answer was done.
        EXPECT_LT(b.log(0, 0).at(2).step, L[3].step);
    }
    // Path 2 left segment 2 before the others: completions do not follow the path index.
    std::vector<int> seg2_order;
    for (const auto& [slot, path, kind] : b.completions())
        if (kind == TokenKind::Reasoning) seg2_order.push_back(path);
    ASSERT_GE(seg2_order.size(), 6u);
    EXPECT_EQ(seg2_order[3], 2);
}

INSTANTIATE_TEST_SUITE_P(ProblemRunOrders, LeapFullRun,
                         ::testing::Values(ScriptedBackend::Order::Forward, ScriptedBackend::Order::Reverse,
                                           ScriptedBackend::Order::Shuffle),
                         [](const ::testing::TestParamInfo<ScriptedBackend::Order>& i) {
                             return std::string(i.param == ScriptedBackend::Order::Forward   ? "Forward"
                                                : i.param == ScriptedBackend::Order::Reverse ? "Reverse"
                                                                                             : "Shuffle");
                         });

TEST(ProblemRun, StepOrderDoesNotChangeTheResult) {
    std::vector<std::string> dumps;
    for (auto order : {ScriptedBackend::Order::Forward, ScriptedBackend::Order::Reverse, ScriptedBackend::Order::Shuffle}) {
        ScriptedBackend b(by_request(full_leap_table()));
        b.order(order, 99);
        auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 3, 5, 3), leap_test::fixed_prompts()));
        dumps.push_back(runs[0].trace().dump());
    }
    EXPECT_EQ(dumps[0], dumps[1]);
    EXPECT_EQ(dumps[0], dumps[2]);
}

// ---------------------------------------------------------------------------------------------
// Routing: the same block-0 state under every router.

RequestTable block0_table() {
    auto t = full_leap_table();
    for (auto& [key, reqs] : t) reqs.resize(2);  // segment 1 + summary 1, then filler
    return t;
}

std::vector<std::vector<int>> block0_peers(RunConfig c) {
    c.segments = 2;
    ScriptedBackend b(by_request(block0_table()));
    auto runs = drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
    std::vector<std::vector<int>> out;
    for (const Path& p : runs[0].paths()) {
        EXPECT_EQ(p.blocks.size(), 1u);
        out.push_back(p.blocks.empty() ? std::vector<int>{} : peer_ids(p.blocks.at(0)));
        if (!p.blocks.empty()) {
            // The comment block quotes the chosen peers' summaries in selection order.
            std::vector<std::string> quoted;
            for (int j : out.back()) quoted.push_back(runs[0].paths().at(j).blocks.at(0).summary);
            EXPECT_EQ(p.blocks.at(0).injected, comments(quoted));
        }
    }
    return out;
}

TEST(ProblemRunRouting, EveryRouterOnOneBlock) {
    using V = std::vector<std::vector<int>>;
    // sim(0,1) = 8/13 > sim(0,2) = 8/16 > sim(1,2) = 8/17
    EXPECT_EQ(block0_peers(config(Method::Leap, 3, 5, 2, 3, 3, RouterKind::Dispersed, 1)), (V{{2}, {2}, {1}}));
    EXPECT_EQ(block0_peers(config(Method::Leap, 3, 5, 2, 3, 3, RouterKind::Clustered, 1)), (V{{1}, {0}, {0}}));
    EXPECT_EQ(block0_peers(config(Method::Leap, 3, 5, 2, 3, 3, RouterKind::Clustered, 2)), (V{{1, 2}, {0, 2}, {0, 1}}));
    EXPECT_EQ(block0_peers(config(Method::Leap, 3, 5, 2, 3, 3, RouterKind::All, 1)), (V{{1, 2}, {0, 2}, {0, 1}}));
    // Hybrid k=3: one least similar, then the most similar not yet taken.
    EXPECT_EQ(block0_peers(config(Method::Leap, 3, 5, 2, 3, 3, RouterKind::Hybrid, 3)), (V{{2, 1}, {2, 0}, {1, 0}}));
    // With reference_parity the run passes the switch to the router: the peer repeats.
    RunConfig par = config(Method::Leap, 3, 5, 2, 3, 3, RouterKind::Hybrid, 3);
    par.reference_parity = true;
    EXPECT_EQ(block0_peers(par), (V{{2, 1, 2}, {2, 0, 2}, {1, 0, 1}}));
}

TEST(ProblemRunRouting, RandomRouterIsSeededPerBlock) {
    std::set<std::vector<std::vector<int>>> seen;
    for (uint64_t seed = 1; seed <= 12; ++seed) {
        RunConfig c = config(Method::Leap, 3, 5, 2, 3, 3, RouterKind::Random, 1);
        c.seed = seed;
        const auto a = block0_peers(c);
        EXPECT_EQ(a, block0_peers(c)) << "seed " << seed;  // deterministic
        for (int i = 0; i < 3; ++i) {
            ASSERT_EQ(a[i].size(), 1u);
            EXPECT_NE(a[i][0], i);
        }
        seen.insert(a);
    }
    EXPECT_GT(seen.size(), 1u);  // the seed matters
}

// ---------------------------------------------------------------------------------------------
// The summary request: trigger and opener drawn from the prompt set by the seeded generator.

std::vector<std::string> summary_requests(uint64_t seed, int problem_index = 0) {
    RunConfig c = config(Method::Leap, 4, 2, 2, 2, 1);
    c.seed = seed;
    ScriptedBackend b([](const ScriptCall&) { return std::string("w "); });
    auto runs = drive(b, ProblemRun(problem_index, math(), c, builtin()));
    std::vector<std::string> out;
    for (const Path& p : runs[0].paths()) {
        EXPECT_EQ(p.blocks.size(), 1u);
        out.push_back(p.blocks.empty() ? "" : p.blocks.at(0).summary_request);
    }
    return out;
}

TEST(ProblemRun, SummaryRequestDrawsFromThePromptSet) {
    const PromptSet& P = builtin();
    ASSERT_GE(P.triggers.size(), 5u);
    ASSERT_GE(P.openers.size(), 5u);
    std::set<std::string> triggers, openers, per_path0;
    bool paths_differ = false;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        const auto reqs = summary_requests(seed);
        EXPECT_EQ(reqs, summary_requests(seed)) << "seed " << seed;
        for (const std::string& r : reqs) {
            // "\n\n" (the segment "w w " has no newline) + trigger + " <summarize> " + opener
            ASSERT_TRUE(r.starts_with("\n\n")) << r;
            const size_t tag = r.find(" <summarize> ");
            ASSERT_NE(tag, std::string::npos) << r;
            const std::string trig = r.substr(2, tag - 2), open = r.substr(tag + 13);
            EXPECT_NE(std::find(P.triggers.begin(), P.triggers.end(), trig), P.triggers.end()) << trig;
            EXPECT_NE(std::find(P.openers.begin(), P.openers.end(), open), P.openers.end()) << open;
            triggers.insert(trig);
            openers.insert(open);
        }
        per_path0.insert(reqs[0]);
        for (const auto& r : reqs) paths_differ = paths_differ || r != reqs[0];
    }
    EXPECT_GT(triggers.size(), 2u);
    EXPECT_GT(openers.size(), 2u);
    EXPECT_GT(per_path0.size(), 2u);  // varies across seeds
    EXPECT_TRUE(paths_differ);        // and across paths
    // The problem index is part of the draw too.
    bool problems_differ = false;
    for (int pi = 1; pi <= 5; ++pi) problems_differ = problems_differ || summary_requests(1, pi) != summary_requests(1, 0);
    EXPECT_TRUE(problems_differ);
}

// ---------------------------------------------------------------------------------------------
// Edge cases.

TEST(ProblemRun, OneSurvivorGetsTheNoCommentBlock) {
    ScriptedBackend b(by_request({
        {{0, 0}, {{"x ", "y ", "z "}, {" s ", "</summarize>"}, {"u ", "v ", "w "}, {"9", "}", kEos}}},
        {{0, 1}, {{"a ", kEos}}},
    }));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 2, 3, 2), leap_test::fixed_prompts()));
    const Path& p0 = runs[0].paths().at(0);
    const Path& p1 = runs[0].paths().at(1);
    const std::string PF = leap_test::fixed_prompts().leap_prefill;
    EXPECT_EQ(p1.text, PF + "a ");
    EXPECT_EQ(p1.finish, FinishReason::EndOfSequence);
    EXPECT_TRUE(p1.blocks.empty());
    ASSERT_EQ(p0.blocks.size(), 1u);
    EXPECT_TRUE(p0.blocks.at(0).peers.empty());
    EXPECT_EQ(p0.blocks.at(0).injected, no_comments());
    EXPECT_EQ(p0.text, PF + "x y z " + kReqNL + " s </summarize>" + no_comments() + "u v w " +
                           leap_test::fixed_prompts().answer_opener_math + "9}");
    EXPECT_EQ(p0.answer, leap_test::fixed_prompts().answer_opener_math + "9}");
    EXPECT_EQ(extract_answer(p0.answer, false), "9");
}

TEST(ProblemRun, EndOfSequenceInASummaryOnlyEndsTheSummary) {
    const PromptSet& P = leap_test::fixed_prompts();
    ScriptedBackend b(by_request({
        {{0, 0}, {{"a ", "b "}, {" s", kEos}, {"c ", "d "}, {"1", "}", kEos}}},
        {{0, 1}, {{"e ", "f "}, {" t</summarize>"}, {"g ", "h "}, {"2", "}", kEos}}},
    }));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 2, 2, 2, 3, 3, RouterKind::Dispersed, 1), P));
    const Path& p0 = runs[0].paths().at(0);
    EXPECT_EQ(b.log(0, 0).at(1).result.reason, StopReason::EndOfSequence);
    EXPECT_EQ(p0.text, P.leap_prefill + "a b " + kReqNL + " s... </summarize>" + comments({"So: t"}) + "c d " +
                           P.answer_opener_math + "1}");
    EXPECT_EQ(p0.finish, FinishReason::Forced);
    EXPECT_EQ(p0.blocks.at(0).summary, "So: s...");
    EXPECT_EQ(runs[0].paths().at(1).blocks.at(0).injected, comments({"So: s..."}));
    EXPECT_EQ(tok(p0, TokenKind::Summary), 1);
}

TEST(ProblemRun, NoSurvivorsNoBlock) {
    ScriptedBackend b(by_request({
        {{0, 0}, {{"r ", "</think>"}, {" \\boxed{3}", kEos}}},
        {{0, 1}, {{"a ", kEos}}},
    }));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 2, 3, 3), leap_test::fixed_prompts()));
    for (const Path& p : runs[0].paths()) {
        EXPECT_TRUE(p.blocks.empty());
        EXPECT_EQ(p.segments.size(), 1u);
        EXPECT_EQ(tok(p, TokenKind::Summary), 0);
        EXPECT_EQ(tok(p, TokenKind::Injected), 0);
        EXPECT_EQ(p.text.find("<summarize>", leap_test::fixed_prompts().leap_prefill.size()), std::string::npos);
    }
    EXPECT_EQ(runs[0].paths().at(0).answer, " \\boxed{3}");
    EXPECT_EQ(runs[0].paths().at(0).finish, FinishReason::EndOfThinking);
    EXPECT_EQ(b.log(0, 0).size(), 2u);
    EXPECT_EQ(b.log(0, 1).size(), 1u);
}

TEST(ProblemRun, EndOfThinkingInTheFirstTokenOfASegment) {
    // "</think>" arriving whole, with text after it in the same token.
    ScriptedBackend b(by_request({{{0, 0}, {{"</think>\n\nThe answer", " is 5"}, {" ok", kEos}}}}));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 1, 4, 2), leap_test::fixed_prompts()));
    const Path& p = runs[0].paths().at(0);
    EXPECT_EQ(b.log(0, 0).at(0).result.text, "</think>");
    EXPECT_EQ(b.log(0, 0).at(0).result.n_sampled, 1);
    EXPECT_EQ(p.text, leap_test::fixed_prompts().leap_prefill + "</think> ok");
    EXPECT_EQ(p.answer, " ok");
}

TEST(ProblemRun, MultipleChoiceAnswerOpener) {
    const PromptSet& P = leap_test::fixed_prompts();
    ScriptedBackend b(by_request({{{0, 0}, {{"t1 ", "t2 "}, {" C", kEos}}}}));
    auto runs = drive(b, ProblemRun(0, choice(), config(Method::Leap, 1, 2, 1), P));
    const ProblemRun& run = runs[0];
    EXPECT_NE(run.user_message().find("Which gas is inert?"), std::string::npos);
    EXPECT_NE(run.user_message().find("A) Neon\nB) Oxygen\nC) Fluorine\nD) Chlorine"), std::string::npos);
    EXPECT_EQ(run.user_message(), fill_template(P.leap_user_choice, "Which gas is inert?", choice().choices, "</think>"));
    const std::string opener =
        "\n\nI have thought about this long enough, so I will commit to an answer now.\n</think>\n\nANSWER:";
    ASSERT_EQ(fill_template(P.answer_opener_choice, "", {}, "</think>"), opener);
    const Path& p = run.paths().at(0);
    EXPECT_TRUE(p.blocks.empty());  // one segment: no block
    EXPECT_EQ(p.text, P.leap_prefill + "t1 t2 " + opener + " C");
    EXPECT_EQ(b.log(0, 0).at(1).req.append, opener);
    EXPECT_EQ(p.finish, FinishReason::Forced);
    EXPECT_EQ(p.answer, "\n\nANSWER: C");
    EXPECT_EQ(extract_answer(p.answer, true), "C");
}

TEST(ProblemRun, MathAnswerOpenerDiffersFromChoice) {
    const PromptSet& P = leap_test::fixed_prompts();
    EXPECT_EQ(P.answer_opener_math, "\n\nI have found the final answer.\n\n**Final Answer** \\boxed{");
    ScriptedBackend b(by_request({{{0, 0}, {{"t1 ", "t2 "}, {"1", "2", "}"}}}}));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 1, 2, 1), P));
    EXPECT_EQ(runs[0].paths().at(0).text, P.leap_prefill + "t1 t2 " + P.answer_opener_math + "12}");
    EXPECT_EQ(runs[0].paths().at(0).text.find("</think>"), std::string::npos);
    EXPECT_EQ(extract_answer(runs[0].paths().at(0).answer, false), "12");
}

TEST(ProblemRun, ReferenceParityTrimCutsIntoEarlierText) {
    // Segment 2 has no blank line. Ours trims nothing; the reference cuts at the last blank line
    // of the whole text, which is the one before the comment cue.
    auto run_with = [](bool parity) {
        RunConfig c = config(Method::Leap, 2, 3, 3, 3, 2, RouterKind::Dispersed, 1);
        c.reference_parity = parity;
        ScriptedBackend b(by_request({
            {{0, 0}, {{"a\n\n", "b ", "c "}, {" s0", "</summarize>"}, {"d ", "e ", "f "}, {" u0", "</summarize>"}}},
            {{0, 1}, {{"g ", "h ", "i "}, {" s1", "</summarize>"}, {"j ", "k ", "l "}, {" u1", "</summarize>"}}},
        }));
        auto runs = drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
        return runs[0].trace();
    };
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string PF = P.leap_prefill;
    nlohmann::json ours = run_with(false), ref = run_with(true);
    // Block 0, path 0: the blank line is in the segment, both agree.
    EXPECT_EQ(ours["paths"][0]["blocks"][0]["trimmed"], "b c ");
    EXPECT_EQ(ref["paths"][0]["blocks"][0]["trimmed"], "b c ");
    // Block 0, path 1: no blank line in segment 1; the reference cuts at the prefill's blank line.
    EXPECT_EQ(ours["paths"][1]["blocks"][0]["trimmed"], "");
    EXPECT_EQ(ref["paths"][1]["blocks"][0]["trimmed"], "g h i ");
    EXPECT_EQ(ref["paths"][1]["blocks"][0]["summary_request"], kReq);
    // Block 1: the reference drops the cue and the whole segment 2.
    EXPECT_EQ(ours["paths"][0]["blocks"][1]["trimmed"], "");
    EXPECT_EQ(ref["paths"][0]["blocks"][1]["trimmed"], P.comment_cue + "d e f ");
    EXPECT_EQ(ref["paths"][1]["blocks"][1]["trimmed"], P.comment_cue + "j k l ");
    const std::string ours0 = ours["paths"][0]["text"], ref0 = ref["paths"][0]["text"];
    EXPECT_EQ(ours0, PF + "a\n\n" + kReq + " s0</summarize>" + comments({"So: s1"}) + "d e f " + kReqNL +
                         " u0</summarize>" + comments({"So: u1"}) + "z z z " + P.answer_opener_math + "z z ");
    EXPECT_EQ(ref0, PF + "a\n\n" + kReq + " s0</summarize> <comment> Peer 1: \"So: s1\" </comment>\n\n" + kReq +
                        " u0</summarize>" + comments({"So: u1"}) + "z z z " + P.answer_opener_math + "z z ");
}

TEST(ProblemRun, ContextFull) {
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string PF = P.leap_prefill, MO = P.answer_opener_math;
    ScriptedBackend b([](const ScriptCall& c) { return c.kind == TokenKind::Answer ? std::string("5") : std::string("w "); });
    b.context_limit(0, 0, 3);  // during segment 1
    b.context_limit(0, 1, 6);  // during the summary
    b.context_limit(0, 2, 5);  // exactly at the end of segment 1: the summary request is full at once
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Leap, 4, 5, 3, 3, 2), P));
    const auto& paths = runs[0].paths();

    EXPECT_EQ(paths.at(0).text, PF + "w w w " + MO + "55");
    EXPECT_EQ(paths.at(0).finish, FinishReason::ContextFull);
    EXPECT_EQ(paths.at(0).notes, (std::vector<std::string>{"context full during segment 1: answer forced"}));
    EXPECT_EQ(b.log(0, 0).at(0).result.reason, StopReason::ContextFull);
    EXPECT_TRUE(paths.at(0).blocks.empty());
    EXPECT_EQ(tok(paths.at(0), TokenKind::Reasoning), 3);
    EXPECT_EQ(tok(paths.at(0), TokenKind::Answer), 2);

    EXPECT_EQ(paths.at(1).text, PF + "w w w w w " + kReqNL + "w ... </summarize>" + MO + "55");
    EXPECT_EQ(paths.at(1).finish, FinishReason::ContextFull);
    EXPECT_EQ(paths.at(1).notes, (std::vector<std::string>{"context full during summary 1: answer forced"}));
    ASSERT_EQ(paths.at(1).blocks.size(), 1u);
    EXPECT_EQ(paths.at(1).blocks.at(0).summary, "So:w ...");
    EXPECT_TRUE(paths.at(1).blocks.at(0).peers.empty());
    EXPECT_EQ(paths.at(1).blocks.at(0).injected, "");
    EXPECT_EQ(tok(paths.at(1), TokenKind::Summary), 1);

    EXPECT_EQ(b.log(0, 2).at(0).result.reason, StopReason::Budget);  // the budget is checked first
    EXPECT_EQ(b.log(0, 2).at(1).result.reason, StopReason::ContextFull);
    EXPECT_EQ(b.log(0, 2).at(1).result.n_sampled, 0);
    EXPECT_EQ(paths.at(2).text, PF + "w w w w w " + kReqNL + "... </summarize>" + MO + "55");
    EXPECT_EQ(paths.at(2).finish, FinishReason::ContextFull);

    // Path 3 alone reaches routing: none of the full paths is a peer.
    ASSERT_EQ(paths.at(3).blocks.size(), 2u);
    EXPECT_TRUE(paths.at(3).blocks.at(0).peers.empty());
    EXPECT_EQ(paths.at(3).blocks.at(0).injected, no_comments());
    EXPECT_EQ(paths.at(3).finish, FinishReason::Forced);
    EXPECT_TRUE(paths.at(3).notes.empty());

    nlohmann::json tr = runs[0].trace();
    EXPECT_EQ(tr["paths"][0]["finish"], "context-full");
    EXPECT_EQ(tr["paths"][1]["notes"][0], "context full during summary 1: answer forced");
}

TEST(ProblemRun, ContextFullWhileAnsweringIsNoted) {
    // The scripted backend exempts answers from the limit; report it directly instead.
    ProblemRun run(0, math(), config(Method::Leap, 1, 2, 1), leap_test::fixed_prompts());
    auto reqs = run.take_requests();
    ASSERT_EQ(reqs.size(), 1u);
    run.complete(0, {"a b", 2, 0, StopReason::Budget});
    reqs = run.take_requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].kind, TokenKind::Answer);
    run.complete(0, {"4", 1, 10, StopReason::ContextFull});
    EXPECT_TRUE(run.done());
    EXPECT_EQ(run.paths().at(0).notes, (std::vector<std::string>{"context full while answering"}));
    EXPECT_EQ(run.paths().at(0).finish, FinishReason::Forced);
    EXPECT_EQ(tok(run.paths().at(0), TokenKind::Injected), 10);
}

TEST(ProblemRun, ResultWithoutARequestIsAnError) {
    ProblemRun run(0, math("bad"), config(Method::Leap, 2, 2, 1), leap_test::fixed_prompts());
    EXPECT_EQ(run.take_requests().size(), 2u);
    EXPECT_TRUE(run.take_requests().empty());  // handed out once
    run.complete(0, {"a b", 2, 0, StopReason::Budget});
    ASSERT_EQ(run.take_requests().size(), 1u);  // the forced answer
    run.complete(0, {"c", 1, 0, StopReason::Budget});
    EXPECT_EQ(run.paths().at(0).phase, Phase::Done);
    EXPECT_FALSE(run.done());
    EXPECT_THROW(run.complete(0, {"c", 1, 0, StopReason::Budget}), Error);  // path 0 is done
    EXPECT_THROW(run.complete(5, {"c", 1, 0, StopReason::Budget}), Error);
    EXPECT_THROW(run.complete(-1, {"c", 1, 0, StopReason::Budget}), Error);
    try {
        run.complete(0, {"c", 1, 0, StopReason::Budget});
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad"), std::string::npos) << e.what();
    }
}

// ---------------------------------------------------------------------------------------------
// Methods other than LeaP.

TEST(ProblemRun, IndependentHasNoBlocksNoPrefillAndAPlainPrompt) {
    const PromptSet& P = leap_test::fixed_prompts();
    ScriptedBackend b(by_request({
        {{0, 0}, {{"a ", "b\n\n", "c "}, {"d ", "e ", "f "}, {"g ", "h ", "i "}, {"1", "}"}}},
        {{0, 1}, {{"j ", "k ", "l "}, {"m ", kEos}}},
    }));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::Independent, 2, 3, 3, 3, 2), P));
    const ProblemRun& run = runs[0];
    EXPECT_EQ(run.prefill(), "");
    EXPECT_EQ(run.user_message(), fill_template(P.plain_user_math, "What is 6 times 7?", {}, "</think>"));
    EXPECT_TRUE(run.user_message().starts_with("What is 6 times 7?"));
    EXPECT_EQ(run.user_message().find("<summarize>"), std::string::npos);
    const Path& p0 = run.paths().at(0);
    EXPECT_EQ(p0.text, "a b\n\nc d e f g h i " + P.answer_opener_math + "1}");
    EXPECT_EQ(p0.segments, (std::vector<std::string>{"a b\n\nc ", "d e f ", "g h i "}));
    EXPECT_TRUE(p0.blocks.empty());
    EXPECT_EQ(tok(p0, TokenKind::Summary), 0);
    EXPECT_EQ(tok(p0, TokenKind::Injected), (long)P.answer_opener_math.size());
    const auto& L = b.log(0, 0);
    ASSERT_EQ(L.size(), 4u);
    expect_request(L[0], 0, "", TokenKind::Reasoning, "", "a b\n\nc ", StopReason::Budget, 3, "seg1");
    expect_request(L[1], 7, "", TokenKind::Reasoning, "a b\n\nc ", "d e f ", StopReason::Budget, 3, "seg2");
    expect_request(L[2], 13, "", TokenKind::Reasoning, "a b\n\nc d e f ", "g h i ", StopReason::Budget, 3, "seg3");
    const Path& p1 = run.paths().at(1);
    EXPECT_EQ(p1.text, "j k l m ");
    EXPECT_EQ(p1.finish, FinishReason::EndOfSequence);
    for (const auto& l : b.log(0, 1)) EXPECT_EQ(l.req.stops, (std::vector<std::string>{"</think>"}));
}

TEST(ProblemRun, IndependentMultipleChoiceUsesThePlainChoicePrompt) {
    const PromptSet& P = leap_test::fixed_prompts();
    ScriptedBackend b([](const ScriptCall&) { return std::string("w "); });
    auto runs = drive(b, ProblemRun(0, choice(), config(Method::Independent, 1, 2, 1, 3, 1), P));
    EXPECT_EQ(runs[0].user_message(), fill_template(P.plain_user_choice, "Which gas is inert?", choice().choices, "</think>"));
    EXPECT_NE(runs[0].user_message().find("D) Chlorine"), std::string::npos);
    EXPECT_EQ(runs[0].paths().at(0).text, "w w " + fill_template(P.answer_opener_choice, "", {}, "</think>") + "w ");
}

TEST(ProblemRun, SingleRunsOnlyTheChosenBlock) {
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string PF = P.leap_prefill;
    ScriptedBackend b(by_request({
        {{0, 0}, {{"a\n\n", "b ", "c "}, {"d\n\n", "e ", "f "}, {" s0", "</summarize>"}, {"g ", "h ", "i "}, {"7", "}"}}},
        {{0, 1}, {{"j ", "k ", "l "}, {"m ", "n ", "o "}, {" s1", "</summarize>"}, {"p ", "q ", "r "}, {"8", "}"}}},
    }));
    RunConfig c = config(Method::Single, 2, 3, 3, 3, 2, RouterKind::Dispersed, 1);
    c.single_block = 1;
    EXPECT_FALSE(c.block_enabled(0));
    EXPECT_TRUE(c.block_enabled(1));
    auto runs = drive(b, ProblemRun(0, math(), c, P));
    const ProblemRun& run = runs[0];
    EXPECT_EQ(run.prefill(), PF);  // Single uses the protocol prompt
    EXPECT_EQ(run.user_message(), fill_template(P.leap_user_math, "What is 6 times 7?", {}, "</think>"));
    const Path& p0 = run.paths().at(0);
    ASSERT_EQ(p0.blocks.size(), 1u);
    EXPECT_EQ(p0.blocks.at(0).block, 1);
    EXPECT_EQ(p0.blocks.at(0).trimmed_text, "e f ");  // trimmed within segment 2 only
    EXPECT_EQ(p0.text, PF + "a\n\nb c d\n\n" + kReq + " s0</summarize>" + comments({"So: s1"}) + "g h i " +
                           P.answer_opener_math + "7}");
    // Segment 2 just continues segment 1.
    EXPECT_EQ(b.log(0, 0).at(1).req.append, "");
    EXPECT_EQ(b.log(0, 0).at(1).req.kind, TokenKind::Reasoning);
    const Path& p1 = run.paths().at(1);
    EXPECT_EQ(p1.text, PF + "j k l m n o " + kReqNL + " s1</summarize>" + comments({"So: s0"}) + "p q r " +
                           P.answer_opener_math + "8}");
    EXPECT_EQ(p1.segments.size(), 3u);
}

TEST(ProblemRun, LeapTEndsASegmentOnSummarizeAndTrimsIt) {
    const PromptSet& P = leap_test::fixed_prompts();
    ScriptedBackend b(by_request({
        {{0, 0}, {{"a\n\n", "b <summ", "arize> c", "never"}, {" s0", "</summarize>"}, {"x ", "y "}, {"1", "}"}}},
        {{0, 1}, {{"x ", "y <summarize>", "never"}, {" s1", "</summarize>"}, {"x ", "y "}, {"2", "}"}}},
        {{0, 2}, {{"m ", "n ", "o ", "p ", "q "}, {" s2", "</summarize>"}, {"x ", "y "}, {"3", "}"}}},
    }));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::LeapT, 3, 5, 2, 3, 2, RouterKind::Dispersed, 1), P));
    const ProblemRun& run = runs[0];
    EXPECT_EQ(run.prefill(), "");
    EXPECT_EQ(run.user_message(), fill_template(P.plain_user_math, "What is 6 times 7?", {}, "</think>"));
    const std::vector<std::string> stops{"</think>", "<summarize>"};
    for (int i = 0; i < 3; ++i) EXPECT_EQ(b.log(0, i).at(0).req.stops, stops) << i;
    // Segment 2 is the last: no block follows, so "<summarize>" does not end it.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(b.log(0, i).at(2).req.stops, std::vector<std::string>{"</think>"}) << i;
    // Path 0: "<summarize>" split over tokens ends the segment; the paragraph holding it goes.
    EXPECT_EQ(b.log(0, 0).at(0).result.text, "a\n\nb <summarize>");
    EXPECT_EQ(b.log(0, 0).at(0).result.reason, StopReason::StopString);
    EXPECT_EQ(b.log(0, 0).at(0).result.n_sampled, 3);
    EXPECT_EQ(run.paths().at(0).blocks.at(0).trimmed_text, "b <summarize>");
    EXPECT_EQ(b.log(0, 0).at(1).before, "a\n\n" + kReq);
    // Path 1: no blank line in the segment: only the model's own tag (and the space) goes.
    EXPECT_EQ(run.paths().at(1).blocks.at(0).trimmed_text, " <summarize>");
    EXPECT_EQ(b.log(0, 1).at(1).before, "x y" + kReqNL);
    // Path 2: ran its full segment, nothing trimmed.
    EXPECT_EQ(run.paths().at(2).blocks.at(0).trimmed_text, "");
    EXPECT_EQ(b.log(0, 2).at(1).before, "m n o p q " + kReqNL);
    // Summaries "So: s0", "So: s1", "So: s2" are equally similar: ties go to the lower index.
    EXPECT_EQ(peer_ids(run.paths().at(0).blocks.at(0)), (std::vector<int>{1}));
    EXPECT_EQ(peer_ids(run.paths().at(1).blocks.at(0)), (std::vector<int>{0}));
    EXPECT_EQ(peer_ids(run.paths().at(2).blocks.at(0)), (std::vector<int>{0}));
    EXPECT_EQ(run.paths().at(0).text, "a\n\n" + kReq + " s0</summarize>" + comments({"So: s1"}) + "x y z z z " +
                                       P.answer_opener_math + "1}");
    EXPECT_EQ(tok(run.paths().at(0), TokenKind::Reasoning), 8);
}

TEST(ProblemRun, LeapTLastSegmentDoesNotStopOnSummarize) {
    // No block follows the last segment, so a summary the model opens there is just reasoning.
    const PromptSet& P = leap_test::fixed_prompts();
    ScriptedBackend b(by_request({{{0, 0}, {{"a ", "b <summarize>", "c", " </summarize>", "d "}, {"1", "}"}}}}));
    auto runs = drive(b, ProblemRun(0, math(), config(Method::LeapT, 1, 5, 1, 3, 2), P));
    const Path& p = runs[0].paths().at(0);
    EXPECT_EQ(b.log(0, 0).at(0).req.stops, (std::vector<std::string>{"</think>"}));
    EXPECT_EQ(p.text, "a b <summarize>c </summarize>d " + P.answer_opener_math + "1}");
    EXPECT_EQ(tok(p, TokenKind::Reasoning), 5);
}

// ---------------------------------------------------------------------------------------------
// Several problems in one driver, determinism, the trace.

const ScriptedBackend::Order kShuffle = ScriptedBackend::Order::Shuffle;

// A script that depends on the problem and path: paragraphs of different lengths, summaries that
// close on their own, and some paths that finish early.
std::string varied(const ScriptCall& c) {
    const int h = c.problem * 7 + c.path * 3 + c.request;
    switch (c.kind) {
        case TokenKind::Summary:
            if (c.sampled == 2 + h % 3) return " </summarize>";
            return " v" + std::to_string(h % 4) + std::to_string(c.sampled);
        case TokenKind::Answer:
            if (c.sampled == 2) return kEos;
            return c.sampled == 0 ? "1" + std::to_string(c.problem) : "}";
        default:
            if (c.path == 2 && c.request >= 4 && c.sampled == 1) return "</think>";
            if (c.path == 3 && c.problem == 1 && c.request == 2 && c.sampled == 2) return kEos;
            if ((c.sampled + h) % 4 == 3) return "p" + std::to_string(c.path) + ".\n\n";
            return "t" + std::to_string(c.sampled) + " ";
    }
}

std::vector<ProblemRun> several(uint64_t seed, ScriptedBackend::Order order, ScriptedBackend* keep = nullptr) {
    std::vector<ProblemRun> runs;
    RunConfig c = config(Method::Leap, 4, 6, 4, 5, 3, RouterKind::Dispersed, 2);
    c.seed = seed;
    runs.emplace_back(0, math("m0"), c, builtin());
    runs.emplace_back(1, choice("c1"), c, builtin());
    RunConfig t = c;
    t.method = Method::LeapT;
    runs.emplace_back(2, math("m2"), t, builtin());
    ScriptedBackend local(varied);
    ScriptedBackend& b = keep ? *keep : local;
    b.order(order, seed + 5);
    return b.drive(std::move(runs));
}

TEST(ProblemRun, SeveralProblemsInterleavedMatchEachAlone) {
    ScriptedBackend b(varied);
    auto together = several(3, kShuffle, &b);
    ASSERT_EQ(together.size(), 3u);
    // Completions from different problems interleave.
    std::set<int> first_slots;
    for (size_t i = 0; i < 6; ++i) first_slots.insert(std::get<0>(b.completions()[i]));
    EXPECT_GT(first_slots.size(), 1u);
    for (size_t s = 0; s < together.size(); ++s) {
        ScriptedBackend alone(varied);
        auto one = drive(alone, ProblemRun(together.at(s).index(), together.at(s).problem(), together.at(s).config(), builtin()));
        EXPECT_EQ(one[0].trace().dump(), together.at(s).trace().dump()) << "problem " << s;
    }
    // Sanity of what happened: blocks ran, path 2 finished early on its own, the choice problem
    // was forced to an answer letter slot.
    const auto& m0 = together.at(0).paths();
    EXPECT_EQ(m0.at(0).blocks.size(), 3u);
    EXPECT_EQ(m0.at(2).finish, FinishReason::EndOfThinking);
    EXPECT_EQ(together.at(1).paths().at(3).finish, FinishReason::EndOfSequence);
    EXPECT_NE(together.at(1).paths().at(0).text.find("</think>\n\nANSWER:"), std::string::npos);
    EXPECT_EQ(together.at(2).prefill(), "");
}

TEST(ProblemRun, SameSeedSameTrace) {
    for (size_t s = 0; s < 3; ++s) {
        const auto a = several(11, ScriptedBackend::Order::Forward);
        const auto b = several(11, kShuffle);
        EXPECT_EQ(a[s].trace().dump(), b[s].trace().dump()) << s;
    }
    const auto x = several(11, ScriptedBackend::Order::Forward);
    const auto y = several(12, ScriptedBackend::Order::Forward);
    EXPECT_NE(x[0].trace().dump(), y[0].trace().dump());
}

TEST(ProblemRun, TraceHasEveryField) {
    RequestTable table;
    for (auto& [key, reqs] : full_leap_table()) table[{4, key.second}] = reqs;  // problem index 4
    ScriptedBackend b(by_request(table));
    auto runs = drive(b, ProblemRun(4, math("trace-me"), config(Method::Leap, 3, 5, 3), leap_test::fixed_prompts()));
    runs[0].set_prompt_tokens(123);
    nlohmann::json t = runs[0].trace();
    EXPECT_EQ(t["id"], "trace-me");
    EXPECT_EQ(t["index"], 4);
    EXPECT_EQ(t["problem"], "What is 6 times 7?");
    EXPECT_TRUE(t["choices"].is_object());
    EXPECT_EQ(t["user_message"], runs[0].user_message());
    EXPECT_EQ(t["prefill"], leap_test::fixed_prompts().leap_prefill);
    EXPECT_EQ(t["prompt_tokens"], 123);
    ASSERT_EQ(t["paths"].size(), 3u);
    const auto& p0 = t["paths"][0];
    EXPECT_EQ(p0["path"], 0);
    EXPECT_EQ(p0["finish"], "forced");
    EXPECT_EQ(p0["segments"], nlohmann::json({"a b\n\nc d e ", "p q\n\nr s t ", "f1 f2 f3 f4 f5 "}));
    ASSERT_EQ(p0["blocks"].size(), 2u);
    const auto& b0 = p0["blocks"][0];
    EXPECT_EQ(b0["block"], 0);
    EXPECT_EQ(b0["trimmed"], "c d e ");
    EXPECT_EQ(b0["summary_request"], kReq);
    EXPECT_EQ(b0["summary"], "So: x0");
    ASSERT_EQ(b0["peers"].size(), 2u);
    EXPECT_EQ(b0["peers"][0]["peer"], 2);
    EXPECT_DOUBLE_EQ(b0["peers"][0]["score"].get<double>(), 0.5);
    EXPECT_EQ(b0["peers"][1]["peer"], 1);
    EXPECT_DOUBLE_EQ(b0["peers"][1]["score"].get<double>(), 8.0 / 13);
    EXPECT_EQ(b0["injected"], comments({"So: zz ...", "So: yyy"}));
    EXPECT_EQ(p0["answer"], leap_test::fixed_prompts().answer_opener_math + "42}");
    EXPECT_EQ(p0["text"], runs[0].paths().at(0).text);
    EXPECT_EQ(p0["tokens"]["reasoning"], 15);
    EXPECT_EQ(p0["tokens"]["summary"], 4);
    EXPECT_EQ(p0["tokens"]["answer"], 2);
    EXPECT_EQ(p0["tokens"]["injected"], runs[0].paths().at(0).tokens[(size_t)TokenKind::Injected]);
    EXPECT_TRUE(p0["notes"].is_array());
    EXPECT_EQ(t["paths"][1]["finish"], "end-of-sequence");
    EXPECT_EQ(t["paths"][2]["finish"], "end-of-thinking");
    EXPECT_EQ(t["paths"][2]["blocks"].size(), 1u);
    ScriptedBackend b2(by_request({}));
    nlohmann::json c = drive(b2, ProblemRun(0, choice(), config(Method::Leap, 1, 1, 1), leap_test::fixed_prompts()))[0].trace();
    EXPECT_EQ(c["choices"]["C"], "Fluorine");
}

// ---------------------------------------------------------------------------------------------
// Configuration.

std::string validate_error(RunConfig c) {
    try {
        c.validate();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(ProblemRunConfig, ValidateRejectsImpossibleValues) {
    const RunConfig ok = config(Method::Leap, 2, 4, 3);
    EXPECT_EQ(validate_error(ok), "");
    auto with = [&](auto f) {
        RunConfig c = ok;
        f(c);
        return validate_error(c);
    };
    EXPECT_NE(with([](RunConfig& c) { c.n_paths = 0; }).find("paths"), std::string::npos);
    EXPECT_NE(with([](RunConfig& c) { c.segment_tokens = 0; }).find("segment length"), std::string::npos);
    EXPECT_NE(with([](RunConfig& c) { c.segments = 0; }).find("segments"), std::string::npos);
    EXPECT_NE(with([](RunConfig& c) { c.summary_tokens = 0; }).find("summary"), std::string::npos);
    EXPECT_NE(with([](RunConfig& c) { c.answer_tokens = -3; }).find("answer"), std::string::npos);
    EXPECT_NE(with([](RunConfig& c) { c.router.k = 0; }).find("--peers"), std::string::npos);
    EXPECT_NE(with([](RunConfig& c) { c.n_paths = -1; }).find("-1"), std::string::npos);
    // Single: the block must exist.
    EXPECT_NE(with([](RunConfig& c) { c.method = Method::Single; c.single_block = 2; }).find("single-block"),
              std::string::npos);
    EXPECT_NE(with([](RunConfig& c) { c.method = Method::Single; c.single_block = -1; }), "");
    EXPECT_NE(with([](RunConfig& c) { c.method = Method::Single; c.segments = 1; c.single_block = 0; }), "");
    EXPECT_EQ(with([](RunConfig& c) { c.method = Method::Single; c.single_block = 1; }), "");
    // single_block is ignored by the other methods.
    EXPECT_EQ(with([](RunConfig& c) { c.single_block = 9; }), "");
    // The run refuses a bad configuration.
    RunConfig bad = ok;
    bad.segments = 0;
    EXPECT_THROW(ProblemRun(0, math(), bad, leap_test::fixed_prompts()), Error);
}

TEST(ProblemRunConfig, MethodsAndBlocks) {
    EXPECT_EQ(parse_method("leap"), Method::Leap);
    EXPECT_EQ(parse_method("leap-t"), Method::LeapT);
    EXPECT_EQ(parse_method("independent"), Method::Independent);
    EXPECT_EQ(parse_method("single"), Method::Single);
    EXPECT_THROW(parse_method("leap-x"), Error);
    for (Method m : {Method::Leap, Method::LeapT, Method::Independent, Method::Single})
        EXPECT_EQ(parse_method(to_string(m)), m);
    const RunConfig l = config(Method::Leap, 2, 4, 3);
    EXPECT_TRUE(l.block_enabled(0));
    EXPECT_TRUE(l.block_enabled(1));
    EXPECT_FALSE(l.block_enabled(2));  // no block after the last segment
    EXPECT_FALSE(l.block_enabled(-1));
    EXPECT_FALSE(config(Method::Independent, 2, 4, 3).block_enabled(0));
    EXPECT_TRUE(config(Method::LeapT, 2, 4, 3).block_enabled(1));
    EXPECT_TRUE(l.uses_protocol_prompt());
    EXPECT_FALSE(config(Method::LeapT, 2, 4, 3).uses_protocol_prompt());
    EXPECT_FALSE(config(Method::Independent, 2, 4, 3).uses_protocol_prompt());
    EXPECT_TRUE(config(Method::Single, 2, 4, 3).uses_protocol_prompt());
}

}  // namespace
