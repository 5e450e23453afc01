// Similarity measures: hand-computed values, UTF-8 handling, and a randomized cross-check of the
// bit-parallel distances against plain dynamic programming.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/similarity.h"

using leap::Similarity;

namespace {

using Cps = std::vector<uint32_t>;

size_t dp_lcs(const Cps& a, const Cps& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j)
            d[i][j] = a[i - 1] == b[j - 1] ? d[i - 1][j - 1] + 1 : std::max(d[i - 1][j], d[i][j - 1]);
    return d[a.size()][b.size()];
}

size_t dp_lev(const Cps& a, const Cps& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j)
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
    return d[a.size()][b.size()];
}

double sim_indel(std::string_view a, std::string_view b) { return leap::similarity(a, b, Similarity::Indel); }
double sim_lev(std::string_view a, std::string_view b) { return leap::similarity(a, b, Similarity::Levenshtein); }

}  // namespace

TEST(Similarity, KittenSitting) {
    // LCS("kitten","sitting") = "ittn" (4): indel = 6 + 7 - 8 = 5 over 13 code points.
    EXPECT_DOUBLE_EQ(sim_indel("kitten", "sitting"), 1.0 - 5.0 / 13.0);
    // Classic edit distance 3 (k->s, e->i, +g) over max length 7.
    EXPECT_DOUBLE_EQ(sim_lev("kitten", "sitting"), 1.0 - 3.0 / 7.0);
}

TEST(Similarity, MeasuresDiffer) {
    // "ab" vs "ba": LCS 1 -> indel 2 of 4 -> 0.5; edit distance 2 (two substitutions) of 2 -> 0.
    EXPECT_DOUBLE_EQ(sim_indel("ab", "ba"), 0.5);
    EXPECT_DOUBLE_EQ(sim_lev("ab", "ba"), 0.0);
    // "flaw" vs "lawn": LCS "law" -> indel 2 of 8 -> 0.75; edit distance 2 (-f, +n) of 4 -> 0.5.
    EXPECT_DOUBLE_EQ(sim_indel("flaw", "lawn"), 0.75);
    EXPECT_DOUBLE_EQ(sim_lev("flaw", "lawn"), 0.5);
}

TEST(Similarity, EmptyStrings) {
    EXPECT_EQ(sim_indel("", ""), 1.0);
    EXPECT_EQ(sim_lev("", ""), 1.0);
    // One empty: every code point of the other is inserted.
    EXPECT_EQ(sim_indel("", "abc"), 0.0);
    EXPECT_EQ(sim_indel("abc", ""), 0.0);
    EXPECT_EQ(sim_lev("", "abc"), 0.0);
    EXPECT_EQ(sim_lev("abc", ""), 0.0);
}

TEST(Similarity, IdenticalAndDisjoint) {
    for (const char* s : {"a", "hello world", "caf\xC3\xA9", "x\xFFy"}) {
        EXPECT_EQ(sim_indel(s, s), 1.0) << s;
        EXPECT_EQ(sim_lev(s, s), 1.0) << s;
    }
    EXPECT_EQ(sim_indel("abc", "xyz"), 0.0);
    EXPECT_EQ(sim_lev("abc", "xyz"), 0.0);
    // Different lengths, disjoint: indel 0; edit distance = max length -> 0.
    EXPECT_EQ(sim_indel("ab", "xyz"), 0.0);
    EXPECT_EQ(sim_lev("ab", "xyz"), 0.0);
}

TEST(Similarity, CountsCodePointsNotBytes) {
    // "é" (2 bytes) vs "e": one code point each, different -> 0 in both measures.
    EXPECT_EQ(sim_indel("\xC3\xA9", "e"), 0.0);
    EXPECT_EQ(sim_lev("\xC3\xA9", "e"), 0.0);
    // "café" vs "cafe": 4 code points each, one differs: indel 2/8, edit 1/4 -> 0.75 both.
    // (Over bytes it would be 5 vs 4 bytes and different values.)
    EXPECT_DOUBLE_EQ(sim_indel("caf\xC3\xA9", "cafe"), 0.75);
    EXPECT_DOUBLE_EQ(sim_lev("caf\xC3\xA9", "cafe"), 0.75);
    // "é" vs "è" share the lead byte C3 but are different code points.
    EXPECT_EQ(sim_indel("\xC3\xA9", "\xC3\xA8"), 0.0);
    // Emoji (4 bytes) inserted into "ab": 1 of 5 code points -> indel 1 - 1/5; edit 1 - 1/3.
    EXPECT_DOUBLE_EQ(sim_indel("ab", "a\xF0\x9F\x98\x80" "b"), 1.0 - 1.0 / 5.0);
    EXPECT_DOUBLE_EQ(sim_lev("ab", "a\xF0\x9F\x98\x80" "b"), 1.0 - 1.0 / 3.0);
}

