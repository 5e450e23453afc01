#include "core/similarity.h"

#include <algorithm>
#include <array>
#include <bit>
#include <string>

#include "core/error.h"

namespace leap {

Similarity parse_similarity(std::string_view name) {
    if (name == "indel") return Similarity::Indel;
    if (name == "levenshtein") return Similarity::Levenshtein;
    throw Error("unknown similarity \"" + std::string(name) + "\" (choices: indel, levenshtein)");
}

std::string_view to_string(Similarity kind) {
    switch (kind) {
        case Similarity::Indel: return "indel";
        case Similarity::Levenshtein: return "levenshtein";
    }
    return "?";
}

std::vector<uint32_t> code_points(std::string_view s) {
    std::vector<uint32_t> out;
    out.reserve(s.size());
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    const auto cont = [&](size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
    size_t i = 0;
    while (i < s.size()) {
        const uint8_t b0 = byte(i);
        if (b0 < 0x80) { out.push_back(b0); ++i; continue; }
        // Well-formed sequences per Unicode Table 3-7: the lead byte fixes the length and the
        // allowed range of the second byte (this excludes overlongs, surrogates, > U+10FFFF).
        size_t len = 0;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) len = 2;
        else if (b0 >= 0xE0 && b0 <= 0xEF) {
            len = 3;
            if (b0 == 0xE0) lo = 0xA0;
            if (b0 == 0xED) hi = 0x9F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            len = 4;
            if (b0 == 0xF0) lo = 0x90;
            if (b0 == 0xF4) hi = 0x8F;
        }
        bool ok = len != 0 && i + 1 < s.size() && byte(i + 1) >= lo && byte(i + 1) <= hi;
        for (size_t t = 2; ok && t < len; ++t) ok = cont(i + t);
        if (!ok) { out.push_back(0x110000u + b0); ++i; continue; }  // one invalid byte = one unit
        uint32_t cp = b0 & (0x7F >> len);
        for (size_t t = 1; t < len; ++t) cp = (cp << 6) | (byte(i + t) & 0x3F);
        out.push_back(cp);
        i += len;
    }
    return out;
}

namespace {

using Span = std::span<const uint32_t>;

// Both LCS and edit distance are unchanged by removing a common prefix and suffix.
void trim_common(Span& a, Span& b) {
    size_t p = 0;
    while (p < a.size() && p < b.size() && a[p] == b[p]) ++p;
    a = a.subspan(p);
    b = b.subspan(p);
    size_t q = 0;
    while (q < a.size() && q < b.size() && a[a.size() - 1 - q] == b[b.size() - 1 - q]) ++q;
    a = a.first(a.size() - q);
    b = b.first(b.size() - q);
}

// Match bit vectors of a pattern (the shorter string): peq[c * words + k] has bit r set when
// pattern[64k + r] is the c-th distinct symbol. Text symbols are mapped to their row; symbols
// absent from the pattern map to a final all-zero row.
struct PatternBits {
    size_t words = 0;
    std::vector<uint64_t> peq;
    std::vector<uint32_t> text_rows;

