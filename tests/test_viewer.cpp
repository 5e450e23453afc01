// The viewer page (src/viewer/page.cpp): the trace goes in intact and cannot leave its element.
#include <gtest/gtest.h>

#include <string>

#include "viewer/page.h"

namespace {

size_t count(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

std::string embedded(const std::string& page) {
    const std::string open = "<script id=\"leap-trace\" type=\"application/json\">";
    const size_t from = page.find(open) + open.size();
    return page.substr(from, page.find("</script>", from) - from);
}

}  // namespace

TEST(Viewer, ScriptSafeJsonWritesNoAngleBracket) {
    const nlohmann::json v = {{"text", "</script><!-- <b>"}, {"n", 1}};
    const std::string s = leap::viewer::script_safe_json(v);
    EXPECT_EQ(s.find('<'), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(s), v);
}

TEST(Viewer, ScriptSafeJsonReplacesInvalidUtf8) {
    const nlohmann::json v = {{"text", std::string("a\xff") + "b"}};
    EXPECT_EQ(nlohmann::json::parse(leap::viewer::script_safe_json(v))["text"], "a\xef\xbf\xbd" "b");
}

TEST(Viewer, PageHoldsTheTraceIntact) {
    const nlohmann::json trace = {{"problems", {{{"problem", "</script>/*LEAP_VIEWER_JS*/"}, {"paths", nlohmann::json::array()}}}}};
    const std::string page = leap::viewer::page_with_trace(trace);
    EXPECT_EQ(nlohmann::json::parse(embedded(page)), trace);
    EXPECT_EQ(count(page, "</script>"), 2u);  // the data element's and the code's
    EXPECT_EQ(count(page, "/*LEAP_VIEWER_"), 1u);  // only the one inside the trace's text
    EXPECT_NE(page.find("function renderTrace"), std::string::npos);  // the JS is inline
    EXPECT_NE(page.find(".paths {"), std::string::npos);  // so is the CSS
}

TEST(Viewer, LivePageHasNoData) {
    const std::string page = leap::viewer::live_page();
    EXPECT_EQ(embedded(page), "");
    EXPECT_EQ(count(page, "/*LEAP_VIEWER_"), 0u);
}
