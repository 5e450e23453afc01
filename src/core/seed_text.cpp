#include "core/seed_text.h"

#include <limits>

namespace leap {

namespace {
constexpr const char* kRange = "a seed is an integer from 0 to 18446744073709551615 (2^64-1)";

// Decimal digits only; their value when it fits in 64 bits.
std::optional<uint64_t> decimal(std::string_view t) {
    if (t.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : t) {
        if (c < '0' || c > '9') return std::nullopt;
        const uint64_t d = (uint64_t)(c - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

bool all_digits(std::string_view t) {
    if (t.empty()) return false;
    for (char c : t)
        if (c < '0' || c > '9') return false;
    return true;
}
}  // namespace

std::string seed_problem(std::string_view text) {
    if (decimal(text)) return "";
    const std::string quoted = "'" + std::string(text.substr(0, 64)) + (text.size() > 64 ? "...'" : "'");
    if (!text.empty() && text[0] == '-')
        return quoted + " is negative: " + kRange +
               " (leap has no random seed as llama.cpp's -1: runs are fixed by their seed, so a rerun resumes them)";
    if (all_digits(text)) return quoted + " is too large: " + kRange;
    return quoted + " is not a whole decimal number: " + kRange;
}

std::optional<uint64_t> parse_seed(std::string_view text) { return decimal(text); }

}  // namespace leap
