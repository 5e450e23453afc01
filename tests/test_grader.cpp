// The grader: every case of tests/grader_cases.jsonl, plus focused tests of the expression
// evaluator, normalization, extraction and math_equivalent's symmetry.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/grader.h"

#ifndef LEAP_SOURCE_DIR
#error "LEAP_SOURCE_DIR must be defined"
#endif

namespace {

using nlohmann::json;

struct Case {
    int line = 0;
    json j;
};

std::vector<Case> load_cases() {
    const std::string path = std::string(LEAP_SOURCE_DIR) + "/tests/grader_cases.jsonl";
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    std::vector<Case> cases;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        cases.push_back({n, json::parse(line)});
    }
    return cases;
}

std::vector<std::string> letters_of(const json& c) {
    if (!c.contains("letters")) return {"A", "B", "C", "D"};
    return c.at("letters").get<std::vector<std::string>>();
}

TEST(Grader, CorpusCases) {
    const std::vector<Case> cases = load_cases();
    ASSERT_GE(cases.size(), 170u) << "the corpus must hold at least 170 cases";
    int failures = 0, correct_true = 0, correct_false = 0, choice = 0;
    for (const Case& k : cases) {
        const json& c = k.j;
        ASSERT_TRUE(c.contains("response") && c.contains("gold") && c.contains("choice") && c.contains("correct") &&
                    c.contains("why"))
            << "line " << k.line << ": missing a field";
        const std::string response = c.at("response"), gold = c.at("gold"), why = c.at("why");
        const bool is_choice = c.at("choice"), want = c.at("correct");
        (want ? correct_true : correct_false)++;
        choice += is_choice;
        const leap::Grade g =
            is_choice ? leap::grade_choice(response, gold, letters_of(c)) : leap::grade_math(response, gold);
        if (g.correct != want) {
            ++failures;
            ADD_FAILURE() << "line " << k.line << " (" << why << "): want correct=" << want << ", got " << g.correct
                          << "; extracted '" << g.extracted << "', gold '" << gold << "'";
        }
        if (c.contains("extracted") && g.extracted != c.at("extracted").get<std::string>()) {
            ++failures;
            ADD_FAILURE() << "line " << k.line << " (" << why << "): extracted '" << g.extracted << "', want '"
                          << c.at("extracted").get<std::string>() << "'";
        }
        if (g.extracted.empty()) {
            EXPECT_FALSE(g.correct) << "line " << k.line << ": empty answer graded correct";
        }
    }
    // The corpus must exercise both outcomes and both kinds.
    EXPECT_GE(correct_true, 50);
    EXPECT_GE(correct_false, 50);
    EXPECT_GE(choice, 30);
    EXPECT_EQ(failures, 0);
}

// Every pair of golds/extracted answers in the corpus: math_equivalent is symmetric, and reflexive
// for answers that are not empty.
TEST(Grader, MathEquivalentSymmetricOverCorpus) {
    std::set<std::string> answers;
    for (const Case& k : load_cases()) {
        if (k.j.at("choice").get<bool>()) continue;
        answers.insert(k.j.at("gold").get<std::string>());
        answers.insert(leap::extract_math_answer(k.j.at("response").get<std::string>()));
    }
    ASSERT_GE(answers.size(), 100u);
    int asymmetric = 0;
    for (const auto& a : answers) {
        for (const auto& b : answers) {
            if (leap::math_equivalent(a, b) != leap::math_equivalent(b, a)) {
                ++asymmetric;
                ADD_FAILURE() << "asymmetric: '" << a << "' vs '" << b << "'";
            }
        }
        if (!leap::normalize_math_answer(a).empty()) {
            EXPECT_TRUE(leap::math_equivalent(a, a)) << "not reflexive: " << a;
        }
    }
    EXPECT_EQ(asymmetric, 0);
}

