#pragma once
// A path's token ids after the shared prompt, kept in step with its text. A text edit keeps the
// tokens up to the last token boundary at or before the cut, re-tokenizes the kept part of a cut
// token, then tokenizes the appended text on its own; sampled tokens are kept as sampled. Both
// backends use it: the in-process one (PathSequence adds the KV cache) and the remote one, so
// the ids sent to a server are the ids the in-process engine holds in its cache.
#include <string>
#include <vector>

#include "core/tokenizer.h"

namespace leap {

class TokenText {
public:
    struct Edit {
        int rolled_back = 0;  // tokens dropped from the end
        int refed = 0;        // tokens of the kept part of a cut token
        int appended = 0;     // tokens of the appended text
    };

    // Starts after the shared prompt with `owned` tokens spelling `text` (the prefill).
    void reset(const std::vector<Token>& owned, const std::string& text, const TokenizerBase& tok);
    // Makes the text text[0, keep) + append.
    Edit edit(size_t keep, const std::string& append, const TokenizerBase& tok);
    // A sampled token: part of the text now.
    void push_sampled(Token t, const std::string& piece);

    const std::string& text() const { return text_; }
    const std::vector<Token>& tokens() const { return tokens_; }
    size_t size() const { return tokens_.size(); }

private:
    int add_text(const std::string& s, const TokenizerBase& tok);

    std::string text_;
    std::vector<Token> tokens_;
    std::vector<size_t> ends_;    // text offset just after each token
    std::vector<char> boundary_;  // ends_[i] is a clean cut point (pieces matched the text)
};

}  // namespace leap
