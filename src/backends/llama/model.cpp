#include "backends/llama/model.h"

#ifdef LEAP_HAVE_LLAMA_COMMON
#include <chat.h>
#include <log.h>
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
#ifdef LEAP_HAVE_LLAMA_COMMON
            // The chat code's own log (template workarounds it applies): errors reach leap as
            // exceptions, so it stays quiet too.
            common_log_set_verbosity_thold(-1);
#endif
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
    // The destructor does not run for a constructor that throws: the loaded model is freed here
    // (found by the sanitizer build: each refused chat template kept its model).
    try {
        load_chat_template(opt);
    } catch (...) {
        templates_.reset();
        llama_model_free(model_);
        model_ = nullptr;
        throw;
    }
}

void LlamaModel::load_chat_template(const ModelOptions& opt) {
    std::string override_text;
    if (!opt.chat_template_file.empty()) override_text = read_text_file(opt.chat_template_file, "chat template");
    template_origin_ = opt.chat_template_file.empty() ? "the chat template of '" + opt.path + "'"
                                                      : "chat template '" + opt.chat_template_file + "'";
#ifdef LEAP_HAVE_LLAMA_COMMON
    try {
        templates_.reset(common_chat_templates_init(model_, override_text).release());
    } catch (const std::exception& e) {
        // A syntax error, or a render of llama.cpp's capability probes that passed a bound of
        // its Jinja engine (a loop or recursion that does not end: patches/llama.cpp-jinja-bounds.patch).
        throw Error("chat template of '" + (opt.chat_template_file.empty() ? opt.path : opt.chat_template_file) +
                    "' cannot be used: " + e.what());
    }
    detect_thinking();
#else
    // Built against a llama.cpp install (no common library): llama_chat_apply_template, which
    // recognises llama.cpp's built-in templates by their text.
    const char* builtin = llama_model_chat_template(model_, nullptr);
    template_text_ = override_text.empty() ? (builtin ? builtin : "") : override_text;
    if (template_text_.empty()) throw Error("model '" + opt.path + "' has no chat template; pass --chat-template-file FILE");
    thinking_note_ = "leap was built against a llama.cpp install, which has no chat code to read it from the template";
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
    std::vector<ChatTurn> turns = earlier;
    turns.push_back({"user", user_message});
    if (!thinking_ || thinking_->template_opens) return apply_template(turns, "", 0);
    // Leave the prompt inside a reasoning, as the template continues one: render the turns with
    // an assistant turn holding a marker reasoning, continued there, and cut the marker off.
    static const std::string kMark = "LEAPREASONINGCONTINUES";
    turns.push_back({"assistant", ""});
    std::string out = apply_template(turns, kMark, 1);
    if (out.size() >= kMark.size() && out.compare(out.size() - kMark.size(), kMark.size(), kMark) == 0) {
        out.resize(out.size() - kMark.size());
        return out;
    }
    // A template engine that cannot continue this reasoning: the generation prompt, then the
    // section's start tag.
    turns.pop_back();
    return apply_template(turns, "", 0) + thinking_->start;
#endif
}

#ifdef LEAP_HAVE_LLAMA_COMMON
std::string LlamaModel::apply_template(const std::vector<ChatTurn>& turns, const std::string& reasoning,
                                       int continue_in) const {
    common_chat_templates_inputs in;
    for (const ChatTurn& t : turns) {
        common_chat_msg msg;
        msg.role = t.role;
        msg.content = t.content;
        in.messages.push_back(msg);
    }
    if (continue_in > 0) in.messages.back().reasoning_content = reasoning;
    in.add_generation_prompt = continue_in == 0;
    in.continue_final_message = continue_in == 0   ? COMMON_CHAT_CONTINUATION_NONE
                                : continue_in == 1 ? COMMON_CHAT_CONTINUATION_REASONING
                                                   : COMMON_CHAT_CONTINUATION_CONTENT;
    in.use_jinja = true;
    in.enable_thinking = true;
    try {
        return common_chat_templates_apply(templates_.get(), in).prompt;
    } catch (const std::exception& e) {
        throw Error(template_origin_ + " failed to render: " + e.what());
    }
}

void LlamaModel::detect_thinking() {
    TemplateRenders r;
    r.user_sentinel = "LEAPUSERMESSAGE";
    r.reasoning_sentinel = "LEAPREASONING";
    r.content_sentinel = "LEAPANSWER";
    common_chat_templates_inputs in;
    common_chat_msg user;
    user.role = "user";
    user.content = r.user_sentinel;
    in.messages.push_back(user);
    in.add_generation_prompt = true;
    in.use_jinja = true;
    in.enable_thinking = true;
    try {
        const common_chat_params plain = common_chat_templates_apply(templates_.get(), in);
        r.plain = plain.prompt;
        r.supports_thinking = plain.supports_thinking;
        r.start_tag = plain.thinking_start_tag;
        r.end_tags = plain.thinking_end_tags;
    } catch (const std::exception& e) {
        thinking_note_ = template_origin_ + " failed to render: " + e.what();
        return;
    }
    // A template that cannot render a reasoning simply shows none.
    auto render = [&](int continue_in) {
        try {
            std::vector<ChatTurn> turns{{"user", r.user_sentinel}, {"assistant", continue_in == 2 ? r.content_sentinel : ""}};
            return apply_template(turns, r.reasoning_sentinel, continue_in);
        } catch (const std::exception&) {
            return std::string();
        }
    };
    r.in_reasoning = render(1);
    r.in_content = render(2);
    std::string why;
    thinking_ = derive_thinking_format(r, &why);
    if (!thinking_) thinking_note_ = why;
}
#else
std::string LlamaModel::apply_template(const std::vector<ChatTurn>&, const std::string&, int) const { return {}; }
void LlamaModel::detect_thinking() {}
#endif

}  // namespace leap
