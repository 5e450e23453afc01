#include "backends/openai/tokenizer.h"

#include "backends/llama/model.h"

namespace leap::openai {

namespace {
ModelOptions vocab_only(ModelOptions o) {
    o.vocab_only = true;
    o.n_gpu_layers = 0;
    return o;
}
}  // namespace

GgufTokenizer::GgufTokenizer(const LlamaModel& model) : model_(&model) {}

GgufTokenizer::GgufTokenizer(const ModelOptions& opt)
    : owned_(std::make_unique<LlamaModel>(vocab_only(opt))), model_(owned_.get()) {}

GgufTokenizer::~GgufTokenizer() = default;

std::vector<Token> GgufTokenizer::tokenize(const std::string& text, bool add_bos) const {
    return model_->tokenize(text, add_bos);
}

std::string GgufTokenizer::piece(Token t) const { return model_->piece(t); }

bool GgufTokenizer::is_end_of_generation(Token t) const { return model_->is_end_of_generation(t); }

int GgufTokenizer::n_vocab() const { return llama_vocab_n_tokens(model_->vocab()); }

int GgufTokenizer::n_ctx_train() const { return model_->n_ctx_train(); }

std::optional<ThinkingFormat> GgufTokenizer::thinking_format() const { return model_->thinking_format(); }

std::string GgufTokenizer::render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier) const {
    return model_->render_prompt(user_message, earlier);
}

std::string GgufTokenizer::describe() const { return "tokenizer '" + model_->path() + "'"; }

}  // namespace leap::openai
