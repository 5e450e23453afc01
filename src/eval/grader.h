#pragma once
// Grading final answers against gold answers: math (AIME/AIMO integers, MATH-style expressions) and
// multiple choice (GPQA letters). Built on core/answer.h (last_boxed). The rules are listed in
// docs/grading.md; in short:
//  - math: the answer is the last \boxed{...} / \fbox{...} (or `\boxed 5`); without one, only an
//    explicit "final answer" / "the answer is" / "answer:" phrase on the last lines counts;
//  - choice: the letter of the LAST answer field ("ANSWER: C", "Answer: (C)", \boxed{C}, ...),
//    limited to the question's letters; a hedged field ("C or D") or an unknown letter is no answer;
//  - equivalence: normalization (LaTeX noise, units, degrees, percent, thousands separators, `x =`),
//    then structure (tuples/intervals ordered with exact brackets, bare lists and sets unordered), then
//    numbers compared by value (exactly for integers, relative 1e-9 otherwise; single-letter variables
//    by evaluating at fixed points), else canonical strings compared exactly.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leap {

struct Grade {
    std::string extracted;  // the answer found in the response ("" when there is none)
    bool correct = false;   // never true when `extracted` is empty
};

// Math: extract the final answer and compare it with `gold` (math_equivalent). Throws leap::Error
// when `gold` is empty.
Grade grade_math(std::string_view response, std::string_view gold);

// Multiple choice: extract the chosen letter and compare it with `gold_letter`. Throws leap::Error
// when `letters` is empty or malformed, or `gold_letter` is not one of them.
Grade grade_choice(std::string_view response, std::string_view gold_letter,
                   const std::vector<std::string>& letters = {"A", "B", "C", "D"});

// Whether two math answers are the same answer (used for grading and to group answers for voting).
// Symmetric; an empty answer (after normalization) equals nothing, not even another empty one.
bool math_equivalent(std::string_view a, std::string_view b);

// The final answer of a math response ("" when there is none). See the rules above.
std::string extract_math_answer(std::string_view response);

// The chosen letter of a multiple-choice response, one of `letters` ("" when there is none).
std::string extract_choice_answer(std::string_view response, const std::vector<std::string>& letters);

// ---- Exposed for tests and tools --------------------------------------------------------------

// The normalized form of an answer that math_equivalent compares (LaTeX noise, units, degrees,
// percent, thousands separators and a leading `x =` removed; whitespace collapsed).
std::string normalize_math_answer(std::string_view answer);

// Value of a constant expression: numbers, + - * / ^, \frac, \sqrt, \sqrt[n], \pi, \infty,
// \cdot/\times/\div, parentheses and braces, implicit multiplication. nullopt when it does not parse
// or has variables. Expects normalized input (normalize_math_answer).
std::optional<double> evaluate_math_expression(std::string_view expr);

}  // namespace leap
