#include "model/make_model.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "core/error.h"
#include "core/rng.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"

namespace fs = std::filesystem;

namespace leap {

// ---- names, presets ----------------------------------------------------------------------------

WeightType parse_weight_type(const std::string& name) {
    if (name == "f32") return WeightType::F32;
    if (name == "f16") return WeightType::F16;
    if (name == "q8_0") return WeightType::Q8_0;
    if (name == "q4_k") return WeightType::Q4_K;
    throw Error("unknown weight type '" + name + "' (expected f32, f16, q8_0 or q4_k)");
}

std::string weight_type_name(WeightType type) {
    switch (type) {
        case WeightType::F32: return "f32";
        case WeightType::F16: return "f16";
        case WeightType::Q8_0: return "q8_0";
        case WeightType::Q4_K: return "q4_k";
    }
    return "?";
}

const std::vector<std::string>& preset_names() {
    static const std::vector<std::string> names = {"tiny", "qwen2.5-0.5b", "r1-distill-1.5b", "r1-distill-7b"};
    return names;
}

ModelShape preset_shape(const std::string& preset) {
    ModelShape s;
    if (preset == "tiny") {
        s = {64, 2, 4, 2, 128, 4096, 1e6f, 1e-6f, true};
    } else if (preset == "qwen2.5-0.5b") {
        s = {896, 24, 14, 2, 4864, 32768, 1e6f, 1e-6f, true};
    } else if (preset == "r1-distill-1.5b") {
        s = {1536, 28, 12, 2, 8960, 131072, 10000.0f, 1e-6f, false};
    } else if (preset == "r1-distill-7b") {
        s = {3584, 28, 28, 4, 18944, 131072, 10000.0f, 1e-6f, false};
    } else {
        std::string list;
        for (const auto& n : preset_names()) list += (list.empty() ? "" : ", ") + n;
        throw Error("unknown model preset '" + preset + "' (expected one of: " + list + ")");
    }
    return s;
}

void validate_shape(const ModelShape& s) {
    auto positive = [](int64_t v, const char* flag) {
        if (v <= 0) throw Error(std::string(flag) + " must be positive (got " + std::to_string(v) + ")");
    };
    positive(s.n_embd, "--n-embd");
    positive(s.n_layer, "--n-layer");
    positive(s.n_head, "--n-head");
    positive(s.n_head_kv, "--n-head-kv");
    positive(s.n_ff, "--n-ff");
    positive(s.n_ctx, "--n-ctx");
    if (s.n_embd % s.n_head != 0)
        throw Error("--n-embd (" + std::to_string(s.n_embd) + ") must be a multiple of --n-head (" +
                    std::to_string(s.n_head) + ")");
    if ((s.n_embd / s.n_head) % 2 != 0)
        throw Error("the head dimension --n-embd / --n-head (" + std::to_string(s.n_embd / s.n_head) +
                    ") must be even (RoPE rotates pairs)");
    if (s.n_head % s.n_head_kv != 0)
        throw Error("--n-head (" + std::to_string(s.n_head) + ") must be a multiple of --n-head-kv (" +
                    std::to_string(s.n_head_kv) + ")");
    if (!(s.rope_base > 0) || !std::isfinite(s.rope_base))
        throw Error("--rope-base must be a positive number");
    if (!(s.rms_eps > 0) || !std::isfinite(s.rms_eps)) throw Error("rms epsilon must be a positive number");
}

std::string llama_dir(const std::string& compiled_default) {
    if (const char* env = std::getenv("LEAP_LLAMA_DIR"); env != nullptr && *env != '\0') return env;
    return compiled_default;
}

std::string default_vocab_path(const std::string& dir) {
    return (fs::path(dir) / "models" / "ggml-vocab-qwen2.gguf").string();
}

// ---- helpers -----------------------------------------------------------------------------------

namespace {

struct GgufDeleter {
    void operator()(gguf_context* c) const { gguf_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
struct GgmlDeleter {
    void operator()(ggml_context* c) const { ggml_free(c); }
};
using GgmlPtr = std::unique_ptr<ggml_context, GgmlDeleter>;

std::string read_text_file(const std::string& path, const char* what) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(std::string(what) + " not found: " + path);
    if (fs::is_directory(path, ec)) throw Error(std::string(what) + " " + path + " is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(std::string("cannot read ") + what + " " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Copies one KV pair (scalar, string, or array of scalars/strings) from src to dst.
void copy_kv(gguf_context* dst, const gguf_context* src, int64_t id, const std::string& src_path) {
    const char* key = gguf_get_key(src, id);
    switch (gguf_get_kv_type(src, id)) {
        case GGUF_TYPE_UINT8: gguf_set_val_u8(dst, key, gguf_get_val_u8(src, id)); break;
        case GGUF_TYPE_INT8: gguf_set_val_i8(dst, key, gguf_get_val_i8(src, id)); break;
        case GGUF_TYPE_UINT16: gguf_set_val_u16(dst, key, gguf_get_val_u16(src, id)); break;
        case GGUF_TYPE_INT16: gguf_set_val_i16(dst, key, gguf_get_val_i16(src, id)); break;
        case GGUF_TYPE_UINT32: gguf_set_val_u32(dst, key, gguf_get_val_u32(src, id)); break;
        case GGUF_TYPE_INT32: gguf_set_val_i32(dst, key, gguf_get_val_i32(src, id)); break;
        case GGUF_TYPE_FLOAT32: gguf_set_val_f32(dst, key, gguf_get_val_f32(src, id)); break;
        case GGUF_TYPE_UINT64: gguf_set_val_u64(dst, key, gguf_get_val_u64(src, id)); break;
        case GGUF_TYPE_INT64: gguf_set_val_i64(dst, key, gguf_get_val_i64(src, id)); break;
        case GGUF_TYPE_FLOAT64: gguf_set_val_f64(dst, key, gguf_get_val_f64(src, id)); break;
        case GGUF_TYPE_BOOL: gguf_set_val_bool(dst, key, gguf_get_val_bool(src, id)); break;
        case GGUF_TYPE_STRING: gguf_set_val_str(dst, key, gguf_get_val_str(src, id)); break;
        case GGUF_TYPE_ARRAY: {
            const gguf_type at = gguf_get_arr_type(src, id);
            const size_t n = gguf_get_arr_n(src, id);
            if (at == GGUF_TYPE_STRING) {
                std::vector<const char*> strs(n);
                for (size_t i = 0; i < n; ++i) strs[i] = gguf_get_arr_str(src, id, i);
                gguf_set_arr_str(dst, key, strs.data(), n);
            } else if (at == GGUF_TYPE_ARRAY) {
                throw Error(src_path + ": key '" + key + "' is a nested array, which cannot be copied");
            } else {
                gguf_set_arr_data(dst, key, at, gguf_get_arr_data(src, id), n);
            }
            break;
        }
        default: throw Error(src_path + ": key '" + key + "' has an unsupported GGUF type");
    }
}

// Temporarily replaces llama.cpp's (and ggml's) log callback; passes through only errors unless
// `verbose`. Restores the previous callbacks on destruction.
class LogFilter {
public:
    explicit LogFilter(bool verbose) : verbose_(verbose) {
        llama_log_get(&prev_llama_cb_, &prev_llama_ud_);
        ggml_log_get(&prev_ggml_cb_, &prev_ggml_ud_);
        llama_log_set(&LogFilter::callback, this);
    }
    ~LogFilter() {
        llama_log_set(prev_llama_cb_, prev_llama_ud_);
        ggml_log_set(prev_ggml_cb_, prev_ggml_ud_);
    }
    LogFilter(const LogFilter&) = delete;
    LogFilter& operator=(const LogFilter&) = delete;

private:
    static void callback(ggml_log_level level, const char* text, void* ud) {
        auto* self = static_cast<LogFilter*>(ud);
        if (level != GGML_LOG_LEVEL_CONT) self->last_ = level;
        if (self->verbose_ || self->last_ == GGML_LOG_LEVEL_ERROR) {
            if (self->prev_llama_cb_) self->prev_llama_cb_(level, text, self->prev_llama_ud_);
        }
    }
    bool verbose_;
    ggml_log_level last_ = GGML_LOG_LEVEL_INFO;
    ggml_log_callback prev_llama_cb_ = nullptr;
    void* prev_llama_ud_ = nullptr;
    ggml_log_callback prev_ggml_cb_ = nullptr;
    void* prev_ggml_ud_ = nullptr;
};

// How one tensor is filled.
struct TensorPlan {
    std::string name;
    int64_t ne0 = 0, ne1 = 1;  // ne1 == 1 and is_1d: a vector
    bool is_1d = false;
    enum class Fill { Normal, Ones } fill = Fill::Normal;
    float std = 0;
    ggml_type type = GGML_TYPE_F32;
    // token_embd with MakeModelOptions::number_embeddings: the number each row's token names
    // (-1: none), and the share of the variance given to that number's shared component.
    std::vector<int> row_number;
    double number_share = 0;
    // With MakeModelOptions::kind_embeddings: each row's kind (a hash of its text with every digit
    // run written as '#'; 0: none) and the share of the variance given to that kind's component.
    std::vector<uint64_t> row_kind;
    double kind_share = 0;
    // The tensor whose name seeds the shared components (empty: this one), so the output layer
    // can share token_embd's directions.
    std::string components_from;
    uint64_t n_elements() const { return (uint64_t)ne0 * (uint64_t)ne1; }
};

// The number a token names: the last run of digits in its text (below 100), else -1.
int token_number(const std::string& text) {
    int end = (int)text.size();
    while (end > 0 && !std::isdigit((unsigned char)text[end - 1])) --end;
    int begin = end;
    while (begin > 0 && std::isdigit((unsigned char)text[begin - 1])) --begin;
    if (begin == end || end - begin > 2) return -1;
    return std::stoi(text.substr(begin, end - begin));
}

// Normal-ish deviates from plain integer arithmetic (so the bytes do not depend on the libm): the
// sum of four 16-bit uniforms (Irwin-Hall), centred and scaled to unit variance. Bounded at
// +-3.46 sigma, which is harmless for random weights.
constexpr int64_t kChunk = 1 << 16;  // elements per independently seeded chunk

void fill_chunk_normal(float* out, int64_t n, uint64_t chunk_seed, float std) {
    // variance of the sum of 4 discrete uniforms on [0, 65535]: 4 * (65536^2 - 1) / 12
    const double sd = std::sqrt(4.0 * (65536.0 * 65536.0 - 1.0) / 12.0);
    const float scale = (float)(1.0 / sd) * std;
    Rng rng(chunk_seed);
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t r = rng.next();
        const int64_t s = (int64_t)(r & 0xffff) + (int64_t)((r >> 16) & 0xffff) + (int64_t)((r >> 32) & 0xffff) +
                          (int64_t)(r >> 48);
        out[i] = (float)(s - 131070) * scale;
    }
}

void write_all(std::FILE* f, const void* data, size_t n, const std::string& path) {
    if (n > 0 && std::fwrite(data, 1, n, f) != n)
        throw Error("failed to write " + path + ": " + std::strerror(errno) + " (disk full?)");
}

// Removes a file on scope exit unless released.
struct FileGuard {
    std::string path;
    ~FileGuard() {
        if (!path.empty()) {
            std::error_code ec;
            fs::remove(path, ec);
        }
    }
};

uint64_t hash_name(const std::string& s) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

// The kind of token a text is: its text with every run of digits written as '#' (" x=13" and
// " x=4" are both " x=#"), hashed; 0 for a text without digits.
uint64_t token_kind(const std::string& text) {
    std::string k;
    bool digit = false;
    for (char c : text) {
        if (std::isdigit((unsigned char)c)) {
            if (!digit) k += '#';
            digit = true;
        } else {
            k += c;
            digit = false;
        }
    }
    if (k == text) return 0;
    return hash_name(k) | 1;
}

// Writes an F32/F16 GGUF: metadata first, then each tensor streamed in chunks.
void write_float_gguf(const std::string& path, gguf_context* meta, const std::vector<TensorPlan>& plans,
                      uint64_t seed, int n_threads, const MakeModelOptions& opts) {
    // Tensor descriptors (no data) for the GGUF tensor table.
    const size_t overhead = ggml_tensor_overhead() * (plans.size() + 1);
    ggml_init_params ip{overhead, nullptr, /*no_alloc=*/true};
    GgmlPtr gctx(ggml_init(ip));
    if (!gctx) throw Error("ggml_init failed");
    for (const auto& p : plans) {
        ggml_tensor* t = p.is_1d ? ggml_new_tensor_1d(gctx.get(), p.type, p.ne0)
                                 : ggml_new_tensor_2d(gctx.get(), p.type, p.ne0, p.ne1);
        ggml_set_name(t, p.name.c_str());
        gguf_add_tensor(meta, t);
    }

    std::vector<char> iobuf(8 << 20);  // outlives the FILE (declared before it)
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw Error("cannot create " + path + ": " + std::strerror(errno));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> fcloser(f, &std::fclose);
    std::setvbuf(f, iobuf.data(), _IOFBF, iobuf.size());

    {
        std::vector<uint8_t> header(gguf_get_meta_size(meta));
        gguf_get_meta_data(meta, header.data());
        write_all(f, header.data(), header.size(), path);
    }

    const size_t align = gguf_get_alignment(meta);
    uint64_t bytes_total = 0;
    for (const auto& p : plans) bytes_total += p.n_elements() * ggml_type_size(p.type);

    const int T = std::max(1, n_threads);
    const int64_t batch_chunks = (int64_t)T * 16;  // 1M elements per thread per batch
    std::vector<float> fbuf((size_t)(batch_chunks * kChunk));
    std::vector<ggml_fp16_t> hbuf;
    uint64_t data_off = 0, bytes_done = 0;
    const std::vector<uint8_t> zeros(align, 0);
    auto last_report = std::chrono::steady_clock::now();

    for (size_t ti = 0; ti < plans.size(); ++ti) {
        const TensorPlan& p = plans[ti];
        if (gguf_get_tensor_offset(meta, (int64_t)ti) != data_off)
            throw Error("internal error: GGUF tensor offset mismatch for " + p.name);
        const uint64_t n = p.n_elements();
        const int64_t n_chunks = (int64_t)((n + kChunk - 1) / kChunk);
        const uint64_t tseed = mix_seed({seed, hash_name(p.name)});
        // The shared number and kind components' seed: this tensor's, or the one it shares them with.
        const uint64_t cseed = p.components_from.empty() ? tseed : mix_seed({seed, hash_name(p.components_from)});
        for (int64_t c0 = 0; c0 < n_chunks; c0 += batch_chunks) {
            const int64_t c1 = std::min(n_chunks, c0 + batch_chunks);
            const uint64_t e0 = (uint64_t)c0 * kChunk;
            const uint64_t e1 = std::min<uint64_t>(n, (uint64_t)c1 * kChunk);
            const int64_t ne = (int64_t)(e1 - e0);
            if (p.fill == TensorPlan::Fill::Ones) {
                std::fill(fbuf.begin(), fbuf.begin() + ne, 1.0f);
            } else {
                auto work = [&](int tid) {
                    for (int64_t c = c0 + tid; c < c1; c += T) {
                        const uint64_t b = (uint64_t)c * kChunk;
                        const int64_t m = (int64_t)(std::min<uint64_t>(n, b + kChunk) - b);
                        fill_chunk_normal(fbuf.data() + (b - e0), m, mix_seed({tseed, (uint64_t)c}), p.std);
                    }
                };
                const int nt = (int)std::min<int64_t>(T, c1 - c0);
                if (nt <= 1) {
                    work(0);
                } else {
                    std::vector<std::thread> th;
                    for (int t = 1; t < nt; ++t) th.emplace_back(work, t);
                    work(0);
                    for (auto& x : th) x.join();
                }
            }
            if (!p.row_number.empty() || !p.row_kind.empty()) {
                // Rows of tokens that name the same number share a component (the number's
                // vector, drawn from the seed), so a model sees which tokens name equal numbers;
                // rows of the same kind share another, so a model sees which tokens play the
                // same part. Each row keeps the variance it had.
                std::vector<float> number(p.ne0), kind(p.ne0);
                int v = -1;
                uint64_t kd = 0;
                float keep = 1, share_n = 0, share_k = 0;
                for (int64_t e = 0; e < ne; ++e) {
                    const int64_t row = (int64_t)(e0 + e) / p.ne0, col = (int64_t)(e0 + e) % p.ne0;
                    if (col == 0 || e == 0) {
                        v = p.row_number.empty() ? -1 : p.row_number[(size_t)row];  // one entry per token (row)
                        kd = p.row_kind.empty() ? 0 : p.row_kind[(size_t)row];
                        const double sn = v >= 0 ? p.number_share : 0.0, sk = kd ? p.kind_share : 0.0;
                        keep = (float)std::sqrt(1.0 - sn - sk);
                        share_n = (float)std::sqrt(sn);
                        share_k = (float)std::sqrt(sk);
                        if (v >= 0) fill_chunk_normal(number.data(), p.ne0, mix_seed({cseed, 0x4e554du, (uint64_t)v}), p.std);
                        if (kd) fill_chunk_normal(kind.data(), p.ne0, mix_seed({cseed, 0x4b494eu, kd}), p.std);
                    }
                    if (v < 0 && !kd) continue;
                    fbuf[e] = keep * fbuf[e] + (v >= 0 ? share_n * number[col] : 0.f) + (kd ? share_k * kind[col] : 0.f);
                }
            }
            if (p.type == GGML_TYPE_F16) {
                hbuf.resize((size_t)ne);
                ggml_fp32_to_fp16_row(fbuf.data(), hbuf.data(), ne);
                write_all(f, hbuf.data(), (size_t)ne * sizeof(ggml_fp16_t), path);
            } else {
                write_all(f, fbuf.data(), (size_t)ne * sizeof(float), path);
            }
            bytes_done += (uint64_t)ne * ggml_type_size(p.type);
            if (opts.progress) {
                const auto now = std::chrono::steady_clock::now();
                if (now - last_report > std::chrono::milliseconds(250)) {
                    last_report = now;
                    opts.progress({"write", (int64_t)ti, (int64_t)plans.size(), bytes_done, bytes_total});
                }
            }
        }
        const uint64_t nbytes = n * ggml_type_size(p.type);
        const uint64_t padded = (nbytes + align - 1) / align * align;
        write_all(f, zeros.data(), (size_t)(padded - nbytes), path);
        data_off += padded;
    }
    if (opts.progress) opts.progress({"write", (int64_t)plans.size(), (int64_t)plans.size(), bytes_done, bytes_total});
    if (std::fflush(f) != 0) throw Error("failed to write " + path + ": " + std::strerror(errno));
    fcloser.reset();
}

void ensure_backend() {
    static std::once_flag once;
    std::call_once(once, [] { llama_backend_init(); });
}

}  // namespace

// ---- make_model --------------------------------------------------------------------------------

MakeModelResult make_model(const MakeModelOptions& opts) {
    const auto t_start = std::chrono::steady_clock::now();
    if (opts.out_path.empty()) throw Error("make-model: no output file given (-o OUT.gguf)");

    // Shape: preset, then overrides.
    ModelShape s = preset_shape(opts.preset);
    bool custom = false;
    auto ov = [&custom](auto& field, const auto& o) {
        if (o && *o != field) {
            field = *o;
            custom = true;
        }
    };
    ov(s.n_embd, opts.n_embd);
    ov(s.n_layer, opts.n_layer);
    ov(s.n_head, opts.n_head);
    ov(s.n_head_kv, opts.n_head_kv);
    ov(s.n_ff, opts.n_ff);
    ov(s.n_ctx, opts.n_ctx);
    ov(s.rope_base, opts.rope_base);
    ov(s.rms_eps, opts.rms_eps);
    ov(s.tied, opts.tied);
    validate_shape(s);
    if (opts.init_std && !(*opts.init_std > 0 && std::isfinite(*opts.init_std)))
        throw Error("--init-std must be a positive number");
    if (!(opts.number_embeddings >= 0 && opts.number_embeddings < 1))
        throw Error("number_embeddings must be in [0, 1), got " + std::to_string(opts.number_embeddings));
    if (!(opts.kind_embeddings >= 0 && opts.number_embeddings + opts.kind_embeddings < 1))
        throw Error("kind_embeddings must be >= 0 and, with number_embeddings, below 1; got " +
                    std::to_string(opts.kind_embeddings));
    if (opts.k_bias_std && !(*opts.k_bias_std >= 0 && std::isfinite(*opts.k_bias_std)))
        throw Error("--k-bias-std must be a non-negative number");

    // Vocab.
    std::string vocab_path = opts.vocab_path;
    if (vocab_path.empty()) {
        const std::string dir = llama_dir();
        if (dir.empty()) throw Error("make-model: no vocab file: pass --vocab FILE.gguf or set LEAP_LLAMA_DIR");
        vocab_path = default_vocab_path(dir);
    }
    {
        std::error_code ec;
        if (!fs::exists(vocab_path, ec))
            throw Error("vocab file not found: " + vocab_path + " (pass --vocab FILE.gguf or set LEAP_LLAMA_DIR)");
        if (fs::is_directory(vocab_path, ec)) throw Error("vocab file " + vocab_path + " is a directory");
    }
    GgufPtr vocab(gguf_init_from_file(vocab_path.c_str(), gguf_init_params{true, nullptr}));
    if (!vocab) throw Error("cannot read vocab file " + vocab_path + " (not a valid GGUF file)");
    const int64_t tok_id = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
    if (tok_id < 0 || gguf_get_kv_type(vocab.get(), tok_id) != GGUF_TYPE_ARRAY ||
        gguf_get_arr_type(vocab.get(), tok_id) != GGUF_TYPE_STRING)
        throw Error("vocab file " + vocab_path + " has no tokenizer (no tokenizer.ggml.tokens string array)");
    const int64_t n_vocab = (int64_t)gguf_get_arr_n(vocab.get(), tok_id);
    if (n_vocab <= 0) throw Error("vocab file " + vocab_path + " has an empty token list");
    std::vector<std::string> token_texts;
    if (opts.number_embeddings > 0 || opts.kind_embeddings > 0)
        for (int64_t i = 0; i < n_vocab; ++i) token_texts.emplace_back(gguf_get_arr_str(vocab.get(), tok_id, (size_t)i));

    // Chat template.
    std::string tmpl_source;
    std::optional<std::string> tmpl_text;
    if (!opts.chat_template_path.empty()) {
        tmpl_text = read_text_file(opts.chat_template_path, "chat template (--chat-template-file)");
        if (tmpl_text->empty()) throw Error("chat template (--chat-template-file) " + opts.chat_template_path + " is empty");
        tmpl_source = opts.chat_template_path;
    } else if (gguf_find_key(vocab.get(), "tokenizer.chat_template") >= 0) {
        tmpl_source = "vocab";
    } else {
        const fs::path fb = fs::path(vocab_path).parent_path() / "templates" / kFallbackChatTemplate;
        std::error_code ec;
        if (fs::is_regular_file(fb, ec)) {
            tmpl_text = read_text_file(fb.string(), "chat template");
            tmpl_source = fb.string();
        }
    }

    const std::string name = "leap-random-" + opts.preset + (custom ? "-custom" : "");
    const bool quantized = opts.type == WeightType::Q8_0 || opts.type == WeightType::Q4_K;
    const ggml_type mat_type = opts.type == WeightType::F32 ? GGML_TYPE_F32 : GGML_TYPE_F16;

    // Metadata.
    GgufPtr meta(gguf_init_empty());
    gguf_context* m = meta.get();
    gguf_set_val_str(m, "general.architecture", "qwen2");
    gguf_set_val_str(m, "general.name", name.c_str());
    gguf_set_val_u32(m, "general.file_type",
                     opts.type == WeightType::F32 ? (uint32_t)LLAMA_FTYPE_ALL_F32 : (uint32_t)LLAMA_FTYPE_MOSTLY_F16);
    gguf_set_val_u32(m, "qwen2.context_length", (uint32_t)s.n_ctx);
    gguf_set_val_u32(m, "qwen2.embedding_length", (uint32_t)s.n_embd);
    gguf_set_val_u32(m, "qwen2.block_count", (uint32_t)s.n_layer);
    gguf_set_val_u32(m, "qwen2.feed_forward_length", (uint32_t)s.n_ff);
    gguf_set_val_u32(m, "qwen2.attention.head_count", (uint32_t)s.n_head);
    gguf_set_val_u32(m, "qwen2.attention.head_count_kv", (uint32_t)s.n_head_kv);
    gguf_set_val_f32(m, "qwen2.rope.freq_base", s.rope_base);
    gguf_set_val_f32(m, "qwen2.attention.layer_norm_rms_epsilon", s.rms_eps);
    gguf_set_val_str(m, "leap.preset", opts.preset.c_str());
    gguf_set_val_u64(m, "leap.seed", opts.seed);
    gguf_set_val_str(m, "leap.weight_type", weight_type_name(opts.type).c_str());
    if (opts.init_std) gguf_set_val_f32(m, "leap.init_std", (float)*opts.init_std);
    if (opts.k_bias_std) gguf_set_val_f32(m, "leap.k_bias_std", (float)*opts.k_bias_std);
    if (opts.for_training) gguf_set_val_bool(m, "leap.init_for_training", true);
    if (opts.number_embeddings > 0) gguf_set_val_f32(m, "leap.number_embeddings", (float)opts.number_embeddings);
    if (opts.kind_embeddings > 0) gguf_set_val_f32(m, "leap.kind_embeddings", (float)opts.kind_embeddings);
    if (opts.structured_output && !s.tied && (opts.number_embeddings > 0 || opts.kind_embeddings > 0))
        gguf_set_val_bool(m, "leap.structured_output", true);
    for (int64_t i = 0; i < gguf_get_n_kv(vocab.get()); ++i) {
        const std::string key = gguf_get_key(vocab.get(), i);
        if (key.rfind("tokenizer.", 0) == 0) copy_kv(m, vocab.get(), i, vocab_path);
    }
    if (tmpl_text) gguf_set_val_str(m, "tokenizer.chat_template", tmpl_text->c_str());
    vocab.reset();

    // Tensors, in the order convert_hf_to_gguf.py writes them.
    const int64_t head_dim = s.n_embd / s.n_head;
    const int64_t n_embd_kv = head_dim * s.n_head_kv;
    // Default std gain/sqrt(fan_in): gain 2 on attn_q/attn_k makes attention sharp enough to depend
    // on the context, and gain 2 on the residual branches (attn_output, ffn_down) lets them outweigh
    // the (tied) token embedding; with gain 1 everywhere, greedy continuations of a random model
    // fall into repeats and short cycles.
    auto wstd = [&](int64_t fan_in, double gain) {
        return opts.init_std ? (float)*opts.init_std : (float)(gain / std::sqrt((double)fan_in));
    };
    std::vector<TensorPlan> plans;
    auto mat = [&](const std::string& nm, int64_t ne0, int64_t ne1, double gain = 1.0) {
        TensorPlan p;
        p.name = nm;
        p.ne0 = ne0;
        p.ne1 = ne1;
        p.std = wstd(ne0, gain);
        if (opts.for_training && !opts.init_std) {
            const bool small = nm.find("attn_q.") != std::string::npos || nm.find("attn_output.") != std::string::npos ||
                               nm.find("ffn_down.") != std::string::npos || nm == "output.weight";
            p.std = small ? 0.02f : wstd(ne0, 1.0);
        }
        p.type = mat_type;
        plans.push_back(p);
    };
    auto vec = [&](const std::string& nm, int64_t ne0, bool ones, float std = 0.02f) {
        TensorPlan p;
        p.name = nm;
        p.ne0 = ne0;
        p.is_1d = true;
        p.fill = ones ? TensorPlan::Fill::Ones : TensorPlan::Fill::Normal;
        p.std = std;
        p.type = GGML_TYPE_F32;
        plans.push_back(p);
    };
    auto share_components = [&](TensorPlan& p) {
        if (opts.number_embeddings > 0) {
            p.number_share = opts.number_embeddings;
            for (int64_t i = 0; i < n_vocab; ++i) p.row_number.push_back(token_number(token_texts[i]));
        }
        if (opts.kind_embeddings > 0) {
            p.kind_share = opts.kind_embeddings;
            for (int64_t i = 0; i < n_vocab; ++i) p.row_kind.push_back(token_kind(token_texts[i]));
        }
    };
    mat("token_embd.weight", s.n_embd, n_vocab);
    share_components(plans.back());
    for (int64_t il = 0; il < s.n_layer; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        vec(b + "attn_norm.weight", s.n_embd, true);
        mat(b + "attn_q.weight", s.n_embd, s.n_embd, 2.0);
        vec(b + "attn_q.bias", s.n_embd, false);
        mat(b + "attn_k.weight", s.n_embd, n_embd_kv, 2.0);
        vec(b + "attn_k.bias", n_embd_kv, false, opts.k_bias_std ? (float)*opts.k_bias_std : 0.02f);
        mat(b + "attn_v.weight", s.n_embd, n_embd_kv);
        vec(b + "attn_v.bias", n_embd_kv, false);
        mat(b + "attn_output.weight", s.n_embd, s.n_embd, 2.0);
        vec(b + "ffn_norm.weight", s.n_embd, true);
        mat(b + "ffn_gate.weight", s.n_embd, s.n_ff);
        mat(b + "ffn_up.weight", s.n_embd, s.n_ff);
        mat(b + "ffn_down.weight", s.n_ff, s.n_embd, 2.0);
    }
    vec("output_norm.weight", s.n_embd, true);
    if (!s.tied) {
        mat("output.weight", s.n_embd, n_vocab);
        if (opts.structured_output) {
            share_components(plans.back());
            plans.back().components_from = "token_embd.weight";
        }
    }
    uint64_t n_params = 0;
    for (const auto& p : plans) n_params += p.n_elements();

    // Output folder and temporary files.
    const fs::path out(opts.out_path);
    {
        std::error_code ec;
        if (fs::is_directory(out, ec)) throw Error("output " + opts.out_path + " is a directory");
        const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
        if (!fs::is_directory(parent, ec))
            throw Error("output folder " + parent.string() + " does not exist (for -o " + opts.out_path + ")");
    }
    const int n_threads = opts.n_threads > 0 ? opts.n_threads : (int)std::max(1u, std::thread::hardware_concurrency());
    // Per-process temporary names: two processes making the same file (parallel tests) must not
    // write into one temporary; the rename makes whichever finishes last the file, whole.
    const std::string tmp_suffix = "." + std::to_string(::getpid());
    FileGuard part{opts.out_path + ".part" + tmp_suffix};
    FileGuard f16tmp;
    if (!quantized) {
        write_float_gguf(part.path, m, plans, opts.seed, n_threads, opts);
    } else {
        f16tmp.path = opts.out_path + ".f16.tmp" + tmp_suffix;
        write_float_gguf(f16tmp.path, m, plans, opts.seed, n_threads, opts);
        if (opts.progress) opts.progress({"quantize", 0, (int64_t)plans.size(), 0, 0});
        ensure_backend();
        llama_model_quantize_params qp = llama_model_quantize_default_params();
        qp.nthread = n_threads;
        qp.ftype = opts.type == WeightType::Q8_0 ? LLAMA_FTYPE_MOSTLY_Q8_0 : LLAMA_FTYPE_MOSTLY_Q4_K_M;
        uint32_t rc;
        {
            LogFilter quiet(opts.verbose);
            rc = llama_model_quantize(f16tmp.path.c_str(), part.path.c_str(), &qp);
        }
        if (rc != 0)
            throw Error("quantizing " + f16tmp.path + " to " + weight_type_name(opts.type) + " failed (llama_model_quantize returned " +
                        std::to_string(rc) + ")");
    }
    {
        std::error_code ec;
        fs::rename(part.path, out, ec);
        if (ec) throw Error("cannot rename " + part.path + " to " + opts.out_path + ": " + ec.message());
        part.path.clear();
    }

    MakeModelResult r;
    r.path = opts.out_path;
    r.name = name;
    r.shape = s;
    r.n_vocab = n_vocab;
    r.n_params = n_params;
    std::error_code ec;
    r.file_size = fs::file_size(out, ec);
    r.chat_template_source = tmpl_source;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    return r;
}

}  // namespace leap
