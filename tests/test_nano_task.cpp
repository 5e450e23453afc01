// The LeaP-T nano task: problems, exact grading through leap's grader and dataset loader,
// the vote, and traces that carry the engine's own texts.
#include <gtest/gtest.h>

#include <set>

#include "core/block.h"
#include "core/error.h"
#include "core/prompts.h"
#include "eval/dataset.h"
#include "eval/grader.h"
#include "nano/task.h"

using namespace leap;

TEST(NanoTask, ProblemsAreSeededAndAnswersFollowTheArithmetic) {
    nano::TaskSpec spec;
    const auto a = nano::make_problems(7, 50, spec);
    const auto b = nano::make_problems(7, 50, spec);
    const auto c = nano::make_problems(8, 50, spec);
    int differ = 0;
    std::set<int> keys, shifts;
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(a[i].text(), b[i].text());
        differ += a[i].text() != c[i].text();
        // Exactly one key in 0..9 passes the check, the one the problem names.
        int passing = 0;
        for (int k = 0; k < 10; ++k) passing += (3 * k + a[i].target) % 10 == 0;
        EXPECT_EQ(passing, 1);
        EXPECT_EQ((3 * a[i].key + a[i].target) % 10, 0);
        int v = (a[i].key + a[i].shift) % 10;
        for (int s = 0; s < spec.steps; ++s) v = (3 * v + 1) % 10;
        EXPECT_EQ(v, a[i].answer);
        keys.insert(a[i].key);
        EXPECT_EQ(a[i].text(), "Find x in 0..9 with 10 dividing 3x+" + std::to_string(a[i].target) +
                                   ", then apply y to 3y+1 mod 10 3 times from x+" + std::to_string(a[i].shift) +
                                   ". Where do you end?");
        shifts.insert(a[i].shift);
    }
    EXPECT_GT(differ, 30);
    EXPECT_GE(keys.size(), 8u);
    EXPECT_GE(shifts.size(), 8u);
    EXPECT_THROW(nano::make_problem(1, 0, {0, 0.0}), Error);
    EXPECT_THROW(nano::make_problem(1, 0, {6, 0.0}), Error);
}

TEST(NanoTask, TextsAndTokenSplit) {
    EXPECT_EQ(nano::try_text(4, 7, 2, 19), "3x+7 at x=4 gives 19 no (x+2)\n\n");
    EXPECT_EQ(nano::try_text(1, 7, 5, 10), "3x+7 at x=1 gives 10 yes so x=1 (x+5)\n\n");
    EXPECT_EQ(nano::try_text(1, 7, 0, 10, true), "peer's 3x+7 at x=1 gives 10 yes so x=1 (x+0)\n\n");
    EXPECT_EQ(nano::step_text(2, 3), "y2=3\n\n");
    EXPECT_EQ(nano::summary_text(1), " x=1 ");
    EXPECT_EQ(nano::summary_text(-1), " none yet ");
    const nano::WordSplitter words(nano::vocabulary_words(PromptSet::builtin()));
    EXPECT_EQ(words.split("3x+7 at x=1 gives 10 yes so x=1 (x+5)\n\n"), (std::vector<std::string>{"3x+7 at x=1", " gives 10 yes so x=1", " (x+5)\n\n"}));
    EXPECT_EQ(words.split("3x+0 at x=3 gives 9 no (x+4)\n\ny1=4\n\ny2=3\n\n"),
              (std::vector<std::string>{"3x+0 at x=3", " gives 9 no", " (x+4)\n\n", "y1=4\n\n", "y2=3\n\n"}));
    EXPECT_EQ(words.split("Find x in 0..9 with 10 dividing 3x+2, then apply y to 3y+1 mod 10"),
              (std::vector<std::string>{"Find x in 0..9 with 10 dividing 3x+2", ", then apply y to 3y+1 mod 10"}));
    EXPECT_EQ(words.split("\n\npeer's 3x+7 at x=1 gives 10 yes so x=1 (x+3)\n\n"), (std::vector<std::string>{"\n\n", "peer's 3x+7 at x=1", " gives 10 yes so x=1", " (x+3)\n\n"}));
    EXPECT_EQ(words.split("y0=8+4=2\n\ny1=7\n\n"), (std::vector<std::string>{"y0=8+4=2\n\n", "y1=7\n\n"}));
    EXPECT_EQ(words.split("that x=1\""), (std::vector<std::string>{"t", "h", "a", "t", " x=1", "\""}));
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
        // A forced answer: the engine's opener, then the model's number and brace.
        EXPECT_TRUE(grade_math(PromptSet::builtin().answer_opener_math + std::to_string(g) + "}", d.items[i].answer).correct);
    }
}