TEST(Grader, MathEquivalentExamples) {
    const std::vector<std::pair<std::string, std::string>> same = {
        {"025", "25"},          {"0.5", "\\frac12"},           {"1{,}000", "1,000"},   {"\\sqrt{12}", "2\\sqrt3"},
        {"3\\pi", "3 \\pi"},    {"[0,1)", "[0, 1)"},          {"x=5", "5"},           {"\\infty", "\\infty"},
        {"-\\frac{1}{2}", "-0.5"}, {"\\frac{\\sqrt{3}}{2}", "\\sqrt3/2"}, {"30^\\circ", "30"}, {"5\\%", "5"},
    };
    for (const auto& [a, b] : same) {
        EXPECT_TRUE(leap::math_equivalent(a, b)) << a << " vs " << b;
        EXPECT_TRUE(leap::math_equivalent(b, a)) << b << " vs " << a;
    }
    const std::vector<std::pair<std::string, std::string>> different = {
        {"12", "123"}, {"12", "1/2"}, {"2", "x^2"}, {"1,2", "12"}, {"[0,1)", "[0,1]"}, {"-5", "5"},
        {"(1,2)", "(2,1)"}, {"5\\%", "0.05"}, {"\\pi", "3.14159"}, {"2 3", "23"},
    };
    for (const auto& [a, b] : different) {
        EXPECT_FALSE(leap::math_equivalent(a, b)) << a << " vs " << b;
        EXPECT_FALSE(leap::math_equivalent(b, a)) << b << " vs " << a;
    }
    // Empty answers group with nothing, not even with each other.
    EXPECT_FALSE(leap::math_equivalent("", ""));
    EXPECT_FALSE(leap::math_equivalent("  ", "$ $"));
    EXPECT_FALSE(leap::math_equivalent("", "0"));
}

TEST(GraderEvaluator, Values) {
    const auto eval = [](const std::string& s) { return leap::evaluate_math_expression(leap::normalize_math_answer(s)); };
    const std::vector<std::pair<std::string, double>> cases = {
        {"1+2*3", 7},
        {"(1+2)*3", 9},
        {"2^10", 1024},
        {"2^{-1}", 0.5},
        {"-2^2", -4},
        {"\\frac{1}{2}", 0.5},
        {"\\frac12", 0.5},
        {"\\frac{\\sqrt{3}}{2}", std::sqrt(3.0) / 2},
        {"\\sqrt{16}", 4},
        {"\\sqrt[3]{27}", 3},
        {"\\sqrt[3]{-8}", -2},
        {"2\\sqrt{3}", 2 * std::sqrt(3.0)},
        {"3\\pi", 3 * M_PI},
        {"\\pi r^2", NAN},  // variable: not a constant
        {"2(3+4)", 14},
        {"(2)(3)", 6},
        {"{2}{3}", 6},
        {"12/4/3", 1},
        {"2^{2^{3}}", 256},
        {"10 \\div 4", 2.5},
        {"3 \\times 4", 12},
        {"4!", 24},
        {"0.125", 0.125},
        {"-\\infty", -INFINITY},
    };
    for (const auto& [expr, want] : cases) {
        const auto got = eval(expr);
        if (std::isnan(want)) {
            EXPECT_FALSE(got.has_value()) << expr;
        } else {
            ASSERT_TRUE(got.has_value()) << expr;
            if (std::isinf(want)) {
                EXPECT_EQ(*got, want) << expr;
            } else {
                EXPECT_NEAR(*got, want, 1e-12 * std::max(1.0, std::fabs(want))) << expr;
            }
        }
    }
    // Not values: words, juxtaposed numbers, ambiguous mixed numbers, bad syntax, division by zero.
    for (const std::string bad : {"no", "2 3", "1\\frac{1}{2}", "(1+2", "1+", "\\frac{1}{0}", "\\sqrt{-1}",
                                  "2^3^4", "\\foo{3}", "", "5 apples"})
        EXPECT_FALSE(eval(bad).has_value()) << bad;
}

