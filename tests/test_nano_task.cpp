// The LeaP-T nano task: problems, exact grading through leap's grader and dataset loader,
// the vote, and traces that carry the engine's own texts.
#include <gtest/gtest.h>

#include <set>

#include "core/block.h"
#include "core/prompts.h"
#include "eval/dataset.h"
#include "eval/grader.h"
#include "nano/task.h"

using namespace leap;

namespace {
int mod10(int v) { return ((v % 10) + 10) % 10; }
}  // namespace

TEST(NanoTask, ProblemsAreSeededAndAnswersFollowTheOperations) {
    nano::TaskSpec spec;
    const auto a = nano::make_problems(7, 50, spec);
    const auto b = nano::make_problems(7, 50, spec);
    const auto c = nano::make_problems(8, 50, spec);
    int differ = 0;
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(a[i].text(), b[i].text());
        differ += a[i].text() != c[i].text();
        int v = a[i].start;
        ASSERT_EQ((int)a[i].ops.size(), spec.steps);
        for (int op : a[i].ops) {
            EXPECT_NE(op, 0);
            EXPECT_LE(std::abs(op), 9);
            v = mod10(v + op);
        }
        EXPECT_EQ(v, a[i].answer);
    }
    EXPECT_GT(differ, 45);
    EXPECT_EQ(a[3].text().find("Start at " + std::to_string(a[3].start) + " and apply, modulo 10: [1]"), 0u);
}

TEST(NanoTask, OneOperationByDefaultOrOnePerStep) {
    nano::TaskSpec spec;
    int varied = 0;
    for (const auto& p : nano::make_problems(5, 40, spec))
        for (int op : p.ops) EXPECT_EQ(op, p.ops[0]);
    spec.varied_ops = true;
    for (const auto& p : nano::make_problems(5, 40, spec))
        for (int op : p.ops) varied += op != p.ops[0];
    EXPECT_GT(varied, 200);
}

TEST(NanoTask, DatasetFileLoadsAndGradesExactly) {
    const auto problems = nano::make_problems(3, 20, {});
    const Dataset d = parse_dataset(nano::to_jsonl(problems), "nano.jsonl", "nano");
    ASSERT_EQ(d.items.size(), 20u);
    EXPECT_FALSE(d.multiple_choice);
    for (size_t i = 0; i < problems.size(); ++i) {
        EXPECT_EQ(d.items[i].problem.text, problems[i].text());
        EXPECT_EQ(d.items[i].answer, std::to_string(problems[i].answer));
        const int g = problems[i].answer;
        EXPECT_TRUE(grade_math("</think>" + nano::answer_text(g), d.items[i].answer).correct);
        EXPECT_FALSE(grade_math("</think>" + nano::answer_text((g + 1) % 10), d.items[i].answer).correct);
        // A forced answer: the engine's opener, then the model's digit and brace.
        EXPECT_TRUE(grade_math(PromptSet::builtin().answer_opener_math + std::to_string(g) + "}", d.items[i].answer).correct);
    }
}

TEST(NanoTask, VoteTakesTheValueMostPathsHoldAndKeepsOwnOnTies) {
    EXPECT_EQ(nano::vote(7, {3, 3}), 3);
    EXPECT_EQ(nano::vote(7, {3, 7}), 7);
    EXPECT_EQ(nano::vote(7, {3, 4}), 7);   // no majority: keep
    EXPECT_EQ(nano::vote(7, {3}), 7);      // one against one: keep
    EXPECT_EQ(nano::vote(7, {3, 3, 7, 7}), 7);
    EXPECT_EQ(nano::vote(7, {3, 3, 4, 4}), 3);  // first named among tied others
    EXPECT_EQ(nano::vote(7, {3, 3, 3, 7}), 3);
    EXPECT_EQ(nano::check_text(7, {3, 3}, 3), "\n\nmine 7, peers 3 3: take 3\n\n");
    EXPECT_EQ(nano::check_text(7, {3, 7}, 7), "\n\nmine 7, peers 3 7: keep 7\n\n");
}

TEST(NanoTask, TracesUseTheEngineTextsAndGradeAsRecorded) {
    const PromptSet prompts = PromptSet::builtin();
    const std::set<std::string> triggers(prompts.triggers.begin(), prompts.triggers.end());
    nano::TraceOptions opt;
    int with_blocks = 0, takes = 0, n_traces = 0, correct = 0;
    for (int i = 0; i < 200; ++i) {
        const auto p = nano::make_problem(11, i, opt.spec);
        for (const auto& t : nano::simulate_run(p, 1000 + i, opt, prompts)) {
            ++n_traces;
            std::string text;
            for (const auto& piece : t.pieces) {
                if (piece.injected && piece.text.find(kSummarizeOpen) != std::string::npos) {
                    // summary_request after a whole step: trigger, " <summarize> ", opener.
                    const size_t at = piece.text.find(" <summarize> ");
                    ASSERT_NE(at, std::string::npos);
                    EXPECT_TRUE(triggers.count(piece.text.substr(0, at))) << piece.text;
                    EXPECT_TRUE(text.ends_with("\n\n"));
                    EXPECT_EQ(piece.alt.front(), '[');  // the next step, had no block come
                }
                if (!piece.injected && piece.text.find(": take ") != std::string::npos) ++takes;
                text += piece.text;
            }
            with_blocks += t.blocks > 0;
            EXPECT_EQ(t.user_message, fill_template(prompts.plain_user_math, p.text(), {}, prompts.end_of_thinking));
            EXPECT_EQ(grade_math(text, std::to_string(p.answer)).correct, t.correct) << text;
            correct += t.correct;
        }
    }
    EXPECT_GT(with_blocks, n_traces / 3);
    EXPECT_GT(takes, 20);
    // Slips make a good share of the traces end wrong (the task must leave room to improve).
    EXPECT_GT(correct, n_traces / 4);
    EXPECT_LT(correct, n_traces * 3 / 4);
}

TEST(NanoTask, VocabularyWordsAreUniqueAndCoverTheFixedTexts) {
    const PromptSet prompts = PromptSet::builtin();
    const auto words = nano::vocabulary_words(prompts);
    const std::set<std::string> set(words.begin(), words.end());
    EXPECT_EQ(set.size(), words.size());
    for (const auto& w : {std::string("[10]"), std::string("+9"), std::string("-1"), std::string("\n\n"),
                          prompts.comment_cue, prompts.answer_opener_math, prompts.triggers[0], prompts.openers[5],
                          std::string("Peer 3: \"")})
        EXPECT_TRUE(set.count(w)) << w;
}
