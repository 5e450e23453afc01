#pragma once
// The engine's flags, shared by every subcommand that runs the method (solve, eval, serve).
#include <CLI/CLI.hpp>
#include <string>

#include "backends/llama/engine.h"
#include "backends/llama/model.h"
#include "backends/openai/openai_engine.h"
#include "cli/adaptive_flags.h"
#include "core/config.h"
#include "core/prompts.h"

namespace leap::cli {

struct BackendHandle;

// Which of the engine's flags a subcommand honours (its --help lists only those).
struct EngineScope {
    bool remote_backend = true;  // --backend openai and its flags
    bool match_budget = true;    // --match-budget
    // The name of --backend openai's per-attempt timeout (leap serve's --timeout is its clients').
    const char* attempt_timeout_flag = "--timeout";
};

// llama.cpp's -fa values: on|enabled|true|1, off|disabled|false|0, auto|-1.
int parse_flash_attn(const std::string& v);

struct EngineFlags {
    std::string model;
    std::string chat_template;
    std::string prompts_file;
    std::string method = "leap";
    std::string router = "dispersed";
    std::string similarity = "indel";
    std::string end_of_thinking;  // overrides the prompt set's marker
    std::string parity = "leap";  // leap | reference (--reference-parity: reference)
    std::string blocks;           // --blocks 1,3 (1-based)
    std::string sampler_order = "reference";
    std::string match_budget;     // independent with the token budget of the leap run these flags describe
    std::string flash_attn = "auto";
    bool print_config = false;    // --print-config: print resolved_json() and exit
    CLI::Option* peers_option = nullptr;  // to tell a --peers given from the default
    // MoA: --moa-layout (empty: leap, or reference under --parity reference) and --moa-agents
    // (the paths per layer, as -N); the options tell given values from the defaults.
    std::string moa_layout;
    int moa_agents = 0;
    CLI::Option* paths_option = nullptr;
    CLI::Option* moa_layers_option = nullptr;
    CLI::Option* moa_agents_option = nullptr;
    RunConfig run;
    AdaptiveFlags adaptive;       // --confidence, --early-exit-quorum, --prune-share, ...
    EngineOptions engine;
    int n_gpu_layers = -1;
    // --backend openai: the model runs on OpenAI-compatible servers (docs/openai-backend.md).
    std::string backend = "llama";  // llama | openai
    std::string tokenizer;          // GGUF whose vocabulary and chat template are used (default: -m)
    openai::OpenAIOptions openai;

    void add_to(CLI::App* app, EngineScope scope = {});
    // Throws UsageError naming a flag given that the chosen backend does not use (-t with
    // --backend openai, --base-url without it).
    void check_backend_flags() const;
    std::vector<CLI::Option*> in_process_only, remote_only;  // filled by add_to
    // The run with method/router/similarity parsed; validated (throws UsageError naming the flags).
    RunConfig run_config() const;
    // Everything the flags resolve to (--print-config): the run's config_json, the engine's
    // settings and the model.
    nlohmann::json resolved_json(const RunConfig& c) const;
    RunConfig resolve_run_config() const;  // run_config() without the UsageError wrapping
    PromptSet prompt_set() const;  // builtin, or --prompts FILE
    ModelOptions model_options() const;
    bool remote() const { return backend == "openai"; }
    ModelOptions tokenizer_options() const;  // --tokenizer (or -m), vocabulary only
    // --backend openai: the GGUF tokenizer (--tokenizer or -m), else the first --base-url's own
    // (llama-server's /tokenize, /apply-template; openai::ServerTokenizer).
    std::unique_ptr<openai::Tokenizer> openai_tokenizer() const;
    // The in-process llama.cpp engine, or the OpenAI backend with --backend openai.
    BackendHandle make_backend(const RunConfig& config, const PromptSet& prompts) const;
    // The model as named in traces and result identities: -m, else --tokenizer, else the first --base-url.
    const std::string& model_name() const {
        if (!model.empty() || !tokenizer.empty() || openai.base_urls.empty()) return model.empty() ? tokenizer : model;
        return openai.base_urls[0];
    }
};

// The backend the flags choose, with the model it runs on when in-process (declared first so
// it outlives the engine that borrows it).
struct BackendHandle {
    std::unique_ptr<LlamaModel> model;
    std::unique_ptr<Backend> engine;
};

nlohmann::json config_json(const RunConfig& c, const EngineOptions& e);

// JSON text; invalid UTF-8 (a random model's byte tokens) becomes U+FFFD instead of an error.
std::string dump_json(const nlohmann::json& j, int indent = -1);

// Writes `text` to `path` atomically (temporary file + rename); creates the parent folder.
void write_file_atomic(const std::string& path, const std::string& text);
std::string read_file(const std::string& path, const char* what);

}  // namespace leap::cli
