// The SPEC §3 variants beyond LeaP / LeaP-T / independent / single, driven by the scripted
// backend: LeaP-S (groups exchange one block, one path per group continues), the Mixture-of-Agents
// baseline (layers restarting from the previous layer's responses), and the assistant prefix of
// the prefix-dominance-trap experiment. Exact texts and requests, token counts, configuration
// errors and the optional MoA prompt keys.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/answer.h"
#include "core/block.h"
#include "core/config.h"
#include "core/error.h"
#include "core/problem_run.h"
#include "core/prompts.h"
#include "core/vote.h"
#include "scripted_backend.h"

using namespace leap;
using leap_test::by_request;
using leap_test::kEos;
using leap_test::RequestLog;
using leap_test::RequestTable;
using leap_test::ScriptCall;
using leap_test::ScriptedBackend;

namespace {


const std::string kReqNL = "\n\nRecap. <summarize> So:";  // summary request after text with no newline

RunConfig config(Method m, int n, int T, int M, int S = 3, int A = 2, int k = 2) {
    RunConfig c;
    c.method = m;
    c.n_paths = n;
    c.segment_tokens = T;
    c.segments = M;
    c.summary_tokens = S;
    c.answer_tokens = A;
    c.router.kind = RouterKind::Dispersed;
    c.router.k = k;
    c.seed = 1;
    return c;
}

Problem math(std::string prefix = "") { return {"m1", "What is 6 times 7?", {}, std::move(prefix)}; }
Problem choice() {
    return {"c1", "Which gas is inert?", {{"A", "Neon"}, {"B", "Oxygen"}, {"C", "Fluorine"}, {"D", "Chlorine"}}, ""};
}

std::string comments(const std::vector<std::string>& peer_summaries) {
    std::string s = " <comment> ";
    for (size_t i = 0; i < peer_summaries.size(); ++i)
        s += (i ? "\n" : "") + std::string("Peer ") + std::to_string(i + 1) + ": \"" + peer_summaries[i] + "\"";
    return s + " </comment>\n\n" + leap_test::fixed_prompts().comment_cue;
}
std::string no_comments() { return " <comment> " + leap_test::fixed_prompts().no_comment_text + " </comment>\n\n" + leap_test::fixed_prompts().no_comment_cue; }

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

void expect_request(const RequestLog& r, size_t keep, const std::string& append, TokenKind kind, int max_tokens,
                    const std::string& where) {
    SCOPED_TRACE(where);
    EXPECT_EQ(r.req.keep, keep);
    EXPECT_EQ(r.req.append, append);
    EXPECT_EQ(r.req.kind, kind);
    EXPECT_EQ(r.req.max_tokens, max_tokens);
    EXPECT_EQ(r.result.n_appended, (int)append.size());
}

std::string validate_error(const RunConfig& c) {
    try {
        c.validate();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

const ScriptedBackend::Order kOrders[] = {ScriptedBackend::Order::Forward, ScriptedBackend::Order::Reverse,
                                          ScriptedBackend::Order::Shuffle};

// ---------------------------------------------------------------------------------------------
// LeaP-S

// N = 4 in groups of G = 2, T = 3, M = 3: segment 1, the block (routing inside each group), then
// paths 0 and 2 continue through segments 2 and 3; paths 1 and 3 answer right after the block.
RequestTable leap_s_table() {
    return {
        {{0, 0}, {{"a0 ", "b0 ", "c0 "}, {" s0", "</summarize>"}, {"d0 ", "e0 ", "f0 "}, {"g0 ", "h0 ", "i0 "}, {"1", "}"}}},
        {{0, 1}, {{"a1 ", "b1 ", "c1 "}, {" s1", "</summarize>"}, {"2", "}"}}},
        {{0, 2}, {{"a2 ", "b2 ", "c2 "}, {" s2", "</summarize>"}, {"d2 ", "e2 ", "f2 "}, {"g2 ", "h2 ", "i2 "}, {"3", "}"}}},
        {{0, 3}, {{"a3 ", "b3 ", "c3 "}, {" s3", "</summarize>"}, {"4", "}"}}},
    };
}

TEST(LeapS, GroupsRouteInsideThemselvesAndOnePathPerGroupContinues) {
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string PF = P.leap_prefill;
    const std::string MO = P.answer_opener_math;
    for (auto order : kOrders) {
        SCOPED_TRACE((int)order);
        RunConfig c = config(Method::LeapS, 4, 3, 3, 3, 2, /*k=*/2);
        c.group_size = 2;
        ScriptedBackend b(by_request(leap_s_table()));
        b.order(order, 5);
        auto runs = drive(b, ProblemRun(0, math(), c, P));
        const ProblemRun& run = runs[0];
        ASSERT_TRUE(run.done());
        // The protocol prompt, as LeaP.
        EXPECT_EQ(run.prefill(), PF);
        EXPECT_EQ(run.user_message(), fill_template(P.leap_user_math, "What is 6 times 7?", {}, "</think>"));

        // Routing: k = 2, but a group of two has one peer; all four summaries are equally similar,
        // so without groups path 0 would hear from 1 and 2.
        EXPECT_EQ(peer_ids(run.paths().at(0).blocks.at(0)), (std::vector<int>{1}));
        EXPECT_EQ(peer_ids(run.paths().at(1).blocks.at(0)), (std::vector<int>{0}));
        EXPECT_EQ(peer_ids(run.paths().at(2).blocks.at(0)), (std::vector<int>{3}));
        EXPECT_EQ(peer_ids(run.paths().at(3).blocks.at(0)), (std::vector<int>{2}));

        // Which paths continue: the lowest index of each group.
        EXPECT_FALSE(run.pruned(0));
        EXPECT_TRUE(run.pruned(1));
        EXPECT_FALSE(run.pruned(2));
        EXPECT_TRUE(run.pruned(3));

        for (int g = 0; g < 2; ++g) {
            const int i = 2 * g, j = 2 * g + 1;
            const std::string si = "s" + std::to_string(i), sj = "s" + std::to_string(j);
            const std::string seg1i = "a" + std::to_string(i) + " b" + std::to_string(i) + " c" + std::to_string(i) + " ";
            const std::string seg1j = "a" + std::to_string(j) + " b" + std::to_string(j) + " c" + std::to_string(j) + " ";
            const std::string Ci = comments({"So: " + sj}), Cj = comments({"So: " + si});
            // The continuing path: five requests, segments 2 and 3 back to back, no second block.
            {
                const Path& p = run.paths().at(i);
                const auto& L = b.log(0, i);
                ASSERT_EQ(L.size(), 5u);
                std::string t = PF;
                expect_request(L[0], t.size(), "", TokenKind::Reasoning, 3, "cont seg1");
                t += seg1i;
                expect_request(L[1], t.size(), kReqNL, TokenKind::Summary, 3, "cont sum");
                t += kReqNL + " " + si + "</summarize>";
                expect_request(L[2], t.size(), Ci, TokenKind::Reasoning, 3, "cont seg2");
                t += Ci + "d" + std::to_string(i) + " e" + std::to_string(i) + " f" + std::to_string(i) + " ";
                expect_request(L[3], t.size(), "", TokenKind::Reasoning, 3, "cont seg3");
                t += "g" + std::to_string(i) + " h" + std::to_string(i) + " i" + std::to_string(i) + " ";
                expect_request(L[4], t.size(), MO, TokenKind::Answer, 2, "cont answer");
                t += MO + std::to_string(i + 1) + "}";
                EXPECT_EQ(p.text, t);
                EXPECT_EQ(p.finish, FinishReason::Forced);
                EXPECT_EQ(p.segments.size(), 3u);
                EXPECT_EQ(p.blocks.size(), 1u);
                EXPECT_EQ(extract_answer(p.text, false), std::to_string(i + 1));
                EXPECT_EQ(tok(p, TokenKind::Reasoning), 9);
                EXPECT_EQ(tok(p, TokenKind::Summary), 2);
                EXPECT_EQ(tok(p, TokenKind::Answer), 2);
                EXPECT_EQ(tok(p, TokenKind::Injected), (long)(kReqNL.size() + Ci.size() + MO.size()));
                EXPECT_TRUE(p.notes.empty());
            }
            // The pruned path: it hears its peer, then its answer is forced at once.
            {
                const Path& p = run.paths().at(j);
                const auto& L = b.log(0, j);
                ASSERT_EQ(L.size(), 3u);
                std::string t = PF + seg1j + kReqNL + " " + sj + "</summarize>";
                expect_request(L[2], t.size(), Cj + MO, TokenKind::Answer, 2, "pruned answer");
                t += Cj + MO + std::to_string(j + 1) + "}";
                EXPECT_EQ(p.text, t);
                EXPECT_EQ(p.finish, FinishReason::Forced);
                EXPECT_EQ(p.segments.size(), 1u);
                EXPECT_EQ(p.blocks.at(0).injected, Cj);
                EXPECT_EQ(extract_answer(p.text, false), std::to_string(j + 1));
                EXPECT_EQ(tok(p, TokenKind::Reasoning), 3);
                EXPECT_EQ(tok(p, TokenKind::Summary), 2);
                EXPECT_EQ(tok(p, TokenKind::Answer), 2);
                EXPECT_EQ(tok(p, TokenKind::Injected), (long)(kReqNL.size() + Cj.size() + MO.size()));
                ASSERT_EQ(p.notes.size(), 1u);
                EXPECT_NE(p.notes[0].find("path " + std::to_string(i) + " continues"), std::string::npos) << p.notes[0];
            }
        }
        // The trace marks groups and pruned paths.
        const nlohmann::json t = run.trace();
        EXPECT_EQ(t["paths"][3]["group"], 1);
        EXPECT_EQ(t["paths"][3]["pruned"], true);
        EXPECT_EQ(t["paths"][2]["pruned"], false);
        EXPECT_EQ(t["paths"][1]["group"], 0);
    }
}

// With one group of all N paths, LeaP-S is single (block 0) up to the block, and path 0's whole
// run is the same as under single.
TEST(LeapS, OneGroupMatchesSingleUpToTheBlock) {
    auto script = [](const ScriptCall& c) -> std::string {
        const int h = c.path * 5 + c.request;
        if (c.kind == TokenKind::Summary) return c.sampled == 1 + h % 3 ? "</summarize>" : " v" + std::to_string(h * (c.sampled + 1));
        if (c.kind == TokenKind::Answer) return c.sampled == 0 ? std::to_string(c.path) : "}";
        return (c.sampled + h) % 3 == 2 ? "p.\n\n" : "t" + std::to_string(c.sampled) + " ";
    };
    RunConfig s = config(Method::Single, 4, 4, 3, 4, 2, 2);
    RunConfig l = s;
    l.method = Method::LeapS;
    l.group_size = 4;
    ScriptedBackend bs(script), bl(script);
    auto single = drive(bs, ProblemRun(0, math(), s, leap_test::fixed_prompts()));
    auto leap_s = drive(bl, ProblemRun(0, math(), l, leap_test::fixed_prompts()));
    const auto& S = single[0].paths();
    const auto& L = leap_s[0].paths();
    EXPECT_EQ(L.at(0).text, S.at(0).text);
    EXPECT_EQ(L.at(0).segments.size(), 3u);
    for (int i = 0; i < 4; ++i) {
        SCOPED_TRACE(i);
        ASSERT_EQ(L.at(i).blocks.size(), 1u);
        EXPECT_EQ(peer_ids(L.at(i).blocks.at(0)), peer_ids(S.at(i).blocks.at(0)));
        EXPECT_EQ(L.at(i).blocks.at(0).summary, S.at(i).blocks.at(0).summary);
        EXPECT_EQ(L.at(i).segments.at(0), S.at(i).segments.at(0));
        EXPECT_EQ(leap_s[0].pruned(i), i != 0);
        if (i > 0) {
            // Up to the end of the comment block the texts agree; then the answer is forced.
            const std::string upto = S.at(i).text.substr(0, S.at(i).text.find(leap_test::fixed_prompts().comment_cue) + leap_test::fixed_prompts().comment_cue.size());
            EXPECT_EQ(L.at(i).text, upto + leap_test::fixed_prompts().answer_opener_math + std::to_string(i) + "}");
            EXPECT_EQ(L.at(i).segments.size(), 1u);
        }
    }
}

TEST(LeapS, RepresentativeIsTheLowestIndexThatReachedTheBlock) {
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string PF = P.leap_prefill;
    // Group 0: path 0 finishes thinking in segment 1, so path 1 is alone at the block (no
    // comments) and continues. Group 1: both paths end with end-of-sequence: nobody continues.
    RunConfig c = config(Method::LeapS, 4, 3, 2, 3, 2, 1);
    c.group_size = 2;
    ScriptedBackend b(by_request({
        {{0, 0}, {{"x ", "</think>"}, {"9", kEos}}},
        {{0, 1}, {{"a ", "b ", "c "}, {" s1", "</summarize>"}, {"d ", "e ", "f "}, {"5", "}"}}},
        {{0, 2}, {{"y ", kEos}}},
        {{0, 3}, {{kEos}}},
    }));
    auto runs = drive(b, ProblemRun(0, math(), c, P));
    const auto& paths = runs[0].paths();
    EXPECT_EQ(paths.at(0).finish, FinishReason::EndOfThinking);
    EXPECT_EQ(paths.at(0).text, PF + "x </think>9");
    EXPECT_TRUE(paths.at(0).blocks.empty());
    EXPECT_FALSE(runs[0].pruned(0));
    EXPECT_FALSE(runs[0].pruned(1));
    EXPECT_EQ(paths.at(1).text, PF + "a b c " + kReqNL + " s1</summarize>" + no_comments() + "d e f " +
                                    P.answer_opener_math + "5}");
    EXPECT_EQ(paths.at(1).segments.size(), 2u);
    for (int i : {2, 3}) {
        EXPECT_EQ(paths.at(i).finish, FinishReason::EndOfSequence) << i;
        EXPECT_FALSE(runs[0].pruned(i)) << i;
        EXPECT_TRUE(paths.at(i).blocks.empty()) << i;
    }
}

TEST(LeapS, BlockPositionFollowsSingleBlock) {
    // --single-block 1: segments 1 and 2 run back to back, the exchange follows segment 2.
    RunConfig c = config(Method::LeapS, 2, 2, 3, 2, 1, 1);
    c.group_size = 2;
    c.single_block = 1;
    EXPECT_FALSE(c.block_enabled(0));
    EXPECT_TRUE(c.block_enabled(1));
    ScriptedBackend b([](const ScriptCall& c) { return c.kind == TokenKind::Summary ? std::string("</summarize>") : "w "; });
    auto runs = drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
    const Path& p0 = runs[0].paths().at(0);
    const Path& p1 = runs[0].paths().at(1);
    ASSERT_EQ(p0.blocks.size(), 1u);
    EXPECT_EQ(p0.blocks.at(0).block, 1);
    EXPECT_EQ(p0.segments.size(), 3u);
    EXPECT_EQ(p1.segments.size(), 2u);
    EXPECT_TRUE(runs[0].pruned(1));
    EXPECT_EQ(b.log(0, 1).size(), 4u);  // segment 1, segment 2, summary, answer
    EXPECT_EQ(b.log(0, 1).at(1).req.append, "");
}

// ---------------------------------------------------------------------------------------------
// Mixture of Agents

// Layer 1 (requests 0-2 of a path): path 0 runs its budget and is forced to answer 5; path 1
// ends its thinking and writes \boxed{5}; path 2 ends with end-of-sequence and no answer.
// Layer 2: paths 0 and 1 answer 7, path 2 answers 5.
RequestTable moa_table() {
    return {
        {{0, 0}, {{"x ", "y ", "z "}, {"u ", "v ", "w "}, {"5", "}"}, {"m ", "n ", "o "}, {"r "}, {"7", "}"}}},
        {{0, 1}, {{"p ", "</think>"}, {" \\boxed{5}", kEos}, {"k ", "</think>"}, {" \\boxed{7}", kEos}}},
        {{0, 2}, {{"q ", kEos}, {"e ", "f ", "g "}, {"h "}, {"5", "}"}}},
    };
}

RunConfig moa_config(int layers, int context_chars) {
    RunConfig c = config(Method::MixtureOfAgents, 3, 3, 2, 3, 2);
    c.moa_layers = layers;
    c.moa_context_chars = context_chars;
    return c;
}

std::string aggregate(const std::string& responses, bool mc = false) {
    std::string a = mc ? leap_test::fixed_prompts().moa_aggregate_choice : leap_test::fixed_prompts().moa_aggregate_math;
    a.replace(a.find("{responses}"), 11, responses);
    return a;
}

TEST(MixtureOfAgents, SecondLayerRestartsFromTheFirstLayersResponses) {
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string MO = P.answer_opener_math;
    for (auto order : kOrders) {
        SCOPED_TRACE((int)order);
        ScriptedBackend b(by_request(moa_table()));
        b.order(order, 3);
        auto runs = drive(b, ProblemRun(0, math(), moa_config(2, 8), P));
        const ProblemRun& run = runs[0];
        ASSERT_TRUE(run.done());
        EXPECT_EQ(run.layer(), 2);
        // Plain prompt, no prefill, no blocks.
        EXPECT_EQ(run.prefill(), "");
        EXPECT_EQ(run.user_message(), fill_template(P.plain_user_math, "What is 6 times 7?", {}, "</think>"));

        // Responses in path order with their answers and the last 8 characters of their reasoning
        // (the answer part is not part of the excerpt).
        const std::string responses =
            "Response 1 (final answer: 5):\n...z u v w\n\n"
            "Response 2 (final answer: 5):\np\n\n"
            "Response 3 (final answer: none):\nq";
        const std::string A = aggregate(responses);
        EXPECT_EQ(A.find("\\boxed"), std::string::npos);  // the listing gives no answer for a grader to find

        // Layer 1 is independent sampling.
        const std::string L1_0 = "x y z u v w " + MO + "5}";
        const std::string L1_1 = "p </think> \\boxed{5}";
        const std::string L1_2 = "q ";
        ASSERT_EQ(run.earlier_layers(0).size(), 1u);
        EXPECT_EQ(run.earlier_layers(0).at(0).text, L1_0);
        EXPECT_EQ(run.earlier_layers(0).at(0).finish, FinishReason::Forced);
        EXPECT_EQ(run.earlier_layers(1).at(0).text, L1_1);
        EXPECT_EQ(run.earlier_layers(1).at(0).answer, " \\boxed{5}");
        EXPECT_EQ(run.earlier_layers(2).at(0).text, L1_2);
        EXPECT_EQ(run.earlier_layers(2).at(0).finish, FinishReason::EndOfSequence);
        EXPECT_EQ(run.earlier_layers(0).at(0).segments, (std::vector<std::string>{"x y z ", "u v w "}));

        // Layer 2's first request of every path: keep = 0, the aggregation text appended.
        const size_t first_l2[] = {3, 2, 1};
        for (int i = 0; i < 3; ++i) {
            SCOPED_TRACE(i);
            const auto& L = b.log(0, i);
            ASSERT_GT(L.size(), first_l2[i]);
            expect_request(L[first_l2[i]], 0, A, TokenKind::Reasoning, 3, "layer 2 start");
            EXPECT_EQ(L[first_l2[i]].req.append_kind, TokenKind::Injected);
            EXPECT_EQ(L[first_l2[i]].before, A);
            EXPECT_EQ(run.paths().at(i).segments.size(), i == 1 ? 1u : 2u);
        }
        // Layer 2's texts replace layer 1's.
        EXPECT_EQ(run.paths().at(0).text, A + "m n o r z z " + MO + "7}");
        EXPECT_EQ(run.paths().at(1).text, A + "k </think> \\boxed{7}");
        EXPECT_EQ(run.paths().at(2).text, A + "e f g h z z " + MO + "5}");
        EXPECT_EQ(run.paths().at(1).finish, FinishReason::EndOfThinking);

        // The vote uses the last layer: 7 (layer 1's majority was 5).
        std::vector<std::string> last, first;
        for (int i = 0; i < 3; ++i) {
            last.push_back(extract_answer(run.paths().at(i).text, false));
            first.push_back(extract_answer(run.earlier_layers(i).at(0).text, false));
        }
        EXPECT_EQ(last, (std::vector<std::string>{"7", "7", "5"}));
        EXPECT_EQ(majority_vote(last).answer, "7");
        EXPECT_EQ(majority_vote(first).answer, "5");

        // Tokens add up over the layers; the aggregation text counts as injected.
        const Path& p0 = run.paths().at(0);
        EXPECT_EQ(tok(p0, TokenKind::Reasoning), 12);
        EXPECT_EQ(tok(p0, TokenKind::Answer), 4);
        EXPECT_EQ(tok(p0, TokenKind::Injected), (long)(2 * MO.size() + A.size()));
        EXPECT_EQ(run.earlier_layers(0).at(0).tokens[(size_t)TokenKind::Reasoning], 6);
        EXPECT_EQ(run.earlier_layers(0).at(0).tokens[(size_t)TokenKind::Injected], (long)MO.size());

        // Trace: earlier layers under "layers", the last layer in the path's own fields.
        const nlohmann::json t = run.trace();
        ASSERT_EQ(t["paths"][1]["layers"].size(), 1u);
        EXPECT_EQ(t["paths"][1]["layers"][0]["layer"], 1);
        EXPECT_EQ(t["paths"][1]["layers"][0]["text"], L1_1);
        EXPECT_EQ(t["paths"][1]["layers"][0]["finish"], "end-of-thinking");
        EXPECT_EQ(t["paths"][1]["text"], A + "k </think> \\boxed{7}");
    }
}

TEST(MixtureOfAgents, LayerIsABarrier) {
    // Path 2 finishes layer 1 at once; its layer-2 request comes only after the others answered.
    ScriptedBackend b(by_request(moa_table()));
    auto runs = drive(b, ProblemRun(0, math(), moa_config(2, 8), leap_test::fixed_prompts()));
    const long last_l1 = std::max(b.log(0, 0).at(2).step, b.log(0, 1).at(1).step);
    EXPECT_LT(b.log(0, 2).at(0).step, last_l1);
    // Layer 2's first request of path 2 sampled its first token after layer 1 ended.
    EXPECT_GT(b.log(0, 2).at(1).step, last_l1);
}

TEST(MixtureOfAgents, ThirdLayerListsOnlyTheSecondLayersOwnText) {
    ScriptedBackend b(by_request(moa_table()));
    auto runs = drive(b, ProblemRun(0, math(), moa_config(3, 2000), leap_test::fixed_prompts()));
    const ProblemRun& run = runs[0];
    EXPECT_EQ(run.layer(), 3);
    ASSERT_EQ(run.earlier_layers(0).size(), 2u);
    const std::string A2 = aggregate(
        "Response 1 (final answer: 5):\nx y z u v w\n\n"
        "Response 2 (final answer: 5):\np\n\n"
        "Response 3 (final answer: none):\nq");
    EXPECT_EQ(run.earlier_layers(0).at(1).text, A2 + "m n o r z z " + leap_test::fixed_prompts().answer_opener_math + "7}");
    // The layer-2 excerpts leave out the layer-2 aggregation text (no nesting).
    const std::string A3 = aggregate(
        "Response 1 (final answer: 7):\nm n o r z z\n\n"
        "Response 2 (final answer: 7):\nk\n\n"
        "Response 3 (final answer: 5):\ne f g h z z");
    const size_t first_l3[] = {6, 4, 4};
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        const auto& L = b.log(0, i);
        ASSERT_GT(L.size(), first_l3[i]);
        expect_request(L[first_l3[i]], 0, A3, TokenKind::Reasoning, 3, "layer 3 start");
        EXPECT_TRUE(run.paths().at(i).text.starts_with(A3));
    }
    EXPECT_EQ(run.trace()["paths"][0]["layers"].size(), 2u);
}

TEST(MixtureOfAgents, ContextZeroListsAnswersOnly) {
    ScriptedBackend b(by_request(moa_table()));
    auto runs = drive(b, ProblemRun(0, math(), moa_config(2, 0), leap_test::fixed_prompts()));
    const std::string A = aggregate("Response 1 (final answer: 5)\n\nResponse 2 (final answer: 5)\n\nResponse 3 (final answer: none)");
    EXPECT_EQ(b.log(0, 0).at(3).req.append, A);
}

TEST(MixtureOfAgents, OneLayerIsIndependentSampling) {
    ScriptedBackend bm(by_request(moa_table())), bi(by_request(moa_table()));
    auto moa = drive(bm, ProblemRun(0, math(), moa_config(1, 2000), leap_test::fixed_prompts()));
    RunConfig ic = moa_config(1, 2000);
    ic.method = Method::Independent;
    auto ind = drive(bi, ProblemRun(0, math(), ic, leap_test::fixed_prompts()));
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(moa[0].paths().at(i).text, ind[0].paths().at(i).text) << i;
        EXPECT_TRUE(moa[0].earlier_layers(i).empty());
    }
    EXPECT_EQ(moa[0].paths().at(0).text, "x y z u v w " + leap_test::fixed_prompts().answer_opener_math + "5}");
}

TEST(MixtureOfAgents, MultipleChoiceUsesTheChoiceWordingAndLetters) {
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string CO = fill_template(P.answer_opener_choice, "", {}, "</think>");
    RunConfig c = moa_config(2, 2000);
    c.n_paths = 2;
    c.segments = 1;
    ScriptedBackend b(by_request({
        {{0, 0}, {{"w ", "w ", "w "}, {" B", kEos}, {"r ", "</think>"}, {"ANSWER: A", kEos}}},
        {{0, 1}, {{"v ", "</think>"}, {"ANSWER: C", kEos}, {"s ", "s ", "s "}, {" A", kEos}}},
    }));
    auto runs = drive(b, ProblemRun(0, choice(), c, P));
    const std::string A = aggregate("Response 1 (final answer: B):\nw w w\n\nResponse 2 (final answer: C):\nv", true);
    EXPECT_NE(P.moa_aggregate_choice, P.moa_aggregate_math);
    EXPECT_EQ(b.log(0, 0).at(2).req.append, A);
    EXPECT_EQ(b.log(0, 0).at(2).req.keep, 0u);
    EXPECT_EQ(A.find("ANSWER"), std::string::npos);  // nothing a grader would read as an answer
    EXPECT_EQ(runs[0].paths().at(1).text, A + "s s s " + CO + " A");
    EXPECT_EQ(choice_letter(runs[0].paths().at(0).text), "A");
    EXPECT_EQ(choice_letter(runs[0].paths().at(1).text), "A");
}

TEST(MixtureOfAgents, ExcerptDoesNotStartInsideAUtf8Character) {
    // "é" is two bytes: a cut in its middle moves forward to the next character.
    RunConfig c = moa_config(2, 4);
    c.n_paths = 1;
    c.segments = 1;
    ScriptedBackend b(by_request({{{0, 0}, {{"a\xC3\xA9", "bcd", kEos}}}}));
    auto runs = drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
    // Reasoning "aébcd" (6 bytes); the last 4 bytes start inside "é": the excerpt is "bcd".
    EXPECT_EQ(b.log(0, 0).at(1).req.append, aggregate("Response 1 (final answer: none):\n...bcd"));
}

// ---------------------------------------------------------------------------------------------
// Assistant prefix (prefix-dominance-trap experiment)

const std::string kPrefix = "First, 6 times 7 is 48.\n\nSo the product";

TEST(AssistantPrefix, EveryPathContinuesThePrefixAfterThePrefill) {
    const PromptSet& P = leap_test::fixed_prompts();
    const std::string PF = P.leap_prefill;
    const std::string start = PF + kPrefix;
    for (auto order : kOrders) {
        SCOPED_TRACE((int)order);
        ScriptedBackend b(by_request({
            {{0, 0}, {{" is", " 42 "}, {" s0", "</summarize>"}, {"ok ", "ok "}, {"42", "}"}}},
            {{0, 1}, {{" is", " 48 "}, {" s1", "</summarize>"}, {"hm ", "hm "}, {"48", "}"}}},
        }));
        b.order(order, 9);
        auto runs = drive(b, ProblemRun(0, math(kPrefix), config(Method::Leap, 2, 2, 2, 3, 2, 1), P));
        const ProblemRun& run = runs[0];
        // The backend evaluates prefill + prefix once, as the shared prompt.
        EXPECT_EQ(run.prefill(), start);
        EXPECT_EQ(run.method_prefill(), PF);
        for (int i = 0; i < 2; ++i) {
            SCOPED_TRACE(i);
            const Path& p = run.paths().at(i);
            const auto& L = b.log(0, i);
            EXPECT_TRUE(p.text.starts_with(start));
            // The first segment comes after the prefix: nothing appended, keep = all of it.
            expect_request(L.at(0), start.size(), "", TokenKind::Reasoning, 2, "seg1");
            EXPECT_EQ(L.at(0).before, start);
            EXPECT_EQ(p.segments.at(0), i == 0 ? " is 42 " : " is 48 ");
            // The segment has no blank line; the prefix's blank line is not a trim point.
            EXPECT_EQ(p.blocks.at(0).trimmed_text, "");
            EXPECT_EQ(p.blocks.at(0).summary_request, kReqNL);
            EXPECT_EQ(tok(p, TokenKind::Reasoning), 4);
        }
        EXPECT_EQ(run.paths().at(0).text, start + " is 42 " + kReqNL + " s0</summarize>" + comments({"So: s1"}) +
                                              "ok ok " + P.answer_opener_math + "42}");
        // The trace keeps the method's prefill and the prefix apart.
        const nlohmann::json t = run.trace();
        EXPECT_EQ(t["prefill"], PF);
        EXPECT_EQ(t["assistant_prefix"], kPrefix);
    }
}

TEST(AssistantPrefix, ReferenceParityTrimMayCutIntoThePrefix) {
    RunConfig c = config(Method::Leap, 2, 2, 2, 3, 2, 1);
    c.reference_parity = true;
    ScriptedBackend b(by_request({}, "w "));
    auto runs = drive(b, ProblemRun(0, math(kPrefix), c, leap_test::fixed_prompts()));
    // The last blank line of the whole text is inside the prefix.
    EXPECT_EQ(runs[0].paths().at(0).blocks.at(0).trimmed_text, "So the productw w ");
    EXPECT_TRUE(runs[0].paths().at(0).text.starts_with(leap_test::fixed_prompts().leap_prefill + "First, 6 times 7 is 48.\n\nRecap."));
}

TEST(AssistantPrefix, PlainPromptMethodsStartWithThePrefixAlone) {
    ScriptedBackend b(by_request({}, "w "));
    auto runs = drive(b, ProblemRun(0, math(kPrefix), config(Method::Independent, 2, 2, 1, 3, 1), leap_test::fixed_prompts()));
    EXPECT_EQ(runs[0].prefill(), kPrefix);
    EXPECT_EQ(runs[0].method_prefill(), "");
    EXPECT_EQ(runs[0].paths().at(1).text, kPrefix + "w w " + leap_test::fixed_prompts().answer_opener_math + "w ");
    EXPECT_EQ(b.log(0, 1).at(0).req.keep, kPrefix.size());
}

TEST(AssistantPrefix, MoaLaterLayersDropThePrefix) {
    RunConfig c = moa_config(2, 2000);
    c.n_paths = 1;
    c.segments = 1;
    ScriptedBackend b(by_request({{{0, 0}, {{" is 48.", kEos}, {"w ", kEos}}}}));
    auto runs = drive(b, ProblemRun(0, math(kPrefix), c, leap_test::fixed_prompts()));
    // Layer 1 continued the prefix; its excerpt shows the prefix too. Layer 2 starts at keep = 0.
    const std::string A = aggregate("Response 1 (final answer: none):\n" + kPrefix + " is 48.");
    EXPECT_EQ(b.log(0, 0).at(1).req.keep, 0u);
    EXPECT_EQ(b.log(0, 0).at(1).req.append, A);
    EXPECT_EQ(runs[0].paths().at(0).text, A + "w ");
}

// ---------------------------------------------------------------------------------------------
// Configuration, methods and the prompt keys

TEST(VariantsConfig, MethodsNamesAndBlocks) {
    EXPECT_EQ(parse_method("leap-s"), Method::LeapS);
    EXPECT_EQ(parse_method("moa"), Method::MixtureOfAgents);
    EXPECT_EQ(to_string(Method::LeapS), "leap-s");
    EXPECT_EQ(to_string(Method::MixtureOfAgents), "moa");
    try {
        parse_method("mixture");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("leap-s, moa"), std::string::npos) << e.what();
    }
    const RunConfig s = config(Method::LeapS, 4, 4, 3);
    EXPECT_TRUE(s.uses_protocol_prompt());
    EXPECT_TRUE(s.block_enabled(0));
    EXPECT_FALSE(s.block_enabled(1));
    const RunConfig m = config(Method::MixtureOfAgents, 4, 4, 3);
    EXPECT_FALSE(m.uses_protocol_prompt());
    EXPECT_FALSE(m.block_enabled(0));
    EXPECT_FALSE(m.block_enabled(1));
    RunConfig g = s;
    g.group_size = 3;
    EXPECT_EQ(g.group_of(2), 0);
    EXPECT_EQ(g.group_of(3), 1);
    // Defaults.
    const RunConfig d;
    EXPECT_EQ(d.group_size, 4);
    EXPECT_EQ(d.moa_layers, 2);
    EXPECT_EQ(d.moa_context_chars, 2000);
}

