#pragma once
// The served model's tokenizer and chat template, asked of llama-server itself (no local GGUF):
//   tokenize      POST /tokenize {"content": text, "add_special": false, "parse_special": true,
//                 "with_pieces": true}; the BOS is added here as the in-process tokenizer adds it.
//   piece         POST /tokenize {"content": [id, ...], "with_pieces": true}: the ids come back
//                 with their pieces (special tokens rendered), as a string or, when the piece is
//                 not valid UTF-8, as an array of its bytes, so the exact bytes are known. Cached
//                 per id; prefetch() asks for many ids in one request.
//   n_vocab, n_ctx_train   GET /v1/models, data[0].meta
//   end of generation      the server does not list its EOG ids: the EOS (/props "eos_token") and
//                 the tokens whose text is one llama.cpp marks as EOG by name (<|im_end|>,
//                 <|eot_id|>, <end_of_turn>, ...). An EOT/EOM id set only by GGUF metadata under
//                 another name is missed (the server still stops there).
//   render_prompt POST /apply-template {"messages": [{"role": "user", ...}]} (with the
//                 generation prompt, as the server renders chat requests).
// Text that is not valid UTF-8 cannot travel in JSON: each byte that llama.cpp's decoder rejects
// is sent as U+FFFD, which is what llama.cpp's BPE tokenizers turn it into anyway (SPM vocabularies
// would use byte tokens instead: use --tokenizer GGUF there).
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backends/openai/http.h"
#include "backends/openai/tokenizer.h"

namespace leap::openai {

class ServerTokenizer : public Tokenizer {
public:
    // Asks the server at once (throws leap::Error when it does not answer or is not llama-server).
    ServerTokenizer(const BaseUrl& url, const RetryPolicy& policy, const std::string& api_key);
    ~ServerTokenizer() override;
    std::vector<Token> tokenize(const std::string& text, bool add_bos) const override;
    std::string piece(Token t) const override;
    bool is_end_of_generation(Token t) const override;
    int n_vocab() const override { return n_vocab_; }
    int n_ctx_train() const override { return n_ctx_train_; }
    std::string render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier = {}) const override;
    std::string describe() const override;
    // Fetches the pieces of the ids not cached yet, in one request.
    void prefetch(const std::vector<Token>& ids) const override;

    // The text with every byte llama.cpp's UTF-8 decoder rejects replaced by U+FFFD.
    static std::string sanitize_utf8(const std::string& text);

private:
    nlohmann::json call(const std::string& path, const nlohmann::json* body) const;  // mutex held
    std::vector<Token> tokenize_locked(const std::string& text) const;
    void prefetch_locked(const std::vector<Token>& ids) const;

    std::string url_text_;
    mutable std::mutex m_;
    mutable std::unique_ptr<HttpConnection> conn_;
    mutable std::unordered_map<Token, std::string> pieces_;
    std::unordered_set<Token> eog_;
    int n_vocab_ = 0;
    int n_ctx_train_ = 0;
    bool add_bos_ = false;
    Token bos_ = -1;
};

}  // namespace leap::openai