TEST(Similarity, DecodesUtf8) {
    EXPECT_EQ(leap::code_points("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), (Cps{0x61, 0xE9, 0x20AC, 0x1F600}));
    EXPECT_EQ(leap::code_points(""), Cps{});
    // Largest and boundary code points.
    EXPECT_EQ(leap::code_points("\xF4\x8F\xBF\xBF"), Cps{0x10FFFF});
    EXPECT_EQ(leap::code_points("\xEF\xBF\xBF"), Cps{0xFFFF});
    EXPECT_EQ(leap::code_points("\xC2\x80"), Cps{0x80});
}

TEST(Similarity, InvalidBytesCountOnceEach) {
    constexpr uint32_t X = 0x110000;  // invalid byte b decodes to X + b
    EXPECT_EQ(leap::code_points("\xFF"), Cps{X + 0xFF});
    EXPECT_EQ(leap::code_points("\x80" "a"), (Cps{X + 0x80, 'a'}));                    // stray continuation
    EXPECT_EQ(leap::code_points("\xE2\x82" "a"), (Cps{X + 0xE2, X + 0x82, 'a'}));      // truncated
    EXPECT_EQ(leap::code_points("\xC3"), Cps{X + 0xC3});                               // truncated at end
    EXPECT_EQ(leap::code_points("\xC0\xAF"), (Cps{X + 0xC0, X + 0xAF}));               // overlong '/'
    EXPECT_EQ(leap::code_points("\xE0\x80\xAF"), (Cps{X + 0xE0, X + 0x80, X + 0xAF})); // overlong
    EXPECT_EQ(leap::code_points("\xED\xA0\x80"), (Cps{X + 0xED, X + 0xA0, X + 0x80})); // surrogate
    EXPECT_EQ(leap::code_points("\xF4\x90\x80\x80"), (Cps{X + 0xF4, X + 0x90, X + 0x80, X + 0x80}));  // > U+10FFFF
    // Invalid bytes never equal each other or a real code point.
    EXPECT_EQ(sim_indel("\xFF", "\xFE"), 0.0);
    EXPECT_EQ(sim_indel("\xFF", "\xC3\xBF"), 0.0);  // U+00FF
    EXPECT_EQ(sim_indel("\xFF", "\xFF"), 1.0);
    // "a\xFF" vs "a": 2 vs 1 code points -> indel 1 - 1/3, edit 1 - 1/2.
    EXPECT_DOUBLE_EQ(sim_indel("a\xFF", "a"), 1.0 - 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(sim_lev("a\xFF", "a"), 0.5);
}

TEST(Similarity, Symmetric) {
    const std::vector<std::string> texts = {"", "a", "kitten", "sitting", "caf\xC3\xA9", "the quick brown fox",
                                            "brown quick the fox jumps", "\xFF\xFE" "abc"};
    for (const auto& a : texts)
        for (const auto& b : texts) {
            EXPECT_EQ(sim_indel(a, b), sim_indel(b, a)) << a << " | " << b;
            EXPECT_EQ(sim_lev(a, b), sim_lev(b, a)) << a << " | " << b;
        }
}

TEST(Similarity, ParseAndName) {
    EXPECT_EQ(leap::parse_similarity("indel"), Similarity::Indel);
    EXPECT_EQ(leap::parse_similarity("levenshtein"), Similarity::Levenshtein);
    EXPECT_EQ(leap::to_string(Similarity::Indel), "indel");
    EXPECT_EQ(leap::to_string(Similarity::Levenshtein), "levenshtein");
    for (const char* bad : {"", "Indel", "cosine", "levenshtein "}) {
        try {
            leap::parse_similarity(bad);
            ADD_FAILURE() << "no error for \"" << bad << "\"";
        } catch (const leap::Error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("\"" + std::string(bad) + "\""), std::string::npos) << msg;
            EXPECT_NE(msg.find("indel"), std::string::npos) << msg;
            EXPECT_NE(msg.find("levenshtein"), std::string::npos) << msg;
        }
    }
}

namespace {

// Random code-point strings: a small alphabet gives long common subsequences and many ties;
// symbols above 127 exercise the non-ASCII lookup path.
Cps random_cps(leap::Rng& rng, size_t len, uint32_t alphabet) {
    Cps s(len);
    for (auto& c : s) {
        const auto r = static_cast<uint32_t>(rng.below(alphabet));
        c = (r % 3 == 2) ? 0x4E00 + r : 'a' + r;
    }
    return s;
}

// b = a with a few random edits, so the pair shares long stretches (and prefixes/suffixes).
Cps mutate(leap::Rng& rng, Cps a, size_t edits, uint32_t alphabet) {
    for (size_t e = 0; e < edits; ++e) {
        const size_t pos = a.empty() ? 0 : rng.below(a.size() + 1);
        const Cps sym = random_cps(rng, 1, alphabet);
        switch (rng.below(3)) {
            case 0: a.insert(a.begin() + static_cast<std::ptrdiff_t>(pos), sym[0]); break;
            case 1: if (pos < a.size()) a.erase(a.begin() + static_cast<std::ptrdiff_t>(pos)); break;
            default: if (pos < a.size()) a[pos] = sym[0]; break;
        }
    }
    return a;
}

void check_pair(const Cps& a, const Cps& b) {
    const size_t lcs = dp_lcs(a, b), lev = dp_lev(a, b);
    ASSERT_EQ(leap::lcs_length(a, b), lcs) << "|a|=" << a.size() << " |b|=" << b.size();
    ASSERT_EQ(leap::lcs_length(b, a), lcs);
    ASSERT_EQ(leap::indel_distance(a, b), a.size() + b.size() - 2 * lcs);
    ASSERT_EQ(leap::levenshtein_distance(a, b), lev) << "|a|=" << a.size() << " |b|=" << b.size();
    ASSERT_EQ(leap::levenshtein_distance(b, a), lev);
    const size_t total = a.size() + b.size(), longest = std::max(a.size(), b.size());
    ASSERT_EQ(leap::similarity(a, b, Similarity::Indel),
              total == 0 ? 1.0 : 1.0 - double(a.size() + b.size() - 2 * lcs) / double(total));
    ASSERT_EQ(leap::similarity(a, b, Similarity::Levenshtein),
              longest == 0 ? 1.0 : 1.0 - double(lev) / double(longest));
}

}  // namespace

TEST(Similarity, BitParallelMatchesPlainDp) {
    leap::Rng rng(12345);
    const uint32_t alphabets[] = {1, 2, 4, 26, 200};
    // Lengths straddling the 64-bit word boundaries.
    const size_t edge_lengths[] = {0, 1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193};
    for (int iter = 0; iter < 600; ++iter) {
        const uint32_t alpha = alphabets[rng.below(std::size(alphabets))];
        size_t la, lb;
        if (iter % 3 == 0) {
            la = edge_lengths[rng.below(std::size(edge_lengths))];
            lb = edge_lengths[rng.below(std::size(edge_lengths))];
        } else {
            la = rng.below(260);
            lb = rng.below(260);
        }
        const Cps a = random_cps(rng, la, alpha);
        const Cps b = (iter % 2 == 0) ? mutate(rng, a, rng.below(12), alpha) : random_cps(rng, lb, alpha);
        check_pair(a, b);
        if (HasFatalFailure()) return;
    }
}

TEST(Similarity, BitParallelMatchesPlainDpLong) {
    // A few summary-sized pairs (~1-2K code points, many words per column).
    leap::Rng rng(777);
    for (int iter = 0; iter < 4; ++iter) {
        const uint32_t alpha = iter % 2 ? 4 : 40;
        const Cps a = random_cps(rng, 900 + rng.below(700), alpha);
        const Cps b = iter < 2 ? mutate(rng, a, 150, alpha) : random_cps(rng, 900 + rng.below(700), alpha);
        check_pair(a, b);
        if (HasFatalFailure()) return;
    }
}
