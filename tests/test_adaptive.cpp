// The confidence-aware options (docs/adaptive.md): token and group confidence over fixed logits,
// the confidence-weighted vote, the confidence routers, the quorum and pruning decisions, and
// early exit and pruning inside ProblemRun driven by the scripted backend.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/confidence.h"
#include "core/config.h"
#include "core/early_exit.h"
#include "core/error.h"
#include "core/problem_run.h"
#include "core/prompts.h"
#include "core/router.h"
#include "core/vote.h"
#include "eval/metrics.h"
#include "eval/outcome.h"
#include "eval/report.h"
#include "eval/report_adaptive.h"
#include "scripted_backend.h"

using namespace leap;
using leap_test::by_request;
using leap_test::kEos;
using leap_test::ScriptCall;
using leap_test::ScriptedBackend;

namespace {


RunConfig config(Method m, int n, int T, int M) {
    RunConfig c;
    c.method = m;
    c.n_paths = n;
    c.segment_tokens = T;
    c.segments = M;
    c.summary_tokens = 2;
    c.answer_tokens = 3;
    c.write_up_tokens = 4;
    c.router.k = 1;
    c.seed = 1;
    return c;
}

Problem math() { return {"m1", "What is 3 plus 4?", {}}; }

std::vector<ProblemRun> drive(ScriptedBackend& b, ProblemRun run) {
    std::vector<ProblemRun> v;
    v.push_back(std::move(run));
    return b.drive(std::move(v));
}

long reasoning(const Path& p) { return p.tokens[(size_t)TokenKind::Reasoning]; }

}  // namespace

// ---- token and group confidence -------------------------------------------------------------

TEST(Confidence, TokenConfidenceOverFixedLogits) {
    // Uniform over 4 tokens: every log-probability is -log 4, whatever k.
    const float uniform[] = {0, 0, 0, 0};
    EXPECT_NEAR(token_confidence(uniform, 4, 2), std::log(4.0), 1e-9);
    EXPECT_NEAR(token_confidence(uniform, 4, 4), std::log(4.0), 1e-9);
    // p = (1/2, 1/4, 1/4): the top 2 are 1/2 and 1/4, so C = (log 2 + log 4) / 2.
    const float halves[] = {(float)std::log(0.25), (float)std::log(0.5), (float)std::log(0.25)};
    EXPECT_NEAR(token_confidence(halves, 3, 2), (std::log(2.0) + std::log(4.0)) / 2, 1e-6);
    // k above the number of logits is capped: the mean over all three.
    EXPECT_NEAR(token_confidence(halves, 3, 20), (std::log(2.0) + 2 * std::log(4.0)) / 3, 1e-6);
    // Shifting every logit changes nothing (log-probabilities, not logits).
    const float shifted[] = {(float)std::log(0.25) + 7, (float)std::log(0.5) + 7, (float)std::log(0.25) + 7};
    EXPECT_NEAR(token_confidence(shifted, 3, 2), token_confidence(halves, 3, 2), 1e-5);
    // A banned token (-inf) is absent: two equal ones left, C = log 2.
    const float banned[] = {1, -std::numeric_limits<float>::infinity(), 1};
    EXPECT_NEAR(token_confidence(banned, 3, 3), std::log(2.0), 1e-9);
    // A peaked distribution is more confident than a flat one.
    const float peaked[] = {8, 0, 0, 0};
    EXPECT_GT(token_confidence(peaked, 4, 4), token_confidence(uniform, 4, 4));
    EXPECT_EQ(token_confidence(uniform, 0, 2), 0.0);
}

TEST(Confidence, GroupConfidenceOverASlidingWindow) {
    PathConfidence c(2);
    c.start_segment();
    c.add(1);
    EXPECT_DOUBLE_EQ(c.lowest_group(), 1.0);  // no full window yet: the mean so far
    c.add(3);                                  // window {1, 3}
    c.start_segment();
    c.add(5);                                  // window {3, 5}
    c.add(7);                                  // window {5, 7}
    EXPECT_DOUBLE_EQ(c.group(), 6.0);
    EXPECT_DOUBLE_EQ(c.lowest_group(), 2.0);
    EXPECT_DOUBLE_EQ(c.total().mean(), 4.0);
    ASSERT_EQ(c.segments().size(), 2u);
    EXPECT_EQ(c.segments()[0].tokens, 2);
    EXPECT_DOUBLE_EQ(c.segments()[0].lowest_group, 2.0);
    EXPECT_DOUBLE_EQ(c.segments()[1].lowest_group, 4.0);  // windows ending in it: {3,5}, {5,7}
    EXPECT_DOUBLE_EQ(c.segments()[1].group_at_end, 6.0);
    const auto j = c.to_json();
    EXPECT_EQ(j["tokens"], 4);
    EXPECT_DOUBLE_EQ(j["tail_group"].get<double>(), 6.0);
    EXPECT_EQ(j["segments"].size(), 2u);

    PathConfidence shorter(10);  // a path shorter than a window: its lowest group is its mean
    for (double v : {2.0, 4.0, 9.0}) shorter.add(v);
    EXPECT_DOUBLE_EQ(shorter.lowest_group(), 5.0);
}