TEST(GraderNormalize, Forms) {
    EXPECT_EQ(leap::normalize_math_answer("$\\left( 1, 2 \\right)$"), "(1,2)");
    EXPECT_EQ(leap::normalize_math_answer("\\text{5 cm}"), "5");
    EXPECT_EQ(leap::normalize_math_answer("\\$1{,}000.50"), "1000.50");
    EXPECT_EQ(leap::normalize_math_answer("x = \\dfrac{1}{2}"), "\\frac{1}{2}");
    EXPECT_EQ(leap::normalize_math_answer("30^{\\circ}"), "30");
    EXPECT_EQ(leap::normalize_math_answer("2 3"), "2 3");  // digits keep their separating space
    EXPECT_EQ(leap::normalize_math_answer("\\pi r"), "\\pi r");
    EXPECT_EQ(leap::normalize_math_answer("1,2"), "1,2");
}

TEST(GraderExtract, Math) {
    EXPECT_EQ(leap::extract_math_answer("a \\boxed{1} b \\boxed{\\frac{2}{3}} c"), "\\frac{2}{3}");
    EXPECT_EQ(leap::extract_math_answer("\\boxed 5"), "5");
    EXPECT_EQ(leap::extract_math_answer("\\boxed{12"), "");
    EXPECT_EQ(leap::extract_math_answer("\\boxed"), "");
    EXPECT_EQ(leap::extract_math_answer("we got 12 apples and 13 pears"), "");
    EXPECT_EQ(leap::extract_math_answer("...\n**Final Answer**\n\\[ 7 \\]"), "7");
    EXPECT_EQ(leap::extract_math_answer("The final answer is $\\frac{1}{4}$. I hope it is correct."), "\\frac{1}{4}");
    EXPECT_EQ(leap::extract_math_answer("Final answer: 12 because of symmetry."), "12");
    EXPECT_EQ(leap::extract_math_answer("The final answer is $12"), "");  // cut off inside $...$
}

TEST(GraderExtract, Choice) {
    const std::vector<std::string> abcd = {"A", "B", "C", "D"};
    EXPECT_EQ(leap::extract_choice_answer("ANSWER: C", abcd), "C");
    EXPECT_EQ(leap::extract_choice_answer("ANSWER: C or D", abcd), "");
    EXPECT_EQ(leap::extract_choice_answer("Write \"ANSWER: C\"... ANSWER: A", abcd), "A");
    EXPECT_EQ(leap::extract_choice_answer("ANSWER: E", abcd), "");
    EXPECT_EQ(leap::extract_choice_answer("ANSWER: E", {"A", "B", "C", "D", "E"}), "E");
    EXPECT_EQ(leap::extract_choice_answer("\\boxed{\\text{B}}", abcd), "B");
    EXPECT_EQ(leap::extract_choice_answer("Answer: 2", {"1", "2", "3", "4"}), "2");
    EXPECT_EQ(leap::extract_choice_answer("no field at all: C", abcd), "");
}

TEST(GraderApi, Errors) {
    EXPECT_THROW(leap::grade_math("\\boxed{1}", ""), leap::Error);
    EXPECT_THROW(leap::grade_math("\\boxed{1}", "   "), leap::Error);
    EXPECT_THROW(leap::grade_choice("ANSWER: A", "E"), leap::Error);
    EXPECT_THROW(leap::grade_choice("ANSWER: A", "A", {}), leap::Error);
    EXPECT_THROW(leap::grade_choice("ANSWER: A", "A", {"A", "A"}), leap::Error);
    EXPECT_THROW(leap::grade_choice("ANSWER: A", "A", {"A", ""}), leap::Error);
    EXPECT_THROW(leap::extract_choice_answer("ANSWER: A", {"A", "B?"}), leap::Error);
    const leap::Grade g = leap::grade_choice("ANSWER: B", " B ");
    EXPECT_TRUE(g.correct);
    EXPECT_EQ(g.extracted, "B");
    const leap::Grade m = leap::grade_math("no answer here", "5");
    EXPECT_FALSE(m.correct);
    EXPECT_EQ(m.extracted, "");
}

}  // namespace
