#pragma once
// Random-weight GGUF models of architecture qwen2 (the architecture of DeepSeek-R1-Distill-Qwen
// and QwQ) that llama.cpp loads and runs: for tests and benchmarks without downloading weights.
// The tokenizer (every tokenizer.* key) is copied from a vocab-only GGUF such as llama.cpp's
// models/ggml-vocab-qwen2.gguf; the weights are seeded, so the same options give the same bytes.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace leap {

// Weight storage of the written file. F32/F16 are written directly; Q8_0/Q4_K (Q4_K_M mix) are
// written as F16 to a temporary file and quantized with llama_model_quantize.
enum class WeightType { F32, F16, Q8_0, Q4_K };

WeightType parse_weight_type(const std::string& name);  // "f32" "f16" "q8_0" "q4_k"; throws leap::Error
std::string weight_type_name(WeightType type);          // the same lower-case names

// Dimensions of a qwen2 model (the head dimension is n_embd / n_head).
struct ModelShape {
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t n_ff = 0;
    int64_t n_ctx = 0;         // qwen2.context_length (training context)
    float rope_base = 1e6f;    // qwen2.rope.freq_base
    float rms_eps = 1e-6f;     // qwen2.attention.layer_norm_rms_epsilon
    bool tied = true;          // no output.weight: the output projection reuses token_embd
};

// "tiny", "qwen2.5-0.5b", "r1-distill-1.5b", "r1-distill-7b".
const std::vector<std::string>& preset_names();
ModelShape preset_shape(const std::string& preset);  // throws leap::Error naming the preset
void validate_shape(const ModelShape& shape);        // throws leap::Error naming the bad field

// The llama.cpp source directory: $LEAP_LLAMA_DIR if set and non-empty, else `compiled_default`
// (the CLI passes its compile-time LEAP_LLAMA_DIR). Empty if neither is available.
std::string llama_dir(const std::string& compiled_default = "");
// <llama_dir>/models/ggml-vocab-qwen2.gguf
std::string default_vocab_path(const std::string& llama_dir);
// File name (under <vocab dir>/templates/) of the chat template used when the vocab file has none.
inline constexpr const char* kFallbackChatTemplate = "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja";

struct MakeModelProgress {
    std::string stage;          // "write" or "quantize"
    int64_t tensors_done = 0;   // for "write"
    int64_t n_tensors = 0;
    uint64_t bytes_done = 0;    // tensor data bytes written so far (of the F32/F16 file)
    uint64_t bytes_total = 0;
};

struct MakeModelOptions {
    std::string out_path;                 // required
    std::string preset = "tiny";
    WeightType type = WeightType::F16;
    uint64_t seed = 0;
    std::string vocab_path;               // empty: default_vocab_path(llama_dir()) (needs $LEAP_LLAMA_DIR)
    std::string chat_template_path;       // empty: keep the vocab file's tokenizer.chat_template
                                          // (if it has none: <vocab dir>/templates/kFallbackChatTemplate
                                          // when that file exists)
    // Overrides of the preset's fields.
    std::optional<int64_t> n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    std::optional<float> rope_base, rms_eps;
    std::optional<bool> tied;
    // Std of every weight matrix. Default: gain/sqrt(fan_in) per matrix, gain 2 for attn_q, attn_k,
    // attn_output and ffn_down, 1 otherwise: activations stay at unit scale, the logits have std ~1,
    // and greedy continuations vary instead of repeating. Norm weights are 1, q/k/v biases std 0.02.
    std::optional<double> init_std;
    // Std of the attn_k biases (default 0.02). A model meant for training gets a large key bias:
    // a component every key shares, which lets queries attend by relative position (RoPE) from the
    // first step. (Unpatched, llama.cpp's trainer never updates attn_k; patches/ lets it.)
    std::optional<double> k_bias_std;
    // Initialise for training with llama.cpp's trainer rather than for random-model tests: the
    // matrices that set attention scores and the residual branches (attn_q, attn_output,
    // ffn_down, output) start small (std 0.02: uniform attention, branches near zero); the others
    // (token_embd, which llama.cpp never trains, attn_k, attn_v, ffn_gate, ffn_up) at unit scale
    // (std 1/sqrt(fan_in)).
    bool for_training = false;
    // Share of the variance of token_embd rows given to a component that every token naming the
    // same number shares (the last integer in the token's text, below 100), 0 for none. llama.cpp
    // never trains token_embd, so a trained model keeps its initial embeddings: with this, tokens
    // that name equal numbers ("=13", " #13", "13?") start out alike, as in a pretrained model,
    // and comparing numbers is a shared linear map instead of one learnt pair at a time.
    double number_embeddings = 0;
    // Share of the variance given to a component that every token of the same kind shares (its
    // text with each digit run written as '#': " x=4" and " x=13" are one kind), 0 for none. It
    // lets attention find "a token of this kind" with one query, as a pretrained model's
    // embeddings would.
    double kind_embeddings = 0;
    // With number or kind embeddings and an untied output layer: its rows get the same shared
    // components as token_embd's (the same directions, at the output's scale), as tied embeddings
    // would have. Then raising "every token that names 4" is one direction of the hidden state
    // instead of one per output row, so a copy learnt for some tokens carries to the rest.
    bool structured_output = false;
    int n_threads = 0;                    // <= 0: hardware concurrency
    bool verbose = false;                 // let llama.cpp's quantizer log through
    std::function<void(const MakeModelProgress&)> progress;  // optional, called from this thread
};

struct MakeModelResult {
    std::string path;
    std::string name;        // general.name, e.g. "leap-random-tiny"
    ModelShape shape;
    int64_t n_vocab = 0;
    uint64_t n_params = 0;   // sum of the tensors' element counts
    uint64_t file_size = 0;
    std::string chat_template_source;  // "vocab", a template file path, or "" (none)
    double seconds = 0;
};

// Writes the model to opts.out_path (via a temporary file in the same folder, renamed at the end;
// an existing file is replaced). Throws leap::Error on bad options or I/O failure.
MakeModelResult make_model(const MakeModelOptions& opts);

}  // namespace leap
