#pragma once
// A loaded GGUF model with its vocabulary and chat template: loading, tokenizing, rendering
// the prompt. The model is checked first (src/model/gguf_file.h) so a missing, truncated or
// foreign file gets an error naming it instead of a crash deep in the loader.
#include <llama.h>

#include <memory>
#include <string>
#include <vector>

#include "core/problem_run.h"
#include "core/tokenizer.h"

struct common_chat_templates;

namespace leap {

struct ModelOptions {
    std::string path;
    int n_gpu_layers = -1;          // all layers on the GPU when there is one
    std::string chat_template_file; // overrides the GGUF's template
    bool vocab_only = false;        // tokenizer and chat template only, no weights (remote backends)
};

class LlamaModel : public TokenizerBase {
public:
    explicit LlamaModel(const ModelOptions& opt);
    ~LlamaModel();
    LlamaModel(const LlamaModel&) = delete;
    LlamaModel& operator=(const LlamaModel&) = delete;

    llama_model* get() const { return model_; }
    const llama_vocab* vocab() const { return vocab_; }
    const std::string& path() const { return path_; }
    int n_ctx_train() const;

    // Special tokens written as text (e.g. "</think>") become those tokens.
    std::vector<llama_token> tokenize(const std::string& text, bool add_bos) const override;
    std::string piece(llama_token t) const override;  // the token's text, special tokens included
    bool is_end_of_generation(llama_token t) const { return llama_vocab_is_eog(vocab_, t); }

    // The chat template applied to one user message (after `earlier` turns, if any), with the
    // generation prompt (which opens the thinking section for reasoning models).
    std::string render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier = {}) const;

private:
    std::string path_;
    llama_model* model_ = nullptr;
    const llama_vocab* vocab_ = nullptr;
    static void free_templates(common_chat_templates* t);
    std::unique_ptr<common_chat_templates, void (*)(common_chat_templates*)> templates_;
    std::string template_text_;  // without llama.cpp's common library: the raw template
};

// Quiet llama.cpp's own logging unless LEAP_LLAMA_LOG is set; errors still get through.
void init_llama_logging();

}  // namespace leap
