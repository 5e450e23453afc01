// plan_appends: how appends share a llama_decode batch (backends/llama/batch_plan.h).
#include <gtest/gtest.h>

#include <random>

#include "backends/llama/batch_plan.h"

using leap::AppendDemand;
using leap::AppendFeed;
using leap::plan_appends;

namespace {
constexpr int kRoom = 1 << 20;

long total(const std::vector<AppendFeed>& f) {
    long t = 0;
    for (const AppendFeed& x : f) t += x.n + x.pad;
    return t;
}
}  // namespace

TEST(BatchPlan, ShortAppendsTakeWhatTheyNeedAndLongOnesShareTheRest) {
    const auto f = plan_appends({{0, 10, kRoom}, {5, 3000, kRoom}}, 2048, false);
    EXPECT_EQ(f[0].n, 10);
    EXPECT_EQ(f[1].n, 2038);
    EXPECT_EQ(f[0].pad + f[1].pad, 0);
}

TEST(BatchPlan, AnOverfullBatchIsSplitEvenly) {
    std::vector<AppendDemand> d;
    for (int s = 0; s < 16; ++s) d.push_back({s, 240 + s, kRoom});
    const auto f = plan_appends(d, 2048, true);
    for (const AppendFeed& x : f) {
        EXPECT_EQ(x.n, 128);
        EXPECT_EQ(x.pad, 0);
    }
}

TEST(BatchPlan, ARaggedRunOfConsecutiveSequencesIsPaddedToOneHeight) {
    const auto f = plan_appends({{3, 22, kRoom}, {4, 25, kRoom}, {5, 29, kRoom}, {6, 24, kRoom}}, 2048, true);
    const int want_n[] = {22, 25, 29, 24}, want_pad[] = {7, 4, 0, 5};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(f[i].n, want_n[i]);
        EXPECT_EQ(f[i].pad, want_pad[i]) << i;
        EXPECT_EQ(f[i].n + f[i].pad, 29);
    }
}

TEST(BatchPlan, NoPaddingForAUnifiedCache) {
    const auto f = plan_appends({{0, 22, kRoom}, {1, 29, kRoom}}, 2048, false);
    EXPECT_EQ(f[0].pad, 0);
    EXPECT_EQ(f[1].pad, 0);
}

TEST(BatchPlan, PaddingThatWouldCostMoreThanAQuarterIsNotAdded) {
    const auto f = plan_appends({{0, 10, kRoom}, {1, 500, kRoom}}, 2048, true);
    EXPECT_EQ(f[0].n, 10);
    EXPECT_EQ(f[1].n, 500);
    EXPECT_EQ(f[0].pad + f[1].pad, 0);
}

TEST(BatchPlan, SequencesWithAGapBetweenThemAreNotPaddedTogether) {
    // llama.cpp never puts sequences 0 and 2 in one micro-batch without sequence 1.
    const auto f = plan_appends({{0, 20, kRoom}, {2, 24, kRoom}}, 2048, true);
    EXPECT_EQ(f[0].pad + f[1].pad, 0);
}

TEST(BatchPlan, NoPaddingPastTheEndOfASequencesContext) {
    const auto f = plan_appends({{0, 22, 25}, {1, 29, kRoom}}, 2048, true);
    EXPECT_EQ(f[0].pad, 0);
    EXPECT_EQ(f[0].n, 22);
    const auto g = plan_appends({{0, 22, 29}, {1, 29, kRoom}}, 2048, true);
    EXPECT_EQ(g[0].pad, 7);
}

TEST(BatchPlan, PaddingThatDoesNotFitTheBudgetLowersTheRunsHeight) {
    // 80 real tokens in a budget of 84: padding all three to 29 would take 87, so the run's
    // height drops to 28 (84 / 3) and the tallest wait for the next batch.
    const auto f = plan_appends({{0, 29, kRoom}, {1, 22, kRoom}, {2, 29, kRoom}}, 84, true);
    EXPECT_LE(total(f), 84);
    EXPECT_EQ(f[0].n + f[0].pad, 28);
    EXPECT_EQ(f[0].n + f[0].pad, f[1].n + f[1].pad);
    EXPECT_EQ(f[1].n + f[1].pad, f[2].n + f[2].pad);
}

TEST(BatchPlan, FewerTokensThanSequencesFeedsOneEachUntilTheBudgetEnds) {
    std::vector<AppendDemand> d;
    for (int s = 0; s < 5; ++s) d.push_back({s, 40, kRoom});
    const auto f = plan_appends(d, 3, true);
    int fed = 0;
    for (const AppendFeed& x : f) {
        EXPECT_LE(x.n, 1);
        fed += x.n;
    }
    EXPECT_EQ(fed, 3);
    EXPECT_LE(total(f), 3);
}

TEST(BatchPlan, NeverPastTheBudgetNorPastWhatIsPending) {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 2000; ++trial) {
        const int k = 1 + (int)(rng() % 20);
        std::vector<AppendDemand> d;
        int seq = 0;
        for (int i = 0; i < k; ++i) {
            seq += 1 + (int)(rng() % 3 == 0);
            d.push_back({seq, 2 + (int)(rng() % 300), 1 + (int)(rng() % 400)});
        }
        std::shuffle(d.begin(), d.end(), rng);
        const int budget = 1 + (int)(rng() % 3000);
        const auto f = plan_appends(d, budget, rng() % 2 == 0);
        ASSERT_LE(total(f), budget);
        for (int i = 0; i < k; ++i) {
            ASSERT_GE(f[i].n, 0);
            ASSERT_LE(f[i].n, d[i].pending);
            ASSERT_GE(f[i].pad, 0);
            if (f[i].pad > 0) ASSERT_LE(f[i].n + f[i].pad, d[i].room);
        }
    }
}
