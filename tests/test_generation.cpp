#include <gtest/gtest.h>

#include "core/generation.h"

namespace {

leap::GenerateRequest request(int max_tokens, std::vector<std::string> stops) {
    leap::GenerateRequest r;
    r.max_tokens = max_tokens;
    r.stops = std::move(stops);
    return r;
}

TEST(Generation, StopStringAcrossTokensCutsTheOvershoot) {
    leap::Generation g;
    g.start(request(10, {"</summarize>"}), 3);
    size_t over = 99;
    EXPECT_FALSE(g.add("it is 7 </sum", over));
    EXPECT_EQ(over, 0u);
    const auto why = g.add("marize>\n\nNext", over);
    ASSERT_TRUE(why);
    EXPECT_EQ(*why, leap::StopReason::StopString);
    EXPECT_EQ(over, std::string("\n\nNext").size());
    EXPECT_EQ(g.text, "it is 7 </summarize>");
    const leap::GenerateResult r = g.finish(*why);
    EXPECT_EQ(r.text, "it is 7 </summarize>");
    EXPECT_EQ(r.n_sampled, 2);
    EXPECT_EQ(r.n_appended, 3);
    EXPECT_TRUE(g.text.empty());
}

TEST(Generation, BudgetEndsTheRequestAndStartResets) {
    leap::Generation g;
    g.start(request(2, {"</think>"}), 0);
    size_t over = 0;
    EXPECT_FALSE(g.add("a", over));
    const auto why = g.add("b", over);
    ASSERT_TRUE(why);
    EXPECT_EQ(*why, leap::StopReason::Budget);
    g.start(request(5, {}), 1);
    EXPECT_TRUE(g.text.empty());
    EXPECT_EQ(g.n_sampled, 0);
    EXPECT_EQ(g.n_appended, 1);
    // A stop string that completes on the last allowed token is reported as a stop.
    g.start(request(1, {"x"}), 0);
    EXPECT_EQ(*g.add("x", over), leap::StopReason::StopString);
}

}  // namespace