// ---- the weighted vote, the routers, the decisions -------------------------------------------

TEST(Vote, ConfidenceWeightedVoteBesideMajority) {
    const std::vector<std::string> answers = {"1", "2", "2", ""};
    EXPECT_EQ(majority_vote(answers).answer, "2");
    const VoteResult w = weighted_vote(answers, {5, 1, 1, 9});
    EXPECT_EQ(w.answer, "1");  // 5 against 1 + 1; the empty answer's weight does not count
    EXPECT_EQ(w.votes, 1);
    EXPECT_EQ(w.voters, 3);
    EXPECT_EQ(weighted_vote(answers, {1, 1, 1, 0}).answer, "2");
    EXPECT_EQ(weighted_vote({"3", "4"}, {2, 2}).answer, "3");  // a tie: the lower index
    EXPECT_EQ(weighted_vote({"1/2", "0.5", "3"}, {1, 1, 1.5},
                            [](const std::string& a, const std::string& b) {
                                return (a == "1/2" || a == "0.5") == (b == "1/2" || b == "0.5");
                            }).answer,
              "1/2");  // equivalent answers pool their weight
    EXPECT_THROW(weighted_vote({"1"}, {1, 2}), Error);
    EXPECT_THROW(weighted_vote({"1"}, {-1}), Error);
    EXPECT_THROW(weighted_vote({"1"}, {std::nan("")}), Error);
}

TEST(Router, ConfidentSendsTheMostConfidentPeers) {
    RouterOptions opt;
    opt.kind = parse_router("confident");
    opt.k = 2;
    opt.confidence = {0.1, 0.9, 0.5, 0.7};
    const std::vector<std::string> s = {"aaaa", "bbbb", "aabb", "abab"};
    const auto out = route(s, {true, true, true, true}, opt);
    auto peers = [&](int i) {
        std::vector<int> v;
        for (const auto& c : out[i]) v.push_back(c.peer);
        return v;
    };
    EXPECT_EQ(peers(0), (std::vector<int>{1, 3}));
    EXPECT_EQ(peers(1), (std::vector<int>{3, 2}));
    EXPECT_EQ(peers(3), (std::vector<int>{1, 2}));
    // An inactive path is no one's peer.
    const auto without1 = route(s, {true, false, true, true}, opt);
    EXPECT_EQ(without1[0].at(0).peer, 3);
    EXPECT_TRUE(without1[1].empty());
    opt.confidence.pop_back();
    EXPECT_THROW(route(s, {true, true, true, true}, opt), Error);
    EXPECT_EQ(to_string(parse_router("confident-dispersed")), "confident-dispersed");
}

TEST(Router, ConfidentDispersedPicksTheLeastSimilarAmongTheConfident) {
    RouterOptions opt;
    opt.kind = RouterKind::ConfidentDispersed;
    opt.k = 1;
    // Path 0 hears from the more confident half of {1..4} = {1, 2}; 2 is the less similar.
    opt.confidence = {0.0, 0.9, 0.8, 0.2, 0.1};
    const std::vector<std::string> s = {"abcdef", "abcdeX", "zzzzzz", "zzzzzz", "abcdef"};
    const auto out = route(s, std::vector<bool>(5, true), opt);
    EXPECT_EQ(out[0].at(0).peer, 2);
    opt.kind = RouterKind::Dispersed;  // without the confidence: the least similar of all, 2 (ties: lower)
    EXPECT_EQ(route(s, std::vector<bool>(5, true), opt)[4].at(0).peer, 2);
}

