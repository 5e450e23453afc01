// libFuzzer target: the grader's input, a model's response and a gold answer
// (src/eval/grader.cpp): extraction, normalization, expression evaluation, equivalence and
// multiple-choice letters. A bad gold answer may end in leap::Error; any other exception
// escaping, a crash, a hang, or what ASan/UBSan report is a finding. The input is
// "response \x00 gold"; without a NUL the whole input is both.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "eval/grader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in((const char*)data, size);
    const size_t nul = in.find('\0');
    const std::string_view response = in.substr(0, nul);
    const std::string_view gold = nul == std::string_view::npos ? in : in.substr(nul + 1);
    try {
        (void)leap::grade_math(response, gold);
    } catch (const leap::Error&) {
    }
    const std::string normalized = leap::normalize_math_answer(gold);
    (void)leap::evaluate_math_expression(normalized);
    (void)leap::math_equivalent(response, gold);
    (void)leap::math_equivalent(gold, gold);
    (void)leap::extract_math_answer(gold);
    const std::vector<std::string> letters = {"A", "B", "C", "D", "E"};
    (void)leap::extract_choice_answer(response, letters);
    try {
        (void)leap::grade_choice(response, gold.substr(0, 1), letters);
    } catch (const leap::Error&) {
    }
    return 0;
}
