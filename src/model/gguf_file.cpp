#include "model/gguf_file.h"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "ggml.h"
#include "gguf.h"

namespace fs = std::filesystem;

namespace leap {

namespace {

struct GgufDeleter {
    void operator()(gguf_context* c) const { gguf_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;

// Captures ggml's error log lines while alive (to explain why the GGUF reader failed), passing
// other levels through to the previous logger.
class GgmlLogCapture {
public:
    GgmlLogCapture() {
        ggml_log_get(&prev_cb_, &prev_ud_);
        ggml_log_set(&GgmlLogCapture::callback, this);
    }
    ~GgmlLogCapture() { ggml_log_set(prev_cb_, prev_ud_); }
    GgmlLogCapture(const GgmlLogCapture&) = delete;
    GgmlLogCapture& operator=(const GgmlLogCapture&) = delete;
    const std::string& errors() const { return errors_; }

private:
    static void callback(ggml_log_level level, const char* text, void* ud) {
        auto* self = static_cast<GgmlLogCapture*>(ud);
        if (level != GGML_LOG_LEVEL_CONT) self->last_ = level;
        if (self->last_ == GGML_LOG_LEVEL_ERROR) {
            self->errors_ += text;
        } else if (self->prev_cb_) {
            self->prev_cb_(level, text, self->prev_ud_);
        }
    }
    ggml_log_callback prev_cb_ = nullptr;
    void* prev_ud_ = nullptr;
    ggml_log_level last_ = GGML_LOG_LEVEL_INFO;
    std::string errors_;
};

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

// The last non-empty line of ggml's error output, without the "function: " prefix.
std::string last_reason(const std::string& log) {
    std::istringstream in(log);
    std::string line, last;
    while (std::getline(in, line)) {
        line = trim(line);
        if (!line.empty()) last = line;
    }
    if (const auto p = last.find(": "); p != std::string::npos && last.find(' ') > p) last = last.substr(p + 2);
    return last;
}

std::string printable_magic(const unsigned char* b, size_t n) {
    std::string s;
    char buf[8];
    for (size_t i = 0; i < n; ++i) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\') {
            s += (char)b[i];
        } else {
            std::snprintf(buf, sizeof buf, "\\x%02x", b[i]);
            s += buf;
        }
    }
    return s;
}

void check_metadata(const gguf_context* ctx, const std::string& path);

// All the checks of check_gguf_file; returns the open context (metadata only).
GgufPtr open_validated(const std::string& path, uint64_t& file_size) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
        throw Error("cannot access model file " + path + ": " + ec.message());
    if (!fs::exists(st)) throw Error("model file not found: " + path);
    if (fs::is_directory(st)) throw Error(path + " is a directory, not a GGUF model file");
    if (!fs::is_regular_file(st)) throw Error(path + " is not a regular file, not a GGUF model file");
    file_size = fs::file_size(path, ec);
    if (ec) throw Error("cannot access model file " + path + ": " + ec.message());
    if (file_size == 0) throw Error(path + " is empty (0 bytes), not a GGUF model file");

    {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (!f) throw Error("cannot open model file " + path + ": " + std::strerror(errno));
        unsigned char magic[4] = {0, 0, 0, 0};
        const size_t n = std::fread(magic, 1, 4, f);
        std::fclose(f);
        if (n < 4 || std::memcmp(magic, "GGUF", 4) != 0)
            throw Error(path + " is not a GGUF file (it starts with \"" + printable_magic(magic, n) +
                        "\", a GGUF file starts with \"GGUF\")");
    }

    GgufPtr ctx;
    std::string reason;
    {
        GgmlLogCapture capture;
        ctx.reset(gguf_init_from_file(path.c_str(), gguf_init_params{/*no_alloc=*/true, /*ctx=*/nullptr}));
        reason = last_reason(capture.errors());
    }
    if (!ctx)
        throw Error(path + " is not a valid GGUF file: its header is truncated or corrupt" +
                    (reason.empty() ? std::string() : " (" + reason + ")"));

