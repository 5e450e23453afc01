#pragma once
// A loaded GGUF model with its vocabulary and chat template: loading, tokenizing, rendering
// the prompt. The model is checked first (src/model/gguf_file.h) so a missing, truncated or
// foreign file gets an error naming it instead of a crash deep in the loader.
#include <llama.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/prepared_prompt.h"
#include "core/problem_run.h"
#include "core/thinking.h"
#include "core/tokenizer.h"

struct common_chat_templates;

namespace leap {

struct ModelOptions {
    std::string path;
    int n_gpu_layers = -1;          // all layers on the GPU when there is one
    std::string chat_template_file; // overrides the GGUF's template
    bool vocab_only = false;        // tokenizer and chat template only, no weights (remote backends)
};

class LlamaModel : public ChatTokenizer {
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
    // generation prompt, ending inside the thinking section: where the template leaves it closed
    // (Qwen3, Seed-OSS, gpt-oss, Ministral), continued inside a reasoning as the template does.
    std::string render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier = {}) const override;

    // The thinking format the chat template shows, read through llama.cpp's chat code
    // (common_chat_templates_apply: supports_thinking, thinking_start_tag, thinking_end_tags and
    // what it renders around a reasoning); nullopt when it has none, `thinking_note()` says why.
    const std::optional<ThinkingFormat>& thinking_format() const { return thinking_; }
    const std::string& thinking_note() const { return thinking_note_; }
    // Names the chat template in messages: the --chat-template-file file, or the GGUF's own.
    const std::string& template_origin() const { return template_origin_; }

private:
    void load_chat_template(const ModelOptions& opt);  // the constructor's part after the model
    std::string path_;
    llama_model* model_ = nullptr;
    const llama_vocab* vocab_ = nullptr;
    static void free_templates(common_chat_templates* t);
    std::unique_ptr<common_chat_templates, void (*)(common_chat_templates*)> templates_;
    std::string template_text_;  // without llama.cpp's common library: the raw template
    std::string template_origin_;
    std::optional<ThinkingFormat> thinking_;
    std::string thinking_note_;
    void detect_thinking();
    // common_chat_templates_apply on these turns; `continue_in`: 0 none, 1 the reasoning, 2 the
    // content of the last (assistant) turn.
    std::string apply_template(const std::vector<ChatTurn>& turns, const std::string& reasoning, int continue_in) const;
};

// Quiet llama.cpp's own logging unless LEAP_LLAMA_LOG is set; errors still get through.
void init_llama_logging();

}  // namespace leap
