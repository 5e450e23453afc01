#pragma once
// Similarity between two path summaries, measured over Unicode code points.
//   indel       (default): 1 - indel(a,b) / (|a|+|b|), indel = |a|+|b| - 2*LCS(a,b)
//   levenshtein (paper Eq. 4): 1 - lev(a,b) / max(|a|,|b|)
// Both are 1.0 when both strings are empty. Distances are computed bit-parallel (Hyyrö's LCS,
// Myers/Hyyrö's edit distance), so a 2K x 2K code-point pair costs ~2K * 32 word operations.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace leap {

enum class Similarity { Indel, Levenshtein };

// "indel" | "levenshtein"; anything else throws leap::Error naming the value and the choices.
Similarity parse_similarity(std::string_view name);
std::string_view to_string(Similarity kind);

// Decodes UTF-8 into code points. A byte that does not start a well-formed sequence (stray
// continuation, truncated sequence, overlong form, surrogate, > U+10FFFF) counts as one code
// point of its own, mapped to 0x110000 + byte so it never equals a real code point.
std::vector<uint32_t> code_points(std::string_view utf8);

// Exact distances over code-point sequences (symmetric).
size_t lcs_length(std::span<const uint32_t> a, std::span<const uint32_t> b);
size_t indel_distance(std::span<const uint32_t> a, std::span<const uint32_t> b);
size_t levenshtein_distance(std::span<const uint32_t> a, std::span<const uint32_t> b);

// Similarity in [0, 1] over already-decoded code points (lets callers decode each text once).
double similarity(std::span<const uint32_t> a, std::span<const uint32_t> b, Similarity kind);
double similarity(std::string_view a, std::string_view b, Similarity kind);

}  // namespace leap