TEST(EarlyExit, QuorumOfEquivalentAnswers) {
    EXPECT_EQ(quorum_of({"7", "", "8", "7"}, 2, {}), (std::vector<int>{0, 3}));
    EXPECT_TRUE(quorum_of({"7", "", "8", "9"}, 2, {}).empty());
    EXPECT_TRUE(quorum_of({"", "", ""}, 1, {}).empty());  // no answer never counts
    EXPECT_EQ(quorum_of({"", "5"}, 1, {}), (std::vector<int>{1}));
    // The grader's equivalence: 1/2 and 0.5 agree.
    install_grader_judge();
    const AnswerJudge& j = answer_judge();
    EXPECT_EQ(quorum_of({"1/2", "3", "0.5"}, 2, [&](const std::string& a, const std::string& b) { return j.same(a, b, false); }),
              (std::vector<int>{0, 2}));
    EXPECT_EQ(j.extract("so \\boxed{0.5}", false), "0.5");
}

TEST(EarlyExit, LowestConfidenceShare) {
    const std::vector<double> c = {0.3, 0.1, 0.9, 0.1, 0.5};
    const std::vector<bool> all(5, true);
    EXPECT_EQ(lowest_confidence(c, all, 0.4), (std::vector<int>{1, 3}));  // floor(0.4 x 5) = 2
    EXPECT_EQ(lowest_confidence(c, all, 0.2), (std::vector<int>{3}));     // a tie: the higher index goes
    EXPECT_TRUE(lowest_confidence(c, all, 0.0).empty());
    EXPECT_EQ(lowest_confidence(c, {true, false, true, false, false}, 0.99), (std::vector<int>{0}));  // one stays
    EXPECT_TRUE(lowest_confidence(c, {false, false, true, false, false}, 0.9).empty());
    EXPECT_THROW(lowest_confidence(c, {true}, 0.5), Error);
}

TEST(EarlyExit, ConfigurationErrorsNameTheFlag) {
    RunConfig c = config(Method::LeapT, 4, 6, 4);
    c.early_exit_quorum = 5;
    EXPECT_THROW(
        {
            try {
                c.validate();
            } catch (const Error& e) {
                EXPECT_NE(std::string(e.what()).find("--early-exit-quorum"), std::string::npos);
                throw;
            }
        },
        Error);
    c.early_exit_quorum = 2;
    c.validate();
    c.prune_share = 1.0;
    EXPECT_THROW(c.validate(), Error);
    c.prune_share = 0.5;
    c.validate();
    c.method = Method::Independent;
    EXPECT_THROW(c.validate(), Error);  // no blocks to prune at
    EXPECT_EQ(equal_budget_independent(config(Method::LeapT, 4, 6, 4), BudgetMatch::Paths).prune_share, 0.0);
    c = config(Method::LeapT, 4, 6, 4);
    c.confidence.window = 0;
    EXPECT_THROW(c.validate(), Error);
    EXPECT_THROW(parse_prune_at("during"), Error);
}

// ---- inside ProblemRun ----------------------------------------------------------------------

namespace {
// Paths 0 and 1 end their thinking at once and write \boxed{A0} and \boxed{A1}; the others
// think on (filler) until their budget.
ScriptedBackend answering_pair(const std::string& a0, const std::string& a1) {
    return ScriptedBackend(by_request({
        {{0, 0}, {{"a ", "</think>"}, {"\\boxed{" + a0 + "}", kEos}}},
        {{0, 1}, {{"b ", "c ", "</think>"}, {"\\boxed{" + a1 + "}", kEos}}},
    }));
}
}  // namespace

TEST(ProblemRunEarlyExit, StopsTheOtherPathsOnceAQuorumAgrees) {
    RunConfig c = config(Method::Independent, 4, 40, 1);
    c.early_exit_quorum = 2;
    ScriptedBackend b = answering_pair("7", "7");
    auto runs = drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
    const auto& paths = runs[0].paths();
    EXPECT_EQ(paths[0].finish, FinishReason::EndOfThinking);
    EXPECT_FALSE(paths[0].stopped());
    EXPECT_FALSE(paths[1].stopped());
    for (int i : {2, 3}) {
        const Path& p = paths[i];
        EXPECT_EQ(p.finish, FinishReason::EarlyExit) << i;
        EXPECT_TRUE(p.stopped());
        EXPECT_TRUE(p.answer.empty());
        // Its tokens up to the stop were spent and count; the budget (40) was not.
        EXPECT_GT(reasoning(p), 0);
        EXPECT_LT(reasoning(p), 10);
        EXPECT_EQ(b.log(0, i).back().result.reason, StopReason::Stopped);
        ASSERT_FALSE(p.notes.empty());
        EXPECT_NE(p.notes.back().find("early exit: paths 0, 1 agree on 7"), std::string::npos) << p.notes.back();
        const auto t = runs[0].trace()["paths"][i];
        EXPECT_EQ(t["finish"], "early-exit");
        EXPECT_EQ(t["stopped"], true);
    }
}

