// "Did you mean": the names nearest to a typo, by edit distance.
#include <algorithm>

#include "cli/usage.h"

namespace leap::cli {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// The part of a flag that carries its meaning: "--top-k" -> "top-k".
std::string bare(const std::string& s) {
    size_t i = 0;
    while (i < s.size() && s[i] == '-') ++i;
    return s.substr(i);
}

}  // namespace

std::vector<std::string> nearest_names(const std::string& typed, const std::vector<std::string>& names, size_t most) {
    const std::string t = bare(typed);
    // A typo of a short name is one edit; longer names tolerate about one edit in three letters.
    const size_t limit = std::max<size_t>(1, t.size() / 3);
    std::vector<std::pair<size_t, std::string>> near;
    for (const std::string& n : names) {
        const std::string b = bare(n);
        if (b.empty() || n == typed) continue;
        size_t d = edit_distance(t, b);
        if (d > limit && t.size() >= 3 && b.find(t) != std::string::npos) d = limit;  // "--ctx" -> "--ctx-size"
        if (d <= limit) near.emplace_back(d, n);
    }
    std::stable_sort(near.begin(), near.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::string> out;
    for (const auto& [d, n] : near)
        if (out.size() < most && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    return out;
}

std::string did_you_mean(const std::string& typed, const std::vector<std::string>& names) {
    const std::vector<std::string> near = nearest_names(typed, names);
    if (near.empty()) return "";
    std::string s = " (did you mean ";
    for (size_t i = 0; i < near.size(); ++i) s += (i == 0 ? "" : i + 1 == near.size() ? " or " : ", ") + near[i];
    return s + "?)";
}

}  // namespace leap::cli
