#include "nano/vocab.h"

#include <memory>
#include <set>

#include "core/error.h"
#include "gguf.h"

namespace leap::nano {

namespace {
// GPT-2's byte-to-unicode table: printable bytes stand for themselves, the others map to
// code points from 256 up, so every byte has a visible one-character token.
std::vector<std::string> byte_tokens() {
    auto utf8 = [](unsigned cp) {
        std::string s;
        if (cp < 0x80) {
            s += (char)cp;
        } else {
            s += (char)(0xC0 | (cp >> 6));
            s += (char)(0x80 | (cp & 0x3F));
        }
        return s;
    };
    std::vector<std::string> out(256);
    unsigned extra = 0;
    for (unsigned b = 0; b < 256; ++b) {
        const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        out[b] = utf8(printable ? b : 256 + extra++);
    }
    return out;
}

// llama.cpp's token types (llama.h: LLAMA_TOKEN_TYPE_*).
constexpr int kNormal = 1, kControl = 3, kUserDefined = 4;
}  // namespace

std::string chat_template() {
    return std::string("{%- for message in messages -%}{%- if message['role'] == 'user' -%}") + kUserTurn +
           "{{ message['content'] }}{%- endif -%}{%- endfor -%}{%- if add_generation_prompt -%}" + kAssistantTurn +
           "<think>\n{% endif -%}";
}

VocabInfo write_vocab_gguf(const std::string& path, const std::vector<std::string>& words) {
    std::vector<std::string> tokens = byte_tokens();
    std::vector<int32_t> types(tokens.size(), kNormal);
    VocabInfo info;
    info.n_bytes = (int)tokens.size();
    std::set<std::string> seen(tokens.begin(), tokens.end());
    for (const auto& w : words) {
        if (w.empty()) throw Error("nano vocabulary: empty word");
        if (!seen.insert(w).second) continue;
        tokens.push_back(w);
        types.push_back(kUserDefined);
        ++info.n_user_defined;
    }
    int32_t end_id = -1, user_id = -1;
    for (const char* c : {kUserTurn, kAssistantTurn, kEndOfText}) {
        if (!seen.insert(c).second) throw Error(std::string("nano vocabulary: word '") + c + "' is a control token");
        if (std::string(c) == kEndOfText) end_id = (int32_t)tokens.size();
        if (std::string(c) == kUserTurn) user_id = (int32_t)tokens.size();
        tokens.push_back(c);
        types.push_back(kControl);
        ++info.n_control;
    }
    info.n_tokens = (int)tokens.size();

    std::unique_ptr<gguf_context, decltype(&gguf_free)> g(gguf_init_empty(), gguf_free);
    gguf_set_val_str(g.get(), "general.architecture", "qwen2");
    gguf_set_val_str(g.get(), "general.name", "leap-nano-vocab");
    gguf_set_val_str(g.get(), "tokenizer.ggml.model", "gpt2");
    gguf_set_val_str(g.get(), "tokenizer.ggml.pre", "default");
    std::vector<const char*> ptrs;
    for (const auto& t : tokens) ptrs.push_back(t.c_str());
    gguf_set_arr_str(g.get(), "tokenizer.ggml.tokens", ptrs.data(), ptrs.size());
    gguf_set_arr_data(g.get(), "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
    gguf_set_arr_str(g.get(), "tokenizer.ggml.merges", nullptr, 0);  // bytes stay bytes
    gguf_set_val_u32(g.get(), "tokenizer.ggml.bos_token_id", (uint32_t)user_id);
    gguf_set_val_u32(g.get(), "tokenizer.ggml.eos_token_id", (uint32_t)end_id);
    gguf_set_val_u32(g.get(), "tokenizer.ggml.padding_token_id", (uint32_t)end_id);
    gguf_set_val_bool(g.get(), "tokenizer.ggml.add_bos_token", false);
    gguf_set_val_bool(g.get(), "tokenizer.ggml.add_eos_token", false);
    gguf_set_val_str(g.get(), "tokenizer.chat_template", chat_template().c_str());
    if (!gguf_write_to_file(g.get(), path.c_str(), /*only_meta=*/false))
        throw Error("nano vocabulary: cannot write " + path);
    return info;
}

}  // namespace leap::nano