TEST(VariantsConfig, ValidateRejectsImpossibleValues) {
    auto with = [](Method m, auto f) {
        RunConfig c = config(m, 8, 4, 3);
        c.group_size = 4;
        f(c);
        return validate_error(c);
    };
    EXPECT_EQ(with(Method::LeapS, [](RunConfig&) {}), "");
    const std::string not_multiple = with(Method::LeapS, [](RunConfig& c) { c.n_paths = 6; });
    EXPECT_NE(not_multiple.find("multiple"), std::string::npos) << not_multiple;
    EXPECT_NE(not_multiple.find("--group-size 4"), std::string::npos) << not_multiple;
    EXPECT_NE(not_multiple.find("-N 6"), std::string::npos) << not_multiple;
    EXPECT_NE(with(Method::LeapS, [](RunConfig& c) { c.group_size = 0; }).find("--group-size"), std::string::npos);
    EXPECT_NE(with(Method::LeapS, [](RunConfig& c) { c.group_size = -2; }).find("-2"), std::string::npos);
    EXPECT_EQ(with(Method::LeapS, [](RunConfig& c) { c.group_size = 1; }), "");
    EXPECT_EQ(with(Method::LeapS, [](RunConfig& c) { c.group_size = 8; }), "");
    const std::string one_segment = with(Method::LeapS, [](RunConfig& c) { c.segments = 1; });
    EXPECT_NE(one_segment.find("at least 2 segments"), std::string::npos) << one_segment;
    EXPECT_NE(with(Method::LeapS, [](RunConfig& c) { c.single_block = 2; }).find("single-block"), std::string::npos);
    EXPECT_EQ(with(Method::LeapS, [](RunConfig& c) { c.single_block = 1; }), "");
    // The group size is ignored by the other methods.
    EXPECT_EQ(with(Method::Leap, [](RunConfig& c) { c.n_paths = 6; }), "");
    EXPECT_EQ(with(Method::MixtureOfAgents, [](RunConfig& c) { c.group_size = 0; }), "");

    EXPECT_EQ(with(Method::MixtureOfAgents, [](RunConfig&) {}), "");
    EXPECT_NE(with(Method::MixtureOfAgents, [](RunConfig& c) { c.moa_layers = 0; }).find("--moa-layers"), std::string::npos);
    EXPECT_NE(with(Method::MixtureOfAgents, [](RunConfig& c) { c.moa_context_chars = -1; }).find("--moa-context-chars"),
              std::string::npos);
    EXPECT_EQ(with(Method::MixtureOfAgents, [](RunConfig& c) { c.moa_context_chars = 0; }), "");
    EXPECT_EQ(with(Method::Leap, [](RunConfig& c) { c.moa_layers = 0; }), "");

    // The run refuses a bad configuration.
    RunConfig bad = config(Method::LeapS, 6, 4, 3);
    bad.group_size = 4;
    EXPECT_THROW(ProblemRun(0, math(), bad, leap_test::fixed_prompts()), Error);
}

