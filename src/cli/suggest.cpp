// "Did you mean": the names nearest to a typo, by edit distance.
#include <algorithm>

#include "cli/usage.h"

namespace leap::cli {

namespace {

// Edits (insert, delete, substitute, swap two neighbours) turning a into b: "slove" is one from
// "solve".
size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
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
    // A typo of a short name is one edit; longer names tolerate two, or one in three letters.
    const size_t limit = t.size() <= 3 ? 1 : std::max<size_t>(2, t.size() / 3);
    std::vector<std::pair<size_t, std::string>> near;
    for (const std::string& n : names) {
        const std::string b = bare(n);
        if (b.empty() || n == typed) continue;
        if (typed.rfind("--", 0) == 0 && n.rfind("--", 0) != 0) continue;  // a long flag's typo is a long flag
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
