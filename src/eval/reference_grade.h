#pragma once
// The reference implementation's answer check, reported beside leap's own grade
// (pass@1_reference, cons@n_reference; docs/grading.md, "The reference's check").
//
// leap's grader (grader.h) is stricter: it takes only a final \boxed{} or an explicit final-answer
// phrase and compares answers by value. The reference lowercases the whole response, takes its
// last \boxed{...} or, without one, the last number anywhere in it, and counts the response
// correct when the gold answer occurs in that string. The two give different Pass@1 on the same
// texts; reporting both lets a run be compared with the paper's figures and with leap's.
#include <string>
#include <string_view>

namespace leap {

// What the reference's check reads as the answer, lowercased ("" when there is none).
// Math: the last \boxed{...} (balanced braces), else the last number (digits, with an optional
// sign and decimal part). Multiple choice (our reading, the same procedure for letters): the
// last \boxed{...}, else what follows the last "answer:" to the end of its line, trimmed.
std::string reference_extract(std::string_view response, bool multiple_choice);

// The reference's verdict: the extracted string is not empty and contains the lowercased gold
// answer as a substring ("025" accepts gold "25"; "1/2" does not accept gold "0.5").
bool reference_correct(std::string_view extracted, std::string_view gold);

}  // namespace leap
