// The method's text operations and helpers, unit by unit: trim, summary request, summary
// normalization, summary extraction, comment block, stop strings, voting, answer extraction and
// the prompt set.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/answer.h"
#include "core/block.h"
#include "core/error.h"
#include "core/prompts.h"
#include "core/stop.h"
#include "core/vote.h"

using namespace leap;

namespace {

// ---------------------------------------------------------------------------------------------
// trim_cut

TEST(BlockTrim, DropsTheLastUnfinishedParagraph) {
    const std::string t = "ab\n\ncd\n\nef";
    EXPECT_EQ(trim_cut(t, 0, false), 8u);  // keeps "ab\n\ncd\n\n"
    EXPECT_EQ(t.substr(0, trim_cut(t, 0, false)), "ab\n\ncd\n\n");
    EXPECT_EQ(trim_cut(t, 0, true), 8u);
    // A text ending on a blank line loses nothing.
    EXPECT_EQ(trim_cut("ab\n\n", 0, false), 4u);
    // Three newlines: the blank line nearest the end counts.
    EXPECT_EQ(trim_cut("a\n\n\nb", 0, false), 4u);
    EXPECT_EQ(trim_cut("", 0, false), 0u);
}

TEST(BlockTrim, NoBlankLineNothingTrimmed) {
    EXPECT_EQ(trim_cut("abc def", 0, false), 7u);
    EXPECT_EQ(trim_cut("abc def", 0, true), 7u);
    EXPECT_EQ(trim_cut("one\ntwo\n", 0, false), 8u);  // single newlines are not paragraph breaks
}

TEST(BlockTrim, NeverCutsBeforeTheSegmentUnlessReferenceParity) {
    // "pre\n\n" is earlier text (e.g. the prefill); the segment "seg text" has no blank line.
    const std::string t = "pre\n\nseg text";
    EXPECT_EQ(trim_cut(t, 5, false), t.size());
    EXPECT_EQ(trim_cut(t, 5, true), 5u);  // the reference drops the whole segment
    // A blank line further back: parity cuts into the earlier segment's text.
    const std::string u = "pre\n\nmid\n\n" "cue seg";
    EXPECT_EQ(trim_cut(u, 12, false), u.size());
    EXPECT_EQ(trim_cut(u, 12, true), 10u);
    // A blank line inside the segment is used either way.
    const std::string v = "pre\n\nseg\n\nx";
    EXPECT_EQ(trim_cut(v, 5, false), 10u);
    EXPECT_EQ(trim_cut(v, 5, true), 10u);
}

// ---------------------------------------------------------------------------------------------
// summary_request

TEST(BlockSummaryRequest, BlankLineThenTriggerTagAndOpener) {
    EXPECT_EQ(summary_request("text\n\n", "Recap.", "So far"), "Recap. <summarize> So far");
    EXPECT_EQ(summary_request("text\n", "Recap.", "So far"), "\nRecap. <summarize> So far");
    EXPECT_EQ(summary_request("text", "Recap.", "So far"), "\n\nRecap. <summarize> So far");
    EXPECT_EQ(summary_request("", "Recap.", "So far"), "\n\nRecap. <summarize> So far");
    EXPECT_EQ(summary_request("\n", "T", "O"), "\nT <summarize> O");
}

// ---------------------------------------------------------------------------------------------
// normalize_summary

std::string apply(std::string_view generated, const SummaryFix& f) {
    return std::string(generated.substr(0, f.keep)) + f.append;
}

TEST(BlockNormalize, ClosedSummaryIsKept) {
    const auto f = normalize_summary(" a b </summarize>", "</think>");
    EXPECT_EQ(f.keep, 17u);
    EXPECT_EQ(f.append, "");
}

TEST(BlockNormalize, PartialClosingTagIsCompleted) {
    auto f = normalize_summary(" a b </summ", "</think>");
    EXPECT_EQ(f.keep, 11u);
    EXPECT_EQ(f.append, "arize>");
    f = normalize_summary(" a b </summarize", "</think>");
    EXPECT_EQ(f.append, ">");
    f = normalize_summary(" a b <", "</think>");
    EXPECT_EQ(f.append, "/summarize>");
    f = normalize_summary(" a b </", "</think>");
    EXPECT_EQ(apply(" a b </", f), " a b </summarize>");
}

TEST(BlockNormalize, MissingClosingTagGetsEllipsis) {
    auto f = normalize_summary(" a b", "</think>");
    EXPECT_EQ(f.keep, 4u);
    EXPECT_EQ(f.append, "... </summarize>");
    f = normalize_summary("", "</think>");
    EXPECT_EQ(f.keep, 0u);
    EXPECT_EQ(f.append, "... </summarize>");
    // "</summar>" is not a prefix of the tag.
    EXPECT_EQ(apply(" x </summar>", normalize_summary(" x </summar>", "</think>")), " x </summar>... </summarize>");
}

TEST(BlockNormalize, EndOfThinkingIsRemoved) {
    auto f = normalize_summary(" a b </think>", "</think>");
    EXPECT_EQ(f.keep, 5u);
    EXPECT_EQ(f.append, "... </summarize>");
    // In the middle: the rest after it is re-appended.
    f = normalize_summary(" a </think> b </summarize>", "</think>");
    EXPECT_EQ(f.keep, 3u);
    EXPECT_EQ(f.append, " b </summarize>");
    EXPECT_EQ(apply(" a </think> b </summarize>", f), " a  b </summarize>");
    // A partial closing tag before the marker.
    EXPECT_EQ(apply(" x </summ</think>", normalize_summary(" x </summ</think>", "</think>")), " x </summarize>");
    // Twice.
    EXPECT_EQ(apply("</think>a</think>", normalize_summary("</think>a</think>", "</think>")), "a... </summarize>");
    // Another model's marker.
    EXPECT_EQ(apply(" a <|end|>", normalize_summary(" a <|end|>", "<|end|>")), " a ... </summarize>");
    EXPECT_EQ(apply(" a </think>", normalize_summary(" a </think>", "")), " a </think>... </summarize>");
}

// ---------------------------------------------------------------------------------------------
// last_summary

TEST(BlockLastSummary, TextBetweenTheLastTagsTrimmed) {
    EXPECT_EQ(last_summary("x <summarize> first </summarize> y <summarize>  second one \n</summarize> tail"),
              "second one");
    EXPECT_EQ(last_summary("x <summarize> only</summarize>"), "only");
    EXPECT_EQ(last_summary("no tags"), "");
    EXPECT_EQ(last_summary("x <summarize> open to the end \n"), "open to the end");
    EXPECT_EQ(last_summary("<summarize></summarize>"), "");
    EXPECT_EQ(last_summary("<summarize>\tIn short, 5.\r\n</summarize>"), "In short, 5.");
}

// ---------------------------------------------------------------------------------------------
// comment_block

TEST(BlockComment, PeersInSelectionOrderThenCue) {
    const PromptSet p = PromptSet::builtin();
    const std::vector<std::string> summaries{"s zero", "s one", "s two"};
    const std::vector<RouteChoice> peers{{2, 0.1}, {0, 0.3}};
    EXPECT_EQ(comment_block(peers, summaries, p),
              " <comment> Peer 1: \"s two\"\nPeer 2: \"s zero\" </comment>\n\n" + p.comment_cue);
    EXPECT_EQ(p.comment_cue.rfind("Let me check whether any of these peers", 0), 0u);
    EXPECT_EQ(comment_block({{1, 1.0}}, summaries, p), " <comment> Peer 1: \"s one\" </comment>\n\n" + p.comment_cue);
    // The same peer twice (hybrid with reference parity) is quoted twice.
    EXPECT_EQ(comment_block({{1, 1.0}, {1, 1.0}}, summaries, p),
              " <comment> Peer 1: \"s one\"\nPeer 2: \"s one\" </comment>\n\n" + p.comment_cue);
}

TEST(BlockComment, NoPeersNoComments) {
    const PromptSet p = PromptSet::builtin();
    EXPECT_EQ(comment_block({}, {"a"}, p), " <comment> " + p.no_comment_text + " </comment>\n\n" + p.no_comment_cue);
    EXPECT_EQ(p.no_comment_text, "No comments from peers this time.");
    EXPECT_NE(p.no_comment_cue, p.comment_cue);
}

// ---------------------------------------------------------------------------------------------
// find_stop

const std::vector<std::string> kThink{"</think>"};

TEST(StopFind, WholeStopInNewText) {
    const auto m = find_stop("abc</think>", 0, kThink);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->pos, 3u);
    EXPECT_EQ(m->index, 0);
    EXPECT_EQ(m->len, 8u);
    EXPECT_EQ(m->end(), 11u);
    const auto n = find_stop("abc</think>xyz", 3, kThink);  // overshoot after it
    ASSERT_TRUE(n);
    EXPECT_EQ(n->end(), 11u);
}