TEST(NanoTask, TracesUseTheEngineTextsBudgetsAndGradeAsRecorded) {
    const PromptSet prompts = PromptSet::builtin();
    const nano::WordSplitter words(nano::vocabulary_words(prompts));
    const std::set<std::string> triggers(prompts.triggers.begin(), prompts.triggers.end());
    nano::TraceOptions opt;
    int with_blocks = 0, adopted = 0, n_traces = 0, correct = 0, forced = 0, free_tries = 0, passer_tries = 0, plans = 0;
    for (int i = 0; i < 200; ++i) {
        const auto p = nano::make_problem(11, i, opt.spec);
        for (const auto& t : nano::simulate_run(p, 1000 + i, opt, prompts)) {
            ++n_traces;
            std::string text;
            int sampled = 0;  // reasoning tokens: every sampled piece but summaries and answers
            bool in_summary = false;
            for (const auto& piece : t.pieces) {
                if (piece.injected && piece.text.find(kSummarizeOpen) != std::string::npos) {
                    // summary_request after a whole paragraph: trigger, " <summarize> ", opener.
                    const size_t at = piece.text.find(" <summarize> ");
                    ASSERT_NE(at, std::string::npos);
                    EXPECT_TRUE(triggers.count(piece.text.substr(0, at))) << piece.text;
                    EXPECT_TRUE(text.ends_with("\n\n"));
                    EXPECT_FALSE(piece.alt.empty());  // what the path was writing, had no block come
                    in_summary = true;
                } else if (!piece.injected && !in_summary && piece.text.find("boxed") == std::string::npos &&
                           piece.text.find("<|end|>") == std::string::npos) {
                    sampled += (int)words.split(piece.text).size();
                }
                if (!piece.injected && in_summary) in_summary = false;
                if (piece.injected && piece.text == prompts.answer_opener_math) ++forced;
                // A path that heard of a key checks it with a try of its own right after the cue.
                if (!piece.injected && text.ends_with(prompts.comment_cue) && piece.text.starts_with("\n\npeer's ")) ++adopted;
                if (!piece.injected)
                    for (const auto& w : words.split(piece.text)) {
                        if (w.starts_with("peer's ")) EXPECT_TRUE(text.ends_with(prompts.comment_cue)) << text;
                        // Every try ends restating the problem's shift (the start reads it just before).
                        if (w.starts_with(" (x+")) {
                            EXPECT_EQ(w, " (x+" + std::to_string(p.shift) + ")\n\n");
                            ++plans;
                        }
                        if (!w.starts_with("3x+")) continue;
                        ++free_tries;
                        passer_tries += w.ends_with(" at x=" + std::to_string(p.key));
                    }
                text += piece.text;
            }
            EXPECT_LE(sampled, t.segments * t.segment_tokens + 1) << text;
            with_blocks += t.blocks > 0;
            EXPECT_EQ(t.user_message, fill_template(prompts.plain_user_math, p.text(), {}, prompts.end_of_thinking));
            EXPECT_EQ(grade_math(text, std::to_string(p.answer)).correct, t.correct) << text;
            correct += t.correct;
        }
    }
    EXPECT_GT(with_blocks, n_traces / 3);
    EXPECT_GT(adopted, 50);
    // Free tries draw keys uniformly (peers' keys have their own tokens), so nothing in the traces
    // teaches a model to try the passing key first.
    EXPECT_GT(free_tries, 1000);
    EXPECT_GT(plans, free_tries);  // free tries and peers' tries each end in one
    EXPECT_NEAR((double)passer_tries / free_tries, 0.1, 0.02);
    EXPECT_GT(forced, n_traces / 10);
    // Budgets make a good share of the traces end wrong (the task must leave room to improve).
    EXPECT_GT(correct, n_traces / 4);
    EXPECT_LT(correct, n_traces * 9 / 10);
}

