#pragma once
// Pulling the final answer out of a response, and deciding whether two answers agree.
// The evaluation harness's grader builds on these; voting uses them to group answers.
#include <optional>
#include <string>
#include <string_view>

namespace leap {

// Content of the last \boxed{...} or \fbox{...} with balanced braces; "" when there is none.
std::string last_boxed(std::string_view text);

// Multiple choice: the letter after the last "ANSWER:" (also "ANSWER": "C" and \boxed{C}).
std::string choice_letter(std::string_view text);

// The final answer of a response: a letter for multiple choice, else the last boxed content.
std::string extract_answer(std::string_view response, bool multiple_choice);

// Whether a forced answer is complete: `before` is the text the answer continues (its opener,
// e.g. "... **Final Answer** \boxed{"), `generated` what was sampled after it. For math, the
// first \boxed{...} that closes inside `generated`; for multiple choice, the letter of the last
// "ANSWER:" field once a character that is not a letter follows it (or a closed \boxed{X}).
// Returns the length of `generated` that completes the answer (the rest cannot change the grade),
// or nullopt while it is not complete.
std::optional<size_t> answer_end(std::string_view before, std::string_view generated, bool multiple_choice);

// A canonical form for grouping: whitespace, "$", \left/\right, \text{}, \dfrac and leading
// zeros of integers removed. Two answers agree when their canonical forms are equal.
std::string canonical_answer(std::string_view answer);

}  // namespace leap