TEST(StopFind, AcrossTokenBoundaries) {
    // "abc</th" was there, "ink>def" is new.
    auto m = find_stop("abc</think>def", 7, kThink);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->pos, 3u);
    // Split after the first byte and before the last one.
    EXPECT_TRUE(find_stop("abc</think>", 4, kThink));
    EXPECT_TRUE(find_stop("abc</think>", 10, kThink));
    // A piece at a time, as a backend sees it.
    std::string text;
    std::optional<StopMatch> found;
    for (std::string piece : {"x <", "/", "thi", "nk", ">", " tail"}) {
        const size_t old = text.size();
        text += piece;
        found = find_stop(text, old, kThink);
        if (found) break;
    }
    ASSERT_TRUE(found);
    EXPECT_EQ(text, "x </think>");
    EXPECT_EQ(found->pos, 2u);
}

TEST(StopFind, MatchesInOldTextAreNotReportedAgain) {
    EXPECT_FALSE(find_stop("</think> more", 9, kThink));
    EXPECT_FALSE(find_stop("</think> more", 8, kThink));  // ends exactly where new text begins
    EXPECT_TRUE(find_stop("</think> more", 7, kThink));
    EXPECT_FALSE(find_stop("abc</th", 0, kThink));  // only a prefix so far
    EXPECT_FALSE(find_stop("", 0, kThink));
    EXPECT_FALSE(find_stop("</think>", 0, {}));
    EXPECT_FALSE(find_stop("</think>", 0, {""}));  // an empty stop string never matches
}

