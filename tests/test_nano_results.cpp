// leap train --from-results: the LeaP-T fine-tuning set from leap eval results keeps correct paths
// with short summaries and splits their text into sampled and injected pieces.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/from_results.h"

using namespace leap;
using nlohmann::json;

namespace {
std::string write_results(const json& line, const std::string& name) {
    const auto d = std::filesystem::path(LEAP_TEST_TMP) / "nano";
    std::filesystem::create_directories(d);
    const std::string p = (d / name).string();
    std::ofstream(p) << line.dump() << "\n";
    return p;
}

json results_line(const std::string& summary) {
    const std::string request = "Let me take stock. <summarize> So far";
    const std::string injected = " <comment> Peer 1: \"So far [2] gives 5\" </comment>\n\nCue.";
    const std::string text = "[1]+3 4=7\n\n[2]+8 7=5\n\n" + request + summary + "</summarize>" + injected +
                             "\n\nmine 5, peers 5: keep 5\n\n</think>\n\n\\boxed{5}";
    json block = {{"block", 0}, {"summary_request", request}, {"summary", "So far" + summary},
                  {"injected", injected}, {"trimmed", "[3]"}, {"peers", json::array()}};
    json path0 = {{"text", text}, {"blocks", json::array({block})}, {"finish", "end-of-thinking"}};
    json path1 = {{"text", "[1]+3 4=8"}, {"blocks", json::array()}, {"finish", "forced"}};
    return {{"id", "nano-1"},
            {"paths", json::array({{{"correct", true}}, {{"correct", false}}})},
            {"trace", {{"user_message", "Problem"}, {"prefill", ""}, {"assistant_prefix", ""},
                       {"paths", json::array({path0, path1})}}}};
}

int words(const std::string& s) {
    int n = 0;
    bool in = false;
    for (char c : s) {
        const bool sp = c == ' ' || c == '\n';
        n += !sp && !in;
        in = !sp;
    }
    return n;
}
}  // namespace

TEST(NanoResults, KeepsCorrectPathsAndMarksInjectedText) {
    train::ResultsSelection st;
    const auto traces = train::traces_from_results(write_results(results_line(" [2] gives 5 "), "r1.jsonl"), words,
                                                   "**Final Answer** \\boxed{", 256, st);
    EXPECT_EQ(st.problems, 1);
    EXPECT_EQ(st.paths, 2);
    EXPECT_EQ(st.correct, 1);
    EXPECT_EQ(st.kept, 1);
    ASSERT_EQ(traces.size(), 1u);
    const auto& p = traces[0].pieces;
    ASSERT_EQ(p.size(), 5u);
    EXPECT_EQ(traces[0].user_message, "Problem");
    EXPECT_FALSE(p[0].injected);
    EXPECT_EQ(p[0].text, "[1]+3 4=7\n\n[2]+8 7=5\n\n");
    EXPECT_TRUE(p[1].injected);
    EXPECT_EQ(p[1].alt, "[3]");  // the trimmed text: what the model wrote before the block
    EXPECT_EQ(p[2].text, " [2] gives 5 </summarize>");
    EXPECT_TRUE(p[3].injected);
    EXPECT_FALSE(p[4].injected);
    std::string all;
    for (const auto& x : p) all += x.text;
    EXPECT_EQ(all, results_line("")["trace"]["paths"][0]["text"].get<std::string>().replace(
                       std::string("[1]+3 4=7\n\n[2]+8 7=5\n\nLet me take stock. <summarize> So far").size(), 0,
                       " [2] gives 5 "));
}

TEST(NanoResults, DropsPathsWithLongSummariesAndNamesBrokenInput) {
    train::ResultsSelection st;
    std::string longsum = " ";
    for (int i = 0; i < 300; ++i) longsum += "w ";
    EXPECT_TRUE(train::traces_from_results(write_results(results_line(longsum), "r2.jsonl"), words, "", 256, st).empty());
    EXPECT_EQ(st.long_summary, 1);
    json broken = results_line(" x ");
    broken["trace"]["paths"][0]["blocks"][0]["injected"] = "not in the text";
    try {
        train::traces_from_results(write_results(broken, "r3.jsonl"), words, "", 256, st);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("r3.jsonl:1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("comment block"), std::string::npos) << e.what();
    }
}