    // Tensor data must lie inside the file.
    const uint64_t data_offset = gguf_get_data_offset(ctx.get());
    uint64_t end = data_offset;
    uint64_t first_cut_offset = UINT64_MAX;
    std::string first_cut;  // the first tensor (by position) that does not fit in the file
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx.get()); ++i) {
        const uint64_t off = data_offset + gguf_get_tensor_offset(ctx.get(), i);
        const uint64_t e = off + gguf_get_tensor_size(ctx.get(), i);
        end = std::max(end, e);
        if (e > file_size && off < first_cut_offset) {
            first_cut_offset = off;
            first_cut = gguf_get_tensor_name(ctx.get(), i);
        }
    }
    if (end > file_size)
        throw Error(path + " is truncated: its tensor data needs " + std::to_string(end) +
                    " bytes but the file has only " + std::to_string(file_size) + " (tensor '" + first_cut +
                    "' is cut off; incomplete download or copy?)");
    check_metadata(ctx.get(), path);
    return ctx;
}

bool is_int_type(gguf_type t) {
    switch (t) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16:
        case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: return true;
        default: return false;
    }
}

// An integer KV of any integer type; for a per-layer array, its first element.
std::optional<int64_t> get_int(const gguf_context* ctx, const std::string& key) {
    const int64_t id = gguf_find_key(ctx, key.c_str());
    if (id < 0) return std::nullopt;
    gguf_type t = gguf_get_kv_type(ctx, id);
    const void* p = nullptr;
    if (t == GGUF_TYPE_ARRAY) {
        t = gguf_get_arr_type(ctx, id);
        if (!is_int_type(t) || gguf_get_arr_n(ctx, id) == 0) return std::nullopt;
        p = gguf_get_arr_data(ctx, id);
    } else {
        if (!is_int_type(t)) return std::nullopt;
        p = gguf_get_val_data(ctx, id);
    }
    switch (t) {
        case GGUF_TYPE_UINT8: return (int64_t) * (const uint8_t*)p;
        case GGUF_TYPE_INT8: return (int64_t) * (const int8_t*)p;
        case GGUF_TYPE_UINT16: return (int64_t) * (const uint16_t*)p;
        case GGUF_TYPE_INT16: return (int64_t) * (const int16_t*)p;
        case GGUF_TYPE_UINT32: return (int64_t) * (const uint32_t*)p;
        case GGUF_TYPE_INT32: return (int64_t) * (const int32_t*)p;
        case GGUF_TYPE_UINT64: return (int64_t) * (const uint64_t*)p;
        case GGUF_TYPE_INT64: return *(const int64_t*)p;
        default: return std::nullopt;
    }
}

std::optional<double> get_float(const gguf_context* ctx, const std::string& key) {
    const int64_t id = gguf_find_key(ctx, key.c_str());
    if (id < 0) return std::nullopt;
    switch (gguf_get_kv_type(ctx, id)) {
        case GGUF_TYPE_FLOAT32: return (double)gguf_get_val_f32(ctx, id);
        case GGUF_TYPE_FLOAT64: return gguf_get_val_f64(ctx, id);
        default: {
            auto i = get_int(ctx, key);
            if (i) return (double)*i;
            return std::nullopt;
        }
    }
}

std::string get_str(const gguf_context* ctx, const std::string& key) {
    const int64_t id = gguf_find_key(ctx, key.c_str());
    if (id < 0 || gguf_get_kv_type(ctx, id) != GGUF_TYPE_STRING) return "";
    return gguf_get_val_str(ctx, id);
}