TEST(ProblemRunEarlyExit, NoQuorumNoStop) {
    for (const auto& [quorum, a1] : {std::pair{2, std::string("8")}, std::pair{0, std::string("7")}}) {
        RunConfig c = config(Method::Independent, 4, 40, 1);
        c.early_exit_quorum = quorum;
        ScriptedBackend b = answering_pair("7", a1);
        auto runs = drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
        for (int i : {2, 3}) {
            const Path& p = runs[0].paths()[i];
            EXPECT_FALSE(p.stopped()) << "quorum " << quorum << " path " << i;
            EXPECT_EQ(reasoning(p), 40);  // ran its whole budget, then a forced answer
            EXPECT_EQ(p.finish, FinishReason::Forced);
        }
    }
}

TEST(ProblemRunEarlyExit, StoppedPathsLeaveTheMetrics) {
    nlohmann::json line = {{"paths", {{{"correct", true}, {"correct_reference", true}},
                                      {{"correct", false}, {"correct_reference", false}, {"stopped", true}}}},
                           {"vote", {{"correct", true}}},
                           {"shortest_majority", {{"correct", true}}},
                           {"vote_reference", {{"correct", true}}},
                           {"vote_confidence", {{"correct", false}}},
                           {"tokens", {{"reasoning", 10}}}};
    const ProblemOutcome o = outcome_of(line);
    EXPECT_EQ(o.correct, (std::vector<bool>{true}));
    EXPECT_EQ(o.correct_reference, (std::vector<bool>{true}));
    EXPECT_EQ(o.stopped, 1);
    EXPECT_EQ(o.confidence_vote_correct, 0);
    const Summary s = summarize({o});
    EXPECT_DOUBLE_EQ(s.pass1.mean, 1.0);
    ASSERT_TRUE(s.cons_confidence.has_value());
    EXPECT_DOUBLE_EQ(s.cons_confidence->mean, 0.0);
    EXPECT_DOUBLE_EQ(s.to_json()["stopped_per_problem"].get<double>(), 1.0);
}

namespace {
// Four LeaP paths, one block: every token of path i has confidence i + 1 (path 0 the least sure).
std::vector<ProblemRun> pruned_run(PruneAt at, RouterKind router = RouterKind::Dispersed) {
    RunConfig c = config(Method::Leap, 4, 3, 2);
    c.prune_share = 0.5;
    c.prune_at = at;
    c.router.kind = router;
    ScriptedBackend b([](const ScriptCall& call) { return "t" + std::to_string(call.path) + " "; });
    b.confidence([](const ScriptCall& call) { return (float)(call.path + 1); });
    return drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
}
}  // namespace

TEST(ProblemRunPruning, BeforeTheBlockTheLeastConfidentStopWithoutSummarizing) {
    auto runs = pruned_run(PruneAt::Before);
    const auto& paths = runs[0].paths();
    for (int i : {0, 1}) {
        EXPECT_EQ(paths[i].finish, FinishReason::Pruned) << i;
        EXPECT_TRUE(paths[i].blocks.empty());
        EXPECT_EQ(paths[i].tokens[(size_t)TokenKind::Summary], 0);
        EXPECT_EQ(reasoning(paths[i]), 3);
        EXPECT_NE(paths[i].notes.back().find("pruned before block 1"), std::string::npos);
    }
    for (int i : {2, 3}) {
        ASSERT_EQ(paths[i].blocks.size(), 1u) << i;
        ASSERT_EQ(paths[i].blocks[0].peers.size(), 1u);
        EXPECT_EQ(paths[i].blocks[0].peers[0].peer, 5 - i);  // only the other survivor is a peer
        EXPECT_EQ(reasoning(paths[i]), 6);
        EXPECT_EQ(paths[i].finish, FinishReason::Forced);
    }
    // The trace records the confidence per segment.
    const auto t = runs[0].trace()["paths"];
    EXPECT_EQ(t[3]["confidence"]["segments"].size(), 2u);
    EXPECT_DOUBLE_EQ(t[3]["confidence"]["mean"].get<double>(), 4.0);
    EXPECT_EQ(t[0]["stopped"], true);
}

