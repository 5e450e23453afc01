#pragma once
// What the method's token bookkeeping needs from a tokenizer: text to ids (special tokens
// written as text become those tokens) and each id's text. Implemented by the in-process model
// and by the remote backend's GGUF tokenizer.
#include <cstdint>
#include <string>
#include <vector>

namespace leap {

using Token = int32_t;  // llama_token

class TokenizerBase {
public:
    virtual ~TokenizerBase() = default;
    virtual std::vector<Token> tokenize(const std::string& text, bool add_bos) const = 0;
    virtual std::string piece(Token t) const = 0;
};

}  // namespace leap