// What llama.cpp's loader asserts (GGML_ASSERT: the process aborts) rather than throws about
// the metadata, checked first so `leap info` and every command that loads the model refuse the
// file with the same message. The sites: llama-model.cpp load_hparams (layer and expert counts),
// ggml's norm ops (a NaN or negative epsilon), llama-vocab.cpp load (two equal token strings).
void check_metadata(const gguf_context* c, const std::string& path) {
    auto bad = [&path](const std::string& key, const std::string& why) {
        throw Error(path + ": metadata field " + key + " " + why + " (a corrupt or hand-edited file; llama.cpp would abort on it)");
    };
    const std::string arch = get_str(c, "general.architecture");
    constexpr int64_t kMaxLayers = 512;    // LLAMA_MAX_LAYERS (llama-hparams.h)
    constexpr int64_t kMaxExperts = 1024;  // LLAMA_MAX_EXPERTS
    if (!arch.empty()) {
        const std::string p = arch + ".";
        const auto layers = get_int(c, p + "block_count");
        if (layers && (*layers < 1 || *layers > kMaxLayers))
            bad(p + "block_count", "is " + std::to_string(*layers) + "; a model has 1 to " + std::to_string(kMaxLayers) + " layers");
        if (const auto nextn = get_int(c, p + "nextn_predict_layers"); nextn && layers && (*nextn < 0 || *nextn > *layers))
            bad(p + "nextn_predict_layers", "is " + std::to_string(*nextn) + ", outside 0.." + std::to_string(*layers) + " (block_count)");
        for (const char* k : {"embedding_length", "attention.head_count", "context_length"})
            if (const auto v = get_int(c, p + k); v && *v < 1)
                bad(p + k, "is " + std::to_string(*v) + "; it must be at least 1");
        if (const auto v = get_int(c, p + "attention.head_count_kv"); v && *v < 0)
            bad(p + "attention.head_count_kv", "is " + std::to_string(*v) + "; it must not be negative");
        const int64_t experts = get_int(c, p + "expert_count").value_or(0);
        const int64_t used = get_int(c, p + "expert_used_count").value_or(0);
        if (experts < 0 || experts > kMaxExperts)
            bad(p + "expert_count", "is " + std::to_string(experts) + ", outside 0.." + std::to_string(kMaxExperts));
        if (used < 0 || used > experts || (experts > 0 && used == 0))
            bad(p + "expert_used_count", "is " + std::to_string(used) + " with expert_count " + std::to_string(experts) +
                                             " (it must be 1.." + std::to_string(experts) + ", or 0 without experts)");
        for (const char* k : {"attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon"}) {
            const auto eps = get_float(c, p + k);
            if (eps && !(std::isfinite(*eps) && *eps >= 0)) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%g", *eps);
                bad(p + k, std::string("is ") + buf + "; a norm epsilon is a finite number >= 0");
            }
        }
        if (const auto base = get_float(c, p + "rope.freq_base"); base && !(std::isfinite(*base) && *base > 0)) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", *base);
            bad(p + "rope.freq_base", std::string("is ") + buf + "; it must be a finite number > 0");
        }
    }

    const int64_t tok = gguf_find_key(c, "tokenizer.ggml.tokens");
    if (tok < 0 || gguf_get_kv_type(c, tok) != GGUF_TYPE_ARRAY || gguf_get_arr_type(c, tok) != GGUF_TYPE_STRING)
        return;  // llama.cpp's loader throws (a clear error) for a missing or mistyped vocabulary
    const int64_t n_vocab = (int64_t)gguf_get_arr_n(c, tok);
    std::unordered_map<std::string_view, int64_t> first_id;
    first_id.reserve((size_t)n_vocab);
    for (int64_t i = 0; i < n_vocab; ++i) {
        const char* text = gguf_get_arr_str(c, tok, (size_t)i);
        const auto [it, fresh] = first_id.emplace(std::string_view(text), i);
        if (!fresh)
            bad("tokenizer.ggml.tokens", "holds the same token string twice (ids " + std::to_string(it->second) + " and " +
                                             std::to_string(i) + ": " + nlohmann::json(std::string(text)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) + ")");
    }
}

}  // namespace

void check_gguf_file(const std::string& path) {
    uint64_t size = 0;
    open_validated(path, size);
}

std::string ftype_name(int64_t ftype) {
    switch (ftype) {
        case 0: return "all F32";
        case 1: return "F16";
        case 2: return "Q4_0";
        case 3: return "Q4_1";
        case 7: return "Q8_0";
        case 8: return "Q5_0";
        case 9: return "Q5_1";
        case 10: return "Q2_K - Medium";
        case 11: return "Q3_K - Small";
        case 12: return "Q3_K - Medium";
        case 13: return "Q3_K - Large";
        case 14: return "Q4_K - Small";
        case 15: return "Q4_K - Medium";
        case 16: return "Q5_K - Small";
        case 17: return "Q5_K - Medium";
        case 18: return "Q6_K";
        case 19: return "IQ2_XXS";
        case 20: return "IQ2_XS";
        case 21: return "Q2_K - Small";
        case 22: return "IQ3_XS";
        case 23: return "IQ3_XXS";
        case 24: return "IQ1_S";
        case 25: return "IQ4_NL";
        case 26: return "IQ3_S";
        case 27: return "IQ3_M";
        case 28: return "IQ2_S";
        case 29: return "IQ2_M";
        case 30: return "IQ4_XS";
        case 31: return "IQ1_M";
        case 32: return "BF16";
        case 36: return "TQ1_0";
        case 37: return "TQ2_0";
        case 38: return "MXFP4 MoE";
        case 39: return "NVFP4";
        case 40: return "Q1_0";
        case 41: return "Q2_0";
        default: return "unknown (" + std::to_string(ftype) + ")";
    }
}

