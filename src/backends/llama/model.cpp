#include "backends/llama/model.h"

#ifdef LEAP_HAVE_LLAMA_COMMON
#include <chat.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/error.h"
#include "model/gguf_file.h"

namespace leap {

void init_llama_logging() {
    static std::once_flag once;
    std::call_once(once, [] {
        llama_backend_init();
        if (!std::getenv("LEAP_LLAMA_LOG")) {
            llama_log_set(
                [](ggml_log_level level, const char* text, void*) {
                    if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
                },
                nullptr);
        }
    });
}

namespace {
std::string read_text_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(std::string(what) + " '" + path + "' cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

LlamaModel::LlamaModel(const ModelOptions& opt)
    : path_(opt.path), templates_(nullptr, free_templates) {
    init_llama_logging();
    check_gguf_file(opt.path);
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = opt.n_gpu_layers;
    mp.vocab_only = opt.vocab_only;
    model_ = llama_model_load_from_file(opt.path.c_str(), mp);
    if (!model_) throw Error("llama.cpp could not load model '" + opt.path + "' (set LEAP_LLAMA_LOG=1 to see why)");
    vocab_ = llama_model_get_vocab(model_);

    std::string override_text;
    if (!opt.chat_template_file.empty()) override_text = read_text_file(opt.chat_template_file, "chat template");
#ifdef LEAP_HAVE_LLAMA_COMMON
    try {
        templates_.reset(common_chat_templates_init(model_, override_text).release());
    } catch (const std::exception& e) {
        throw Error("chat template of '" + (opt.chat_template_file.empty() ? opt.path : opt.chat_template_file) +
                    "' cannot be parsed: " + e.what());
    }
#else
    // Built against a llama.cpp install (no common library): llama_chat_apply_template, which
    // recognises llama.cpp's built-in templates by their text.
    const char* builtin = llama_model_chat_template(model_, nullptr);
    template_text_ = override_text.empty() ? (builtin ? builtin : "") : override_text;
    if (template_text_.empty()) throw Error("model '" + opt.path + "' has no chat template; pass --chat-template FILE");
#endif
}

void LlamaModel::free_templates(common_chat_templates* t) {
#ifdef LEAP_HAVE_LLAMA_COMMON
    common_chat_templates_free(t);
#else
    (void)t;
#endif
}

LlamaModel::~LlamaModel() {
    templates_.reset();
    if (model_) llama_model_free(model_);
}

int LlamaModel::n_ctx_train() const { return llama_model_n_ctx_train(model_); }

std::vector<llama_token> LlamaModel::tokenize(const std::string& text, bool add_bos) const {
    std::vector<llama_token> out(text.size() + 2);
    int n = llama_tokenize(vocab_, text.data(), (int32_t)text.size(), out.data(), (int32_t)out.size(),
                           false, /*parse_special=*/true);
    if (n < 0) {
        out.resize(-n);
        n = llama_tokenize(vocab_, text.data(), (int32_t)text.size(), out.data(), (int32_t)out.size(), false, true);
    }
    out.resize(n);
    // The chat template usually writes the BOS itself; add it only when missing.
    const llama_token bos = llama_vocab_bos(vocab_);
    if (add_bos && llama_vocab_get_add_bos(vocab_) && bos != LLAMA_TOKEN_NULL && (out.empty() || out[0] != bos))
        out.insert(out.begin(), bos);
    return out;
}

std::string LlamaModel::piece(llama_token t) const {
    char buf[256];
    int n = llama_token_to_piece(vocab_, t, buf, sizeof buf, 0, /*special=*/true);
    if (n >= 0) return std::string(buf, n);
    std::string big(-n, '\0');
    n = llama_token_to_piece(vocab_, t, big.data(), (int32_t)big.size(), 0, true);
    big.resize(n < 0 ? 0 : n);
    return big;
}

std::string LlamaModel::render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier) const {
#ifndef LEAP_HAVE_LLAMA_COMMON
    std::vector<llama_chat_message> msgs;
    size_t chars = user_message.size();
    for (const ChatTurn& t : earlier) {
        msgs.push_back({t.role.c_str(), t.content.c_str()});
        chars += t.content.size();
    }
    msgs.push_back({"user", user_message.c_str()});
    std::vector<char> buf(chars * 2 + 4096);
    int n = llama_chat_apply_template(template_text_.c_str(), msgs.data(), msgs.size(), true, buf.data(),
                                      (int32_t)buf.size());
    if (n > (int)buf.size()) {
        buf.resize(n);
        n = llama_chat_apply_template(template_text_.c_str(), msgs.data(), msgs.size(), true, buf.data(),
                                      (int32_t)buf.size());
    }
    if (n < 0)
        throw Error("the chat template of '" + path_ + "' is not one llama.cpp knows without its common library; "
                    "build leap against a llama.cpp source checkout for jinja templates");
    return std::string(buf.data(), n);
#else
    common_chat_templates_inputs in;
    for (const ChatTurn& t : earlier) {
        common_chat_msg msg;
        msg.role = t.role;
        msg.content = t.content;
        in.messages.push_back(msg);
    }
    common_chat_msg msg;
    msg.role = "user";
    msg.content = user_message;
    in.messages.push_back(msg);
    in.add_generation_prompt = true;
    in.use_jinja = true;
    in.enable_thinking = true;
    try {
        return common_chat_templates_apply(templates_.get(), in).prompt;
    } catch (const std::exception& e) {
        throw Error("chat template of '" + path_ + "' failed to render: " + e.what());
    }
#endif
}

}  // namespace leap