TEST(VariantsPrompts, MoaKeysAreOptionalWithTheBuiltInWording) {
    const PromptSet builtin = PromptSet::builtin();
    // The compiled-in prompt file carries the same wording as the defaults.
    EXPECT_EQ(builtin.moa_aggregate_math, default_moa_aggregate(false));
    EXPECT_EQ(builtin.moa_aggregate_choice, default_moa_aggregate(true));
    EXPECT_NE(builtin.moa_aggregate_math.find("{responses}"), std::string::npos);
    EXPECT_NE(builtin.moa_aggregate_choice.find("{responses}"), std::string::npos);

    nlohmann::json j = nlohmann::json::parse(default_prompts_json());
    // prompts/leap-default.json has the keys, worded as the defaults.
    ASSERT_TRUE(j.contains("moa_aggregate_math"));
    ASSERT_TRUE(j.contains("moa_aggregate_choice"));
    EXPECT_EQ(j["moa_aggregate_math"], default_moa_aggregate(false));
    EXPECT_EQ(j["moa_aggregate_choice"], default_moa_aggregate(true));
    // An older prompt file without the keys loads with the defaults.
    nlohmann::json old = j;
    old.erase("moa_aggregate_math");
    old.erase("moa_aggregate_choice");
    const PromptSet o = PromptSet::from_json(old.dump(), "old");
    EXPECT_EQ(o.moa_aggregate_math, default_moa_aggregate(false));
    EXPECT_EQ(o.moa_aggregate_choice, default_moa_aggregate(true));
    // Given keys are used.
    nlohmann::json custom = j;
    custom["moa_aggregate_math"] = "Others said:\n{responses}\nMy turn.\n\n";
    const PromptSet cp = PromptSet::from_json(custom.dump(), "custom");
    EXPECT_EQ(cp.moa_aggregate_math, "Others said:\n{responses}\nMy turn.\n\n");
    RunConfig c = moa_config(2, 2000);
    c.n_paths = 1;
    c.segments = 1;
    ScriptedBackend b(by_request({{{0, 0}, {{"a ", kEos}, {"b ", kEos}}}}));
    auto runs = drive(b, ProblemRun(0, math(), c, cp));
    EXPECT_EQ(b.log(0, 0).at(1).req.append, "Others said:\nResponse 1 (final answer: none):\na\nMy turn.\n\n");
    // A key without the placeholder, or an empty one, is an error naming it.
    for (const char* bad : {"Others said something.", ""}) {
        nlohmann::json k = j;
        k["moa_aggregate_choice"] = bad;
        try {
            PromptSet::from_json(k.dump(), "bad");
            ADD_FAILURE() << "no error for '" << bad << "'";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("moa_aggregate_choice"), std::string::npos) << e.what();
        }
    }
}

}  // namespace