TEST(StopFind, EarliestOfSeveral) {
    const std::vector<std::string> stops{"</summarize>", "</think>"};
    auto m = find_stop("x </think> y </summarize>", 0, stops);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 1);
    EXPECT_EQ(m->pos, 2u);
    m = find_stop("x </summarize> y </think>", 0, stops);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 0);
    EXPECT_EQ(m->end(), 14u);
    // The first occurrence of the same stop after new_from.
    m = find_stop("a</think>b</think>", 1, kThink);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->pos, 1u);
    m = find_stop("a</think>b</think>", 10, kThink);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->pos, 10u);
    // Same start: the longer stop wins.
    const std::vector<std::string> overlapping{"<sum", "<summarize>"};
    m = find_stop("a<summarize>", 0, overlapping);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 1);
    EXPECT_EQ(m->len, 11u);
    m = find_stop("a<sum", 0, overlapping);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 0);
}

// ---------------------------------------------------------------------------------------------
// majority_vote

TEST(VoteMajority, GroupsByCanonicalAnswer) {
    const auto v = majority_vote({"25", "025", "7", "7", " 25"});
    EXPECT_EQ(v.answer, "25");  // as written by the group's first path
    EXPECT_EQ(v.votes, 3);
    EXPECT_EQ(v.voters, 5);
    EXPECT_EQ(v.majority, (std::vector<int>{0, 1, 4}));
    const auto w = majority_vote({"\\dfrac{1}{2}", "3", "\\frac{1}{2}", "$\\frac{1}{2}$"});
    EXPECT_EQ(w.answer, "\\dfrac{1}{2}");
    EXPECT_EQ(w.votes, 3);
}

TEST(VoteMajority, EmptyAnswersDoNotVote) {
    const auto v = majority_vote({"", "3", ""});
    EXPECT_EQ(v.answer, "3");
    EXPECT_EQ(v.votes, 1);
    EXPECT_EQ(v.voters, 1);
    EXPECT_EQ(v.majority, (std::vector<int>{1}));
    const auto none = majority_vote({"", ""});
    EXPECT_EQ(none.answer, "");
    EXPECT_EQ(none.votes, 0);
    EXPECT_EQ(none.voters, 0);
    EXPECT_TRUE(none.majority.empty());
    EXPECT_EQ(majority_vote({}).voters, 0);
}

TEST(VoteMajority, TiesGoToTheLowestIndex) {
    EXPECT_EQ(majority_vote({"7", "5", "5", "7"}).answer, "7");
    EXPECT_EQ(majority_vote({"5", "7", "7", "5"}).answer, "5");
    EXPECT_EQ(majority_vote({"", "9", "8"}).answer, "9");
}