TEST(NanoTask, PeersRaisePassAtOneInTheIdealisedRun) {
    // A model that reproduced the traces exactly: LeaP-T (N=4, k=2, one block) against
    // independent sampling with the same budget, on the same problems.
    const PromptSet prompts = PromptSet::builtin();
    double pass[2] = {0, 0};
    for (int leap = 0; leap < 2; ++leap) {
        nano::TraceOptions o;
        o.n_paths = {4};
        o.fixed_k = 2;
        o.fixed_router = 0;
        o.fixed_segment_tokens = 6;
        o.fixed_segments = 4;
        o.fixed_independent = leap ? 0 : 1;
        int ok = 0, all = 0;
        for (int i = 0; i < 200; ++i)
            for (const auto& t : nano::simulate_run(nano::make_problem(21, i, o.spec), 77 + i, o, prompts)) {
                ok += t.correct;
                ++all;
                if (!leap) EXPECT_EQ(t.blocks, 0);
            }
        pass[leap] = (double)ok / all;
    }
    EXPECT_GT(pass[0], 0.3);
    EXPECT_GT(pass[1], pass[0] + 0.15);
}

TEST(NanoTask, GivenKeyRunsStartAtOnce) {
    // The training warm-up: the problem gives the key, so every path writes the start first.
    const PromptSet prompts = PromptSet::builtin();
    nano::TraceOptions o;
    o.given_key_share = 1;
    o.fixed_segment_tokens = 6;
    o.fixed_segments = 3;
    const nano::WordSplitter words(nano::vocabulary_words(prompts));
    for (int i = 0; i < 20; ++i) {
        const auto p = nano::make_problem(5, i, o.spec);
        for (const auto& t : nano::simulate_run(p, 40 + i, o, prompts)) {
            EXPECT_NE(t.user_message.find(nano::given_key_text(p)), std::string::npos);
            EXPECT_EQ(t.user_message.find("Find x"), std::string::npos);
            ASSERT_FALSE(t.pieces.empty());
            const std::string start = "y0=" + std::to_string(p.key) + "+" + std::to_string(p.shift) + "=" +
                                      std::to_string((p.key + p.shift) % 10) + "\n\n";
            EXPECT_EQ(t.pieces.front().text.rfind(start, 0), 0u) << t.pieces.front().text;
            EXPECT_TRUE(t.found);
        }
        EXPECT_EQ(words.split(nano::given_key_text(p)).size(), 3u);
    }
}

TEST(NanoTask, VocabularyWordsAreUniqueAndCoverTheFixedTexts) {
    const PromptSet prompts = PromptSet::builtin();
    const auto words = nano::vocabulary_words(prompts);
    const std::set<std::string> set(words.begin(), words.end());
    EXPECT_EQ(set.size(), words.size());
    for (const auto& w : {std::string("3x+9 at x=9"), std::string(" gives 37 no"), std::string(" gives 0 yes so x=0"), std::string(" (x+3)\n\n"),
                          std::string(" gives 20 yes so x=9"), std::string("y0=9+3=2\n\n"), std::string(" x=7"), std::string("y5=9\n\n"), std::string("9}"), std::string(" none yet"), std::string("\n\n"),
                          prompts.comment_cue, prompts.answer_opener_math, prompts.triggers[0], prompts.openers[5],
                          std::string("Peer 3: \"")})
        EXPECT_TRUE(set.count(w)) << w;
}