namespace {
// The compute-matched baseline: independent sampling gets at least LeaP's token budget.
TEST(EqualBudget, MorePathsOrLongerPathsCoverLeapsBudget) {
    leap::RunConfig l;
    l.n_paths = 4; l.segment_tokens = 100; l.segments = 5; l.summary_tokens = 20; l.answer_tokens = 10;
    l.router.k = 2;
    // per path: 5*100 + 4*20*3 + 10 = 750; 4 paths: 3000
    EXPECT_EQ(leap::token_budget(l), 3000);
    const leap::RunConfig p = leap::equal_budget_independent(l, leap::BudgetMatch::Paths);
    EXPECT_EQ(p.method, leap::Method::Independent);
    EXPECT_EQ(p.n_paths, 6);  // ceil(3000 / 510)
    EXPECT_EQ(p.segments, 5);
    EXPECT_GE(leap::token_budget(p), 3000);
    const leap::RunConfig n = leap::equal_budget_independent(l, leap::BudgetMatch::Length);
    EXPECT_EQ(n.n_paths, 4);
    EXPECT_EQ(n.segments, 8);  // ceil((750 - 10) / 100)
    EXPECT_GE(leap::token_budget(n), 3000);
    EXPECT_THROW(leap::parse_budget_match("tokens"), leap::Error);
    // MoA spends its budget once per layer: 3 layers of 4 paths x (5*100 + 10), no blocks.
    leap::RunConfig moa = l;
    moa.method = leap::Method::MixtureOfAgents;
    moa.moa_layers = 3;
    EXPECT_EQ(leap::token_budget(moa), 3 * 4 * 510);
    EXPECT_EQ(leap::equal_budget_independent(moa, leap::BudgetMatch::Paths).n_paths, 12);
}
}  // namespace