TEST(VoteMajority, ShortestMajorityBreaksTiesByMeanLength) {
    const std::vector<std::string> a{"7", "5", "5", "7"};
    const std::vector<long> len{100, 10, 20, 90};  // mean 95 for "7", 15 for "5"
    const auto v = majority_vote(a, &len);
    EXPECT_EQ(v.answer, "5");
    EXPECT_EQ(v.majority, (std::vector<int>{1, 2}));
    EXPECT_EQ(majority_vote(a).answer, "7");  // plain majority ignores length
    // Length never outweighs votes.
    const std::vector<long> len3{100, 100, 1};
    EXPECT_EQ(majority_vote({"7", "7", "5"}, &len3).answer, "7");
    // Equal mean length: lowest index.
    const std::vector<long> same{10, 20, 10, 20};  // both means 15
    EXPECT_EQ(majority_vote({"4", "6", "6", "4"}, &same).answer, "4");
    EXPECT_EQ(majority_vote({"6", "4", "4", "6"}, &same).answer, "6");
}

// ---------------------------------------------------------------------------------------------
// Answers

TEST(AnswerBoxed, LastBalancedBox) {
    EXPECT_EQ(last_boxed("so \\boxed{\\frac{1}{2}} done"), "\\frac{1}{2}");
    EXPECT_EQ(last_boxed("\\boxed{a{b{c}}d}"), "a{b{c}}d");
    EXPECT_EQ(last_boxed("\\boxed{1} then \\boxed{2}"), "2");
    EXPECT_EQ(last_boxed("\\fbox{5}"), "5");
    EXPECT_EQ(last_boxed("\\boxed{3} and \\fbox{4}"), "4");
    EXPECT_EQ(last_boxed("\\fbox{4} and \\boxed{3}"), "3");
    EXPECT_EQ(last_boxed("\\boxed {8}"), "8");
    EXPECT_EQ(last_boxed("\\boxed 8"), "");
    EXPECT_EQ(last_boxed("no box"), "");
    EXPECT_EQ(last_boxed("\\boxed{}"), "");
}

TEST(AnswerBoxed, UnbalancedIsCutOff) {
    EXPECT_EQ(last_boxed("\\boxed{12"), "");
    EXPECT_EQ(last_boxed("\\boxed{\\frac{1}{2}"), "");
    // The last box counts even when an earlier one is complete.
    EXPECT_EQ(last_boxed("\\boxed{5} ... \\boxed{6"), "");
    EXPECT_EQ(extract_answer("**Final Answer** \\boxed{42}.", false), "42");
}

TEST(AnswerChoice, Letters) {
    EXPECT_EQ(choice_letter("ANSWER: C"), "C");
    EXPECT_EQ(choice_letter("blah\nANSWER: B\n"), "B");
    EXPECT_EQ(choice_letter("{\"ANSWER\": \"C\"}"), "C");
    EXPECT_EQ(choice_letter("**ANSWER:** D"), "D");
    EXPECT_EQ(choice_letter("\\boxed{C}"), "C");
    EXPECT_EQ(choice_letter("ANSWER: A ... ANSWER: B"), "B");
    EXPECT_EQ(choice_letter("ANSWER: Clearly"), "");
    EXPECT_EQ(choice_letter("ANSWER: c"), "");
    EXPECT_EQ(choice_letter("\\boxed{42}"), "");
    EXPECT_EQ(choice_letter("no answer"), "");
    EXPECT_EQ(choice_letter("ANSWER: Clearly \\boxed{B}"), "B");
    EXPECT_EQ(extract_answer("\n\nANSWER: A", true), "A");
    EXPECT_EQ(extract_answer("\n\nANSWER: A", false), "");
}

TEST(AnswerCanonical, Forms) {
    EXPECT_EQ(canonical_answer("025"), "25");
    EXPECT_EQ(canonical_answer("25"), "25");
    EXPECT_EQ(canonical_answer("000"), "0");
    EXPECT_EQ(canonical_answer(" 1 2 "), "12");
    EXPECT_EQ(canonical_answer("\\left( 1, 2 \\right)"), "(1,2)");
    EXPECT_EQ(canonical_answer("\\dfrac{3}{4}"), canonical_answer("\\frac{3}{4}"));
    EXPECT_EQ(canonical_answer("$x$"), "x");
    EXPECT_EQ(canonical_answer("0.5"), "0.5");  // not an integer: zeros stay
    EXPECT_NE(canonical_answer("25"), canonical_answer("250"));
}

