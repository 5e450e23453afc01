#pragma once
// Stop strings over generated text. Tokens are pieces of text, so a stop string can straddle a
// token boundary; callers search from a little before the newly appended piece.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leap {

struct StopMatch {
    size_t pos;   // byte offset of the match in the text
    int index;    // which stop string
    size_t end() const { return pos + len; }
    size_t len;
};

// Earliest stop string in `text` that ends after `new_from` (the offset where the newly
// appended text begins): matches lying wholly in old text were already reported.
std::optional<StopMatch> find_stop(std::string_view text, size_t new_from,
                                   const std::vector<std::string>& stops);

}  // namespace leap
