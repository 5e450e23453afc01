#include "eval/reference_grade.h"

#include <cctype>

#include "core/answer.h"

namespace leap {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// The last run of the form [-]digits[.digits] in `text`.
std::string last_number(std::string_view text) {
    size_t end = text.size();
    while (end > 0 && !digit(text[end - 1])) --end;
    if (end == 0) return "";
    size_t begin = end;
    while (begin > 0 && digit(text[begin - 1])) --begin;
    // A decimal part: "3.75" read from its end is digits, '.', digits.
    if (begin >= 2 && text[begin - 1] == '.' && digit(text[begin - 2])) {
        begin -= 1;
        while (begin > 0 && digit(text[begin - 1])) --begin;
    }
    if (begin > 0 && text[begin - 1] == '-') --begin;
    return std::string(text.substr(begin, end - begin));
}

}  // namespace

std::string reference_extract(std::string_view response, bool multiple_choice) {
    const std::string text = lower(response);
    if (text.find("\\boxed") != std::string::npos) {
        const std::string boxed = last_boxed(text);
        if (!boxed.empty()) return trim(boxed);
    }
    if (!multiple_choice) return last_number(text);
    const size_t at = text.rfind("answer:");
    if (at == std::string::npos) return "";
    const size_t from = at + 7, eol = text.find('\n', from);
    return trim(std::string_view(text).substr(from, eol == std::string::npos ? std::string::npos : eol - from));
}

bool reference_correct(std::string_view extracted, std::string_view gold) {
    const std::string g = lower(trim(gold));
    return !extracted.empty() && !g.empty() && lower(extracted).find(g) != std::string::npos;
}

}  // namespace leap
