#pragma once
// Inspecting GGUF files without loading a model: validation with clear errors (the llama backend
// calls check_gguf_file before llama_model_load_from_file) and a summary for `leap info`.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace leap {

// Throws leap::Error naming `path` when it is missing, a directory, empty, not a GGUF file (bad
// magic), has a header that ggml's GGUF reader rejects (e.g. truncated inside the header), or is
// truncated inside the tensor data (data offset + extent of the last tensor > file size).
void check_gguf_file(const std::string& path);

struct GgufTensorTypeStats {
    int64_t n_tensors = 0;
    uint64_t n_elements = 0;
    uint64_t n_bytes = 0;
};

struct GgufInfo {
    std::string path;
    uint64_t file_size = 0;
    uint32_t version = 0;
    uint64_t alignment = 0;
    uint64_t data_offset = 0;   // start of the tensor data section
    uint64_t data_size = 0;     // bytes of tensor data (incl. padding between tensors)

    std::string architecture;   // general.architecture ("" if absent)
    std::string name;           // general.name
    // <arch>.* hyperparameters; 0 when absent. Per-layer arrays report their first element.
    int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx_train = 0;
    double rope_freq_base = 0;  // 0 when absent
    double rms_eps = 0;

    int64_t n_tensors = 0;
    uint64_t n_params = 0;      // sum of the tensors' element counts
    std::map<std::string, GgufTensorTypeStats> tensor_types;  // by ggml type name ("f32", "q4_K", ...)
    int64_t file_type = -1;     // general.file_type (llama_ftype), -1 when absent
    std::string file_type_name; // e.g. "F16", "Q4_K - Medium"

    int64_t n_vocab = 0;        // length of tokenizer.ggml.tokens
    std::string tokenizer_model;  // tokenizer.ggml.model ("gpt2", "llama", ...)
    std::string tokenizer_pre;    // tokenizer.ggml.pre
    bool has_chat_template = false;
    std::string chat_template;        // tokenizer.chat_template
    std::string chat_template_name;   // short recognisable name (see describe_chat_template)

    std::string leap_preset;    // leap.* keys written by `leap make-model` (""/nullopt when absent)
    std::optional<uint64_t> leap_seed;
};

// Runs check_gguf_file and then reads the metadata (not the tensor data).
GgufInfo read_gguf_info(const std::string& path);

// A short name for a chat template: "deepseek-r1", "chatml", "chatml+think", "llama3", ... or,
// for an unknown template, its first line (shortened).
std::string describe_chat_template(const std::string& tmpl);
// Name of a llama_ftype value ("F16", "Q8_0", "Q4_K - Medium", ...; "unknown (N)").
std::string ftype_name(int64_t ftype);

// Human-readable multi-line report (what `leap info` prints) and its JSON form.
std::string format_gguf_info(const GgufInfo& info);
nlohmann::json gguf_info_json(const GgufInfo& info);

// "12.3 MiB", "1.50 GiB"; "494.0M", "7.62B".
std::string format_bytes(uint64_t bytes);
std::string format_count(uint64_t n);

}  // namespace leap
