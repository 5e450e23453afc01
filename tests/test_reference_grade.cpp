// The reference implementation's answer check (eval/reference_grade.h), the results fields that
// carry it (and LeaP-S's representatives), and the metrics that summarize them beside ours.
#include <gtest/gtest.h>

#include "core/problem_run.h"
#include "eval/grader.h"
#include "eval/metrics.h"
#include "eval/outcome.h"
#include "eval/reference_grade.h"
#include "scripted_backend.h"

namespace {

using namespace leap;

TEST(ReferenceGrade, LastBoxedElseLastNumberLowercased) {
    EXPECT_EQ(reference_extract("so \\boxed{12} then \\boxed{\\frac{1}{2}} done 7", false), "\\frac{1}{2}");
    EXPECT_EQ(reference_extract("We get 3, then 4.5 and finally -17 apples.", false), "-17");
    EXPECT_EQ(reference_extract("The value is 3.75", false), "3.75");
    EXPECT_EQ(reference_extract("no number here", false), "");
    EXPECT_EQ(reference_extract("\\boxed{X = 3}", false), "x = 3");
    // Multiple choice: the last boxed, else what follows the last "answer:".
    EXPECT_EQ(reference_extract("Answer: B\nwait... ANSWER: C", true), "c");
    EXPECT_EQ(reference_extract("pick \\boxed{D}. ANSWER: A", true), "d");
    EXPECT_EQ(reference_extract("no field", true), "");
}

TEST(ReferenceGrade, SubstringMatchDiffersFromLeapsGrader) {
    // Accepted by the reference, refused by leap: a number the gold occurs in.
    EXPECT_TRUE(reference_correct("125", "25"));
    EXPECT_FALSE(grade_math("\\boxed{125}", "25").correct);
    // Refused by the reference, accepted by leap: the same value written otherwise.
    EXPECT_FALSE(reference_correct("0.5", "\\frac{1}{2}"));
    EXPECT_TRUE(grade_math("\\boxed{0.5}", "\\frac{1}{2}").correct);
    // Without a box the reference still reads the last number; leap needs a final-answer phrase.
    EXPECT_EQ(reference_extract("We tried 42 and then 7 more", false), "7");
    EXPECT_EQ(extract_math_answer("We tried 42 and then 7 more"), "");
    EXPECT_TRUE(reference_correct("c", "C"));
    EXPECT_TRUE(reference_correct("c or d", "C"));  // substring: a hedge passes
    EXPECT_FALSE(reference_correct("", "C"));
}

// A LeaP-S run on the scripted backend: the results line holds each path's reference verdict
// and whether it was its group's representative; outcome_of and the summary carry both.
TEST(ReferenceGrade, ResultsLineAndSummaryCarryReferenceAndRepresentatives) {
    RunConfig c;
    c.method = Method::LeapS;
    c.n_paths = 4;
    c.group_size = 2;
    c.segments = 3;
    c.single_block = 0;
    c.segment_tokens = 3;
    c.summary_tokens = 2;
    c.answer_tokens = 3;
    c.router.k = 1;
    // Paths 0 and 2 (the representatives) answer 125; 1 and 3 answer 25. Gold 25.
    leap_test::ScriptedBackend b([](const leap_test::ScriptCall& call) -> std::string {
        if (call.kind == TokenKind::Answer) {
            if (call.sampled == 0) return call.path % 2 == 0 ? "125" : "25";
            return "}";
        }
        if (call.kind == TokenKind::Summary) return call.sampled == 0 ? " s" : "</summarize>";
        return " r";
    });
    std::vector<ProblemRun> runs;
    Item item{Problem{"q1", "What is 5 squared?", {}}, "25", {}};
    static const PromptSet prompts = PromptSet::builtin();  // a ProblemRun keeps a reference to it
    runs.emplace_back(0, item.problem, c, prompts);
    runs = b.drive(std::move(runs));
    const nlohmann::json line = graded_line(runs[0], item, "test", nlohmann::json::object());
    ASSERT_EQ(line["paths"].size(), 4u);
    for (int i = 0; i < 4; ++i) {
        SCOPED_TRACE(i);
        const auto& p = line["paths"][i];
        EXPECT_EQ(p["representative"].get<bool>(), i % 2 == 0);
        EXPECT_EQ(p["correct"].get<bool>(), i % 2 == 1);  // leap: 125 is not 25
        EXPECT_TRUE(p["correct_reference"].get<bool>());   // reference: "25" occurs in "125"
    }
    EXPECT_FALSE(line["vote_representatives"]["correct"].get<bool>());
    const ProblemOutcome o = outcome_of(line);
    EXPECT_EQ(o.correct_reference, std::vector<bool>(4, true));
    EXPECT_EQ(o.representative_correct, (std::vector<bool>{false, false}));
    MetricsOptions mo;
    mo.bootstrap = 20;
    const nlohmann::json j = summarize({o}, mo).to_json();
    EXPECT_DOUBLE_EQ(j["pass@1"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(j["pass@1_reference"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["cons@n_reference"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["pass@1_representatives"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(j["cons@n_representatives"].get<double>(), 0.0);
    EXPECT_TRUE(j.contains("pass@1_reference_ci"));
}

// Lines written before the reference fields existed still summarize; the extra metrics are absent.
TEST(ReferenceGrade, OldLinesHaveNoReferenceMetric) {
    const nlohmann::json old = {{"paths", {{{"correct", true}}, {{"correct", false}}}},
                                {"vote", {{"correct", true}}},
                                {"shortest_majority", {{"correct", true}}},
                                {"tokens", nlohmann::json::object()}};
    const ProblemOutcome o = outcome_of(old);
    EXPECT_TRUE(o.correct_reference.empty());
    MetricsOptions mo;
    mo.bootstrap = 10;
    const nlohmann::json j = summarize({o}, mo).to_json();
    EXPECT_FALSE(j.contains("pass@1_reference"));
    EXPECT_FALSE(j.contains("pass@1_representatives"));
}

}  // namespace
