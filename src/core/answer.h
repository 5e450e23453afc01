#pragma once
// Pulling the final answer out of a response, and deciding whether two answers agree.
// The evaluation harness's grader builds on these; voting uses them to group answers.
#include <string>
#include <string_view>

namespace leap {

// Content of the last \boxed{...} or \fbox{...} with balanced braces; "" when there is none.
std::string last_boxed(std::string_view text);

// Multiple choice: the letter after the last "ANSWER:" (also "ANSWER": "C" and \boxed{C}).
std::string choice_letter(std::string_view text);

// The final answer of a response: a letter for multiple choice, else the last boxed content.
std::string extract_answer(std::string_view response, bool multiple_choice);

// A canonical form for grouping: whitespace, "$", \left/\right, \text{}, \dfrac and leading
// zeros of integers removed. Two answers agree when their canonical forms are equal.
std::string canonical_answer(std::string_view answer);

}  // namespace leap