    PatternBits(Span pattern, Span text) {
        words = (pattern.size() + 63) / 64;
        std::vector<uint32_t> alpha(pattern.begin(), pattern.end());
        std::sort(alpha.begin(), alpha.end());
        alpha.erase(std::unique(alpha.begin(), alpha.end()), alpha.end());
        const auto none = static_cast<uint32_t>(alpha.size());
        std::array<uint32_t, 128> ascii;
        ascii.fill(none);
        for (uint32_t c = 0; c < alpha.size(); ++c)
            if (alpha[c] < 128) ascii[alpha[c]] = c;
        const auto row = [&](uint32_t sym) -> uint32_t {
            if (sym < 128) return ascii[sym];
            auto it = std::lower_bound(alpha.begin(), alpha.end(), sym);
            return (it != alpha.end() && *it == sym) ? static_cast<uint32_t>(it - alpha.begin()) : none;
        };
        peq.assign((alpha.size() + 1) * words, 0);
        for (size_t p = 0; p < pattern.size(); ++p)
            peq[row(pattern[p]) * words + p / 64] |= uint64_t{1} << (p % 64);
        text_rows.reserve(text.size());
        for (uint32_t sym : text) text_rows.push_back(row(sym));
    }
    const uint64_t* match(size_t j) const { return &peq[text_rows[j] * words]; }
};

// Orders (a, b) so that a is the shorter one: it becomes the bit-vector pattern.
void shorter_first(Span& a, Span& b) {
    if (a.size() > b.size()) std::swap(a, b);
}

}  // namespace

// Bit-parallel LCS (Allison-Dix / Hyyrö 2004): V holds a zero for each pattern position in the
// LCS so far; per text symbol, V' = (V + (V & M)) | (V & ~M), with carries across words.
size_t lcs_length(Span a, Span b) {
    const size_t before = a.size();
    trim_common(a, b);
    const size_t common = before - a.size();  // trimmed symbols are all in the LCS
    shorter_first(a, b);
    if (a.empty()) return common;
    const PatternBits bits(a, b);
    const size_t w = bits.words;
    std::vector<uint64_t> v(w, ~uint64_t{0});
    for (size_t j = 0; j < b.size(); ++j) {
        const uint64_t* m = bits.match(j);
        uint64_t carry = 0;
        for (size_t k = 0; k < w; ++k) {
            const uint64_t x = v[k] & m[k];
            const uint64_t s1 = v[k] + x;
            const uint64_t s2 = s1 + carry;
            carry = static_cast<uint64_t>(s1 < v[k]) | static_cast<uint64_t>(s2 < s1);
            v[k] = s2 | (v[k] & ~m[k]);
        }
    }
    size_t ones = 0;
    for (size_t k = 0; k + 1 < w; ++k) ones += std::popcount(v[k]);
    const size_t tail = a.size() - 64 * (w - 1);
    const uint64_t tail_mask = tail == 64 ? ~uint64_t{0} : (uint64_t{1} << tail) - 1;
    ones += std::popcount(v[w - 1] & tail_mask);
    return common + (a.size() - ones);
}

size_t indel_distance(Span a, Span b) {
    return a.size() + b.size() - 2 * lcs_length(a, b);
}

// Myers' bit-vector edit distance in Hyyrö's multi-word form (the block step used by edlib).
// Pv/Mv: vertical +1/-1 deltas down a column; hin/hout: the horizontal delta entering a block
// at its top row and leaving it at its bottom row. Row 0 is D[0][j] = j, so block 0 gets +1.
size_t levenshtein_distance(Span a, Span b) {
    trim_common(a, b);
    shorter_first(a, b);
    if (a.empty()) return b.size();
    const PatternBits bits(a, b);
    const size_t w = bits.words;
    const unsigned last_bit = static_cast<unsigned>((a.size() - 1) % 64);  // row m in the last word
    std::vector<uint64_t> pv(w, ~uint64_t{0}), mv(w, 0);
    size_t score = a.size();  // D[m][0]
    for (size_t j = 0; j < b.size(); ++j) {
        const uint64_t* m = bits.match(j);
        int hin = 1;
        for (size_t k = 0; k < w; ++k) {
            uint64_t eq = m[k];
            const uint64_t Pv = pv[k], Mv = mv[k];
            const uint64_t hin_neg = hin < 0 ? 1 : 0;
            const uint64_t xv = eq | Mv;
            eq |= hin_neg;
            const uint64_t xh = (((eq & Pv) + Pv) ^ Pv) | eq;
            uint64_t ph = Mv | ~(xh | Pv);
            uint64_t mh = Pv & xh;
            const unsigned top = (k + 1 == w) ? last_bit : 63;
            const int hout = static_cast<int>((ph >> top) & 1) - static_cast<int>((mh >> top) & 1);
            ph = (ph << 1) | (hin > 0 ? 1 : 0);
            mh = (mh << 1) | hin_neg;
            pv[k] = mh | ~(xv | ph);
            mv[k] = ph & xv;
            hin = hout;
        }
        score = static_cast<size_t>(static_cast<long long>(score) + hin);
    }
    return score;
}

double similarity(Span a, Span b, Similarity kind) {
    switch (kind) {
        case Similarity::Indel: {
            const size_t total = a.size() + b.size();
            if (total == 0) return 1.0;
            return 1.0 - static_cast<double>(indel_distance(a, b)) / static_cast<double>(total);
        }
        case Similarity::Levenshtein: {
            const size_t longest = std::max(a.size(), b.size());
            if (longest == 0) return 1.0;
            return 1.0 - static_cast<double>(levenshtein_distance(a, b)) / static_cast<double>(longest);
        }
    }
    throw Error("similarity: unknown kind");
}

double similarity(std::string_view a, std::string_view b, Similarity kind) {
    const auto ca = code_points(a), cb = code_points(b);
    return similarity(Span(ca), Span(cb), kind);
}

}  // namespace leap