TEST(ProblemRunPruning, AfterTheBlockTheyHearTheirPeersThenAnswer) {
    auto runs = pruned_run(PruneAt::After);
    const auto& paths = runs[0].paths();
    for (int i : {0, 1}) {
        ASSERT_EQ(paths[i].blocks.size(), 1u) << i;
        EXPECT_FALSE(paths[i].blocks[0].injected.empty());
        EXPECT_EQ(paths[i].finish, FinishReason::Forced);
        EXPECT_FALSE(paths[i].stopped());  // it answers: the metrics count it
        EXPECT_EQ(reasoning(paths[i]), 3);
        EXPECT_EQ(runs[0].pruned_after_block(i), 0);
        EXPECT_EQ(runs[0].trace()["paths"][i]["pruned_after_block"], 0);
    }
    for (int i : {2, 3}) {
        EXPECT_EQ(reasoning(paths[i]), 6) << i;
        EXPECT_EQ(runs[0].pruned_after_block(i), -1);
    }
}

TEST(ProblemRunPruning, ConfidentRouterHearsTheMostConfidentPeer) {
    RunConfig c = config(Method::Leap, 4, 3, 2);
    c.router.kind = RouterKind::Confident;
    ScriptedBackend b([](const ScriptCall& call) { return "t" + std::to_string(call.path) + " "; });
    b.confidence([](const ScriptCall& call) { return (float)(call.path + 1); });
    auto runs = drive(b, ProblemRun(0, math(), c, leap_test::fixed_prompts()));
    for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(runs[0].paths()[i].blocks.at(0).peers.size(), 1u);
        EXPECT_EQ(runs[0].paths()[i].blocks[0].peers[0].peer, i == 3 ? 2 : 3) << i;
    }
}

// ---- the metrics and the report -------------------------------------------------------------

TEST(ConfidenceMetrics, AurocOfConfidenceForCorrectness) {
    EXPECT_DOUBLE_EQ(*auroc({{0.9, true}, {0.1, false}}), 1.0);
    EXPECT_DOUBLE_EQ(*auroc({{0.1, true}, {0.9, false}}), 0.0);
    EXPECT_DOUBLE_EQ(*auroc({{0.5, true}, {0.5, false}}), 0.5);  // a tie counts one half
    // 2 right (0.8, 0.3) x 2 wrong (0.5, 0.1): 3 of 4 pairs ordered right.
    EXPECT_DOUBLE_EQ(*auroc({{0.8, true}, {0.3, true}, {0.5, false}, {0.1, false}}), 0.75);
    EXPECT_FALSE(auroc({{0.8, true}}).has_value());
}

TEST(ConfidenceReport, FrontierAndSection) {
    Report r;
    r.benches = {"nano"};
    auto run = [&](const std::string& label, double pass1, double total, bool adaptive) {
        ReportRun rr;
        rr.label = label;
        rr.identity = {{"config", {{"method", "leap-t"}}}};
        if (adaptive) rr.identity["config"]["early_exit_quorum"] = 2;
        Summary s;
        s.n = 10;
        s.pass1 = {pass1, pass1 - 0.1, pass1 + 0.1};
        s.cons = {pass1, pass1 - 0.1, pass1 + 0.1};
        s.tokens_per_problem["total"] = total;
        rr.benches["nano"] = s;
        r.runs.push_back(rr);
    };
    run("plain", 0.6, 300, false);
    run("early exit", 0.6, 200, true);    // as good, cheaper: beats plain
    run("independent", 0.4, 100, false);  // cheapest: on the frontier
    run("worse", 0.5, 250, false);        // beaten by early exit
    EXPECT_EQ(frontier(r, "nano", false), (std::vector<size_t>{1, 2}));
    EXPECT_TRUE(has_adaptive_runs(r));
    const std::string h = adaptive_html(r);
    EXPECT_NE(h.find("chart-accuracy-tokens-nano"), std::string::npos);
    EXPECT_NE(h.find("Not beaten on Pass@1 and tokens: early exit; independent"), std::string::npos);
    EXPECT_NE(adaptive_markdown(r).find("| early exit | 200 |"), std::string::npos);
    r.runs[1].identity["config"].erase("early_exit_quorum");
    EXPECT_FALSE(has_adaptive_runs(r));
}