// ---------------------------------------------------------------------------------------------
// Prompt sets

std::string error_of(std::string_view json, const std::string& origin) {
    try {
        PromptSet::from_json(json, origin);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

nlohmann::json default_json() { return nlohmann::json::parse(default_prompts_json()); }

TEST(PromptsJson, BuiltinSet) {
    const PromptSet p = PromptSet::builtin();
    EXPECT_EQ(p.name, "leap-default");
    EXPECT_EQ(p.end_of_thinking, "</think>");
    EXPECT_GE(p.triggers.size(), 5u);
    EXPECT_GE(p.openers.size(), 5u);
    EXPECT_NE(p.leap_user_math.find("{problem}"), std::string::npos);
    EXPECT_NE(p.leap_user_math.find("<summarize>"), std::string::npos);
    EXPECT_NE(p.leap_user_choice.find("{options}"), std::string::npos);
    EXPECT_EQ(p.plain_user_math.find("<summarize>"), std::string::npos);
    EXPECT_TRUE(p.leap_prefill.ends_with("\n\n"));
    EXPECT_NE(p.answer_opener_choice.find("{eot}"), std::string::npos);
    EXPECT_TRUE(p.answer_opener_math.ends_with("\\boxed{"));
    const PromptSet q = PromptSet::from_json(default_prompts_json(), "copy");
    EXPECT_EQ(q.triggers, p.triggers);
    EXPECT_EQ(q.leap_prefill, p.leap_prefill);
}

TEST(PromptsJson, MissingKeyNamesKeyAndOrigin) {
    for (const char* key : {"comment_cue", "leap_prefill", "end_of_thinking", "answer_opener_math"}) {
        nlohmann::json j = default_json();
        j.erase(key);
        const std::string e = error_of(j.dump(), "my-prompts.json");
        EXPECT_NE(e.find("my-prompts.json"), std::string::npos) << e;
        EXPECT_NE(e.find(key), std::string::npos) << e;
    }
    nlohmann::json j = default_json();
    j["no_comment_text"] = "";
    EXPECT_NE(error_of(j.dump(), "f").find("no_comment_text"), std::string::npos);
    j = default_json();
    j["comment_cue"] = 3;
    EXPECT_NE(error_of(j.dump(), "f").find("comment_cue"), std::string::npos);
}

TEST(PromptsJson, BadListsAndTemplates) {
    nlohmann::json j = default_json();
    j["triggers"] = nlohmann::json::array();
    EXPECT_NE(error_of(j.dump(), "f").find("triggers"), std::string::npos);
    j = default_json();
    j["openers"] = {"ok", 5};
    EXPECT_NE(error_of(j.dump(), "f").find("openers"), std::string::npos);
    j = default_json();
    j["openers"] = "not a list";
    EXPECT_NE(error_of(j.dump(), "f").find("openers"), std::string::npos);
    j = default_json();
    j["plain_user_math"] = "no placeholder";
    EXPECT_NE(error_of(j.dump(), "f").find("{problem}"), std::string::npos);
    j = default_json();
    j.erase("name");
    EXPECT_EQ(PromptSet::from_json(j.dump(), "unnamed.json").name, "unnamed.json");
}

TEST(PromptsJson, BadJsonNamesOrigin) {
    std::string e = error_of("{not json", "broken.json");
    EXPECT_NE(e.find("broken.json"), std::string::npos) << e;
    EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
    e = error_of("[1, 2]", "array.json");
    EXPECT_NE(e.find("array.json"), std::string::npos) << e;
    EXPECT_NE(error_of("", "empty.json").find("empty.json"), std::string::npos);
}

TEST(PromptsTemplate, FillAndOptions) {
    const Choices c{{"B", "two"}, {"A", "one"}};
    EXPECT_EQ(format_options(c), "A) one\nB) two");
    EXPECT_EQ(format_options({}), "");
    // The problem text is inserted last, so braces in it are left alone.
    EXPECT_EQ(fill_template("Q: {problem}\n{options}\n{eot}", "x {options} {eot} y", c, "</think>"),
              "Q: x {options} {eot} y\nA) one\nB) two\n</think>");
    EXPECT_EQ(fill_template("{eot}{eot}", "", {}, "E"), "EE");
}

}  // namespace
