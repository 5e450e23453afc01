#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/results.h"

namespace {

std::string tmp_file(const std::string& name) {
    std::filesystem::create_directories(LEAP_TEST_TMP);
    const std::string p = std::string(LEAP_TEST_TMP) + "/" + name;
    std::filesystem::remove(p);
    return p;
}

std::string read(const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ResultsFile, AppendsAndReadsBack) {
    const std::string p = tmp_file("results-a.jsonl");
    {
        leap::ResultsFile r(p);
        EXPECT_TRUE(r.lines().empty());
        r.append({{"id", "x"}, {"v", 1}});
        r.append({{"id", "y"}, {"v", 2}});
        EXPECT_THROW(r.append({{"id", "x"}}), leap::Error);  // never twice
    }
    leap::ResultsFile again(p);
    ASSERT_EQ(again.lines().size(), 2u);
    EXPECT_TRUE(again.has("x"));
    EXPECT_EQ(again.lines()[1]["v"], 2);
    EXPECT_EQ(read(p), "{\"id\":\"x\",\"v\":1}\n{\"id\":\"y\",\"v\":2}\n");
}

TEST(ResultsFile, PartialLastLineIsDroppedAndTruncated) {
    const std::string p = tmp_file("results-b.jsonl");
    std::ofstream(p) << "{\"id\":\"x\"}\n{\"id\":\"y\",\"v\":";  // killed mid-write
    leap::ResultsFile r(p);
    EXPECT_TRUE(r.dropped_partial_line());
    ASSERT_EQ(r.lines().size(), 1u);
    EXPECT_FALSE(r.has("y"));
    EXPECT_EQ(read(p), "{\"id\":\"x\"}\n");
    r.append({{"id", "y"}});
    EXPECT_EQ(read(p), "{\"id\":\"x\"}\n{\"id\":\"y\"}\n");
}

TEST(ResultsFile, CorruptOrDuplicateLineNamesFileAndLine) {
    const std::string p = tmp_file("results-c.jsonl");
    std::ofstream(p) << "{\"id\":\"x\"}\nnot json\n{\"id\":\"z\"}\n";
    try {
        leap::ResultsFile r(p);
        FAIL();
    } catch (const leap::Error& e) {
        EXPECT_NE(std::string(e.what()).find("results-c.jsonl', line 2"), std::string::npos) << e.what();
    }
    std::ofstream(p) << "{\"id\":\"x\"}\n{\"id\":\"x\"}\n";
    EXPECT_THROW(leap::ResultsFile r(p), leap::Error);
}

}  // namespace
