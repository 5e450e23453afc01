#pragma once
// The model's own tokenizer and chat template, on this machine, for a model that runs on a
// server: the backend sends token ids, so it must tokenize exactly as the in-process engine
// does (special tokens written as text become those tokens) and know each token's text.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/prepared_prompt.h"
#include "core/problem_run.h"
#include "core/thinking.h"
#include "core/tokenizer.h"

namespace leap {
class LlamaModel;
struct ModelOptions;
}

namespace leap::openai {

using leap::Token;

class Tokenizer : public ChatTokenizer {
public:
    // tokenize() and piece() (special tokens included) come from TokenizerBase, render_prompt()
    // from ChatTokenizer: the chat template applied to the earlier turns (a system message, a
    // conversation) and one user message, with the generation prompt (ending inside the thinking
    // section where the format says the backend opens it).
    virtual bool is_end_of_generation(Token t) const = 0;
    virtual int n_vocab() const = 0;
    virtual int n_ctx_train() const { return 0; }  // the model's training context, 0 unknown
    // The thinking format of the chat template (core/thinking.h); nullopt: none known.
    virtual std::optional<ThinkingFormat> thinking_format() const { return std::nullopt; }
    virtual std::string describe() const = 0;  // for messages: where the vocabulary comes from
    // A hint that piece() will be asked for these ids (a remote tokenizer fetches them at once).
    virtual void prefetch(const std::vector<Token>& /*ids*/) const {}
};

// A GGUF's vocabulary and chat template through llama.cpp (a vocab-only GGUF, or a whole model
// loaded without its weights).
class GgufTokenizer : public Tokenizer {
public:
    explicit GgufTokenizer(const LlamaModel& model);  // borrows a loaded model
    explicit GgufTokenizer(const ModelOptions& opt);  // loads one, vocabulary only
    ~GgufTokenizer() override;
    std::vector<Token> tokenize(const std::string& text, bool add_bos) const override;
    std::string piece(Token t) const override;
    bool is_end_of_generation(Token t) const override;
    int n_vocab() const override;
    int n_ctx_train() const override;
    std::string render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier = {}) const override;
    std::optional<ThinkingFormat> thinking_format() const override;
    std::string describe() const override;

private:
    std::unique_ptr<LlamaModel> owned_;
    const LlamaModel* model_;
};

}  // namespace leap::openai