std::string describe_chat_template(const std::string& t) {
    if (t.empty()) return "";
    const bool think = t.find("<think>") != std::string::npos;
    if (t.find("<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>") != std::string::npos)  // <｜Assistant｜>
        return think ? "deepseek-r1" : "deepseek";
    if (t.find("<|im_start|>") != std::string::npos) return think ? "chatml+think (qwq/qwen3 style)" : "chatml";
    if (t.find("<|start_header_id|>") != std::string::npos) return "llama3";
    if (t.find("<start_of_turn>") != std::string::npos) return "gemma";
    if (t.find("[INST]") != std::string::npos) return "llama2/mistral";
    std::istringstream in(t);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (!line.empty()) break;
    }
    if (line.size() > 60) line = line.substr(0, 57) + "...";
    return "unrecognised, starts with: " + line;
}

GgufInfo read_gguf_info(const std::string& path) {
    GgufInfo info;
    info.path = path;
    GgufPtr owner = open_validated(path, info.file_size);
    const gguf_context* c = owner.get();

    info.version = gguf_get_version(c);
    info.alignment = gguf_get_alignment(c);
    info.data_offset = gguf_get_data_offset(c);
    info.architecture = get_str(c, "general.architecture");
    info.name = get_str(c, "general.name");
    const std::string a = info.architecture;
    info.n_embd = get_int(c, a + ".embedding_length").value_or(0);
    info.n_layer = get_int(c, a + ".block_count").value_or(0);
    info.n_head = get_int(c, a + ".attention.head_count").value_or(0);
    info.n_head_kv = get_int(c, a + ".attention.head_count_kv").value_or(info.n_head);
    info.n_ff = get_int(c, a + ".feed_forward_length").value_or(0);
    info.n_ctx_train = get_int(c, a + ".context_length").value_or(0);
    info.rope_freq_base = get_float(c, a + ".rope.freq_base").value_or(0);
    info.rms_eps = get_float(c, a + ".attention.layer_norm_rms_epsilon").value_or(0);
    info.file_type = get_int(c, "general.file_type").value_or(-1);
    info.file_type_name = info.file_type >= 0 ? ftype_name(info.file_type) : "";

    info.n_tensors = gguf_get_n_tensors(c);
    for (int64_t i = 0; i < info.n_tensors; ++i) {
        const int64_t* ne = gguf_get_tensor_ne(c, i);
        uint64_t n = 1;
        for (int d = 0; d < GGML_MAX_DIMS; ++d) n *= (uint64_t)ne[d];
        const size_t bytes = gguf_get_tensor_size(c, i);
        info.n_params += n;
        auto& st = info.tensor_types[ggml_type_name(gguf_get_tensor_type(c, i))];
        st.n_tensors += 1;
        st.n_elements += n;
        st.n_bytes += bytes;
        info.data_size = std::max<uint64_t>(info.data_size, gguf_get_tensor_offset(c, i) + bytes);
    }

    const int64_t tok = gguf_find_key(c, "tokenizer.ggml.tokens");
    if (tok >= 0 && gguf_get_kv_type(c, tok) == GGUF_TYPE_ARRAY) info.n_vocab = (int64_t)gguf_get_arr_n(c, tok);
    info.tokenizer_model = get_str(c, "tokenizer.ggml.model");
    info.tokenizer_pre = get_str(c, "tokenizer.ggml.pre");
    const int64_t ct = gguf_find_key(c, "tokenizer.chat_template");
    if (ct >= 0 && gguf_get_kv_type(c, ct) == GGUF_TYPE_STRING) {
        info.has_chat_template = true;
        info.chat_template = gguf_get_val_str(c, ct);
        info.chat_template_name = describe_chat_template(info.chat_template);
    }
    info.leap_preset = get_str(c, "leap.preset");
    if (const int64_t id = gguf_find_key(c, "leap.seed"); id >= 0 && gguf_get_kv_type(c, id) == GGUF_TYPE_UINT64)
        info.leap_seed = gguf_get_val_u64(c, id);
    return info;
}

