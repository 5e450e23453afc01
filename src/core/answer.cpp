#include "core/answer.h"

#include <cctype>
#include <vector>

namespace leap {

namespace {
void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
        s.replace(pos, from.size(), to);
}
}  // namespace

std::string last_boxed(std::string_view text) {
    size_t best = std::string_view::npos;
    size_t best_len = 0;
    for (std::string_view tag : {"\\boxed", "\\fbox"}) {
        const size_t at = text.rfind(tag);
        if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) {
            best = at;
            best_len = tag.size();
        }
    }
    if (best == std::string_view::npos) return {};
    size_t i = best + best_len;
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size() || text[i] != '{') return {};
    int depth = 0;
    for (size_t j = i; j < text.size(); ++j) {
        if (text[j] == '{') ++depth;
        if (text[j] == '}' && --depth == 0) return std::string(text.substr(i + 1, j - i - 1));
    }
    return {};  // unbalanced: the answer was cut off
}

std::string choice_letter(std::string_view text) {
    const size_t at = text.rfind("ANSWER");
    if (at != std::string_view::npos) {
        size_t i = at + 6;
        while (i < text.size() && (text[i] == '"' || text[i] == ':' || text[i] == ' ' || text[i] == '*'))
            ++i;
        if (i < text.size() && std::isupper((unsigned char)text[i]) &&
            (i + 1 == text.size() || !std::isalpha((unsigned char)text[i + 1])))
            return std::string(1, text[i]);
    }
    const std::string boxed = last_boxed(text);
    if (boxed.size() == 1 && std::isupper((unsigned char)boxed[0])) return boxed;
    return {};
}

std::string extract_answer(std::string_view response, bool multiple_choice) {
    return multiple_choice ? choice_letter(response) : last_boxed(response);
}

std::optional<size_t> answer_end(std::string_view before, std::string_view generated, bool multiple_choice) {
    const std::string s = std::string(before) + std::string(generated);
    const size_t from = before.size();  // offsets in s at or past this are in `generated`
    // A box that closes in the generated text (math, and a boxed letter).
    for (size_t at = 0; at < s.size();) {
        size_t hit = std::string::npos, len = 0;
        for (std::string_view tag : {"\\boxed", "\\fbox"}) {
            const size_t k = s.find(tag, at);
            if (k != std::string::npos && k < hit) {
                hit = k;
                len = tag.size();
            }
        }
        if (hit == std::string::npos) break;
        size_t i = hit + len;
        while (i < s.size() && s[i] == ' ') ++i;
        at = hit + len;
        if (i >= s.size() || s[i] != '{') continue;
        int depth = 0;
        size_t close = std::string::npos;
        for (size_t j = i; j < s.size(); ++j) {
            if (s[j] == '{') ++depth;
            if (s[j] == '}' && --depth == 0) {
                close = j;
                break;
            }
        }
        if (close == std::string::npos) return std::nullopt;  // still open: the answer is being written
        if (close >= from) {
            const std::string content = s.substr(i + 1, close - i - 1);
            if (!multiple_choice || (content.size() == 1 && std::isupper((unsigned char)content[0])))
                return close + 1 - from;
        }
        at = close + 1;
    }
    if (!multiple_choice) return std::nullopt;
    // "ANSWER: C" followed by something that is not a letter.
    const size_t field = s.rfind("ANSWER");
    if (field == std::string::npos) return std::nullopt;
    size_t i = field + 6;
    while (i < s.size() && (s[i] == '"' || s[i] == ':' || s[i] == ' ' || s[i] == '*' || s[i] == '(')) ++i;
    if (i + 1 < s.size() && i >= from && std::isupper((unsigned char)s[i]) && !std::isalpha((unsigned char)s[i + 1]))
        return i + 1 - from;
    return std::nullopt;
}

std::string canonical_answer(std::string_view answer) {
    std::string s(answer);
    for (std::string_view noise : {"\\left", "\\right", "\\!", "\\,", "\\;", "$"}) replace_all(s, noise, "");
    replace_all(s, "\\dfrac", "\\frac");
    replace_all(s, "\\tfrac", "\\frac");
    replace_all(s, "\\text{", "{");
    std::string out;
    for (char c : s)
        if (!std::isspace((unsigned char)c)) out += c;
    // Integers with leading zeros ("025") equal their plain form.
    bool digits = !out.empty();
    for (char c : out) digits = digits && std::isdigit((unsigned char)c);
    if (digits) {
        const size_t nz = out.find_first_not_of('0');
        out = nz == std::string::npos ? "0" : out.substr(nz);
    }
    return out;
}

}  // namespace leap