std::string format_bytes(uint64_t b) {
    char buf[64];
    if (b >= (1ULL << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (double)(1ULL << 30));
    else if (b >= (1ULL << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (double)(1ULL << 20));
    else if (b >= (1ULL << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
    else std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
    return buf;
}

std::string format_count(uint64_t n) {
    char buf[64];
    if (n >= 1000000000ULL) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
    else if (n >= 1000000ULL) std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
    else if (n >= 1000ULL) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
    else std::snprintf(buf, sizeof buf, "%llu", (unsigned long long)n);
    return buf;
}

std::string format_gguf_info(const GgufInfo& i) {
    std::ostringstream o;
    auto row = [&o](const char* k, const std::string& v) { o << k << std::string(16 - std::strlen(k), ' ') << v << '\n'; };
    row("file:", i.path + " (" + format_bytes(i.file_size) + ", GGUF v" + std::to_string(i.version) + ")");
    row("architecture:", i.architecture.empty() ? "(none)" : i.architecture);
    if (!i.name.empty()) row("name:", i.name);
    if (i.n_embd > 0 || i.n_layer > 0) {
        std::ostringstream s;
        s << "n_embd " << i.n_embd << ", n_layer " << i.n_layer << ", n_head " << i.n_head << ", n_head_kv "
          << i.n_head_kv << ", n_ff " << i.n_ff << ", n_ctx_train " << i.n_ctx_train;
        if (i.rope_freq_base > 0) s << ", rope_base " << i.rope_freq_base;
        row("shape:", s.str());
    }
    row("parameters:", format_count(i.n_params) + " (" + std::to_string(i.n_params) + " in " +
                           std::to_string(i.n_tensors) + " tensors)");
    {
        std::string v = std::to_string(i.n_vocab) + " tokens";
        if (!i.tokenizer_model.empty()) v += ", tokenizer " + i.tokenizer_model;
        if (!i.tokenizer_pre.empty()) v += " (pre " + i.tokenizer_pre + ")";
        row("vocab:", v);
    }
    row("chat template:", i.has_chat_template
                              ? i.chat_template_name + " (" + std::to_string(i.chat_template.size()) + " chars)"
                              : "none");
    row("file type:", i.file_type >= 0 ? i.file_type_name + " (" + std::to_string(i.file_type) + ")" : "(not set)");
    if (!i.tensor_types.empty()) {
        std::string v;
        for (const auto& [t, st] : i.tensor_types)
            v += (v.empty() ? "" : ", ") + t + ": " + std::to_string(st.n_tensors) + " (" + format_bytes(st.n_bytes) + ")";
        row("tensor types:", v);
    }
    if (!i.leap_preset.empty() || i.leap_seed)
        row("leap:", "random model, preset " + i.leap_preset + ", seed " + std::to_string(i.leap_seed.value_or(0)));
    return o.str();
}

nlohmann::json gguf_info_json(const GgufInfo& i) {
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [t, st] : i.tensor_types)
        types[t] = {{"n_tensors", st.n_tensors}, {"n_elements", st.n_elements}, {"n_bytes", st.n_bytes}};
    nlohmann::json j = {
        {"path", i.path},
        {"file_size", i.file_size},
        {"gguf_version", i.version},
        {"alignment", i.alignment},
        {"data_offset", i.data_offset},
        {"data_size", i.data_size},
        {"architecture", i.architecture},
        {"name", i.name},
        {"n_embd", i.n_embd},
        {"n_layer", i.n_layer},
        {"n_head", i.n_head},
        {"n_head_kv", i.n_head_kv},
        {"n_ff", i.n_ff},
        {"n_ctx_train", i.n_ctx_train},
        {"rope_freq_base", i.rope_freq_base},
        {"rms_eps", i.rms_eps},
        {"n_tensors", i.n_tensors},
        {"n_params", i.n_params},
        {"tensor_types", types},
        {"file_type", i.file_type},
        {"file_type_name", i.file_type_name},
        {"n_vocab", i.n_vocab},
        {"tokenizer_model", i.tokenizer_model},
        {"tokenizer_pre", i.tokenizer_pre},
        {"has_chat_template", i.has_chat_template},
        {"chat_template_name", i.chat_template_name},
        {"chat_template_length", i.chat_template.size()},
    };
    if (!i.leap_preset.empty()) j["leap_preset"] = i.leap_preset;
    if (i.leap_seed) j["leap_seed"] = *i.leap_seed;
    return j;
}

}  // namespace leap
