// leap make-model: write a random-weight qwen2 GGUF that llama.cpp loads and runs.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "model/gguf_file.h"
#include "model/make_model.h"

namespace leap::cli {

namespace {

struct MakeModelArgs {
    MakeModelOptions opts;
    std::string type = "f16";
    int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx = 0;
    float rope_base = 0;
    double init_std = 0;
    bool tied = false, untied = false, quiet = false;
};

void run_make_model(MakeModelArgs& a, CLI::App* cmd) {
    MakeModelOptions& o = a.opts;
    o.type = parse_weight_type(a.type);
    if (o.vocab_path.empty()) {
        const std::string dir = llama_dir(LEAP_LLAMA_DIR);
        o.vocab_path = default_vocab_path(dir);
    }
    if (cmd->count("--n-embd")) o.n_embd = a.n_embd;
    if (cmd->count("--n-layer")) o.n_layer = a.n_layer;
    if (cmd->count("--n-head")) o.n_head = a.n_head;
    if (cmd->count("--n-head-kv")) o.n_head_kv = a.n_head_kv;
    if (cmd->count("--n-ff")) o.n_ff = a.n_ff;
    if (cmd->count("--n-ctx")) o.n_ctx = a.n_ctx;
    if (cmd->count("--rope-base")) o.rope_base = a.rope_base;
    if (cmd->count("--init-std")) o.init_std = a.init_std;
    if (a.tied) o.tied = true;
    if (a.untied) o.tied = false;

    const bool tty = isatty(fileno(stderr)) != 0;
    int last_decile = -1;
    bool printed = false;
    if (!a.quiet) {
        o.progress = [&](const MakeModelProgress& p) {
            if (p.stage == "quantize") {
                if (printed && tty) std::fputc('\n', stderr);
                std::fprintf(stderr, "make-model: quantizing to %s ...\n", a.type.c_str());
                printed = false;
                return;
            }
            if (p.bytes_total < (256ULL << 20)) return;  // small models: no progress lines
            const int pct = (int)(100.0 * (double)p.bytes_done / (double)p.bytes_total);
            if (tty) {
                std::fprintf(stderr, "\rmake-model: writing %3d%% (%s of %s, tensor %lld/%lld)", pct,
                             format_bytes(p.bytes_done).c_str(), format_bytes(p.bytes_total).c_str(),
                             (long long)p.tensors_done, (long long)p.n_tensors);
                printed = true;
                if (p.bytes_done == p.bytes_total) {
                    std::fputc('\n', stderr);
                    printed = false;
                }
            } else if (pct / 10 != last_decile) {
                last_decile = pct / 10;
                std::fprintf(stderr, "make-model: writing %3d%% (%s of %s)\n", pct, format_bytes(p.bytes_done).c_str(),
                             format_bytes(p.bytes_total).c_str());
            }
            std::fflush(stderr);
        };
    }

    const MakeModelResult r = make_model(o);
    const ModelShape& s = r.shape;
    std::string tmpl = "none";
    if (!r.chat_template_source.empty()) {
        // Name it the way `leap info` does.
        try {
            const GgufInfo info = read_gguf_info(r.path);
            tmpl = info.chat_template_name;
        } catch (const Error&) {
        }
        tmpl += r.chat_template_source == "vocab" ? " (from the vocab file)" : " (from " + r.chat_template_source + ")";
    }
    std::printf(
        "wrote %s: qwen2 '%s', n_embd %lld, %lld layers, %lld heads (%lld kv), n_ff %lld, ctx %lld, rope base %g, %s, "
        "vocab %lld, %s params, %s, %s, chat template %s, seed %llu, %.1f s\n",
        r.path.c_str(), r.name.c_str(), (long long)s.n_embd, (long long)s.n_layer, (long long)s.n_head,
        (long long)s.n_head_kv, (long long)s.n_ff, (long long)s.n_ctx, (double)s.rope_base, s.tied ? "tied" : "untied",
        (long long)r.n_vocab, format_count(r.n_params).c_str(), a.type.c_str(), format_bytes(r.file_size).c_str(),
        tmpl.c_str(), (unsigned long long)o.seed, r.seconds);
}

}  // namespace

void register_make_model(CLI::App& app) {
    auto args = std::make_shared<MakeModelArgs>();
    args->opts.seed = 1;  // leap's one default seed, as in every other subcommand
    const std::string llama_default = std::string(LEAP_LLAMA_DIR);
    CLI::App* cmd = app.add_subcommand(
        "make-model",
        "Write a random-weight GGUF of architecture qwen2 (the architecture of DeepSeek-R1-Distill-Qwen and QwQ) "
        "that llama.cpp loads and runs. The weights are seeded: the same options give the same bytes. The "
        "tokenizer (all tokenizer.* keys, chat template included) is copied from a vocab-only GGUF.");
    cmd->add_option("-o,--out,--output", args->opts.out_path, "Output file (OUT.gguf)")->required();
    std::string presets;
    for (const auto& p : preset_names()) presets += (presets.empty() ? "" : "|") + p;
    cmd->add_option("--preset", args->opts.preset,
                    "Model dimensions (" + presets +
                        "): tiny = n_embd 64, 2 layers, 4 heads (2 kv), n_ff 128, ctx 4096, tied (for tests); the others "
                        "have the real models' dimensions")
        ->check(CLI::IsMember(preset_names()))
        ->capture_default_str();
    cmd->add_option("--type", args->type,
                    "Weight type: f32|f16 are written directly, q8_0|q4_k (Q4_K_M mix) are quantized with "
                    "llama_model_quantize from an f16 temporary")
        ->check(CLI::IsMember({"f32", "f16", "q8_0", "q4_k"}))
        ->capture_default_str();
    cmd->add_option("-s,--seed", args->opts.seed, "Random seed")->capture_default_str();
    cmd->add_option("--vocab", args->opts.vocab_path,
                    "Vocab-only GGUF to copy the tokenizer from (n_vocab = its token count). Default: "
                    "$LEAP_LLAMA_DIR/models/ggml-vocab-qwen2.gguf, LEAP_LLAMA_DIR defaulting to " +
                        llama_default);
    cmd->add_option("--chat-template-file", args->opts.chat_template_path,
                    "Jinja file that replaces tokenizer.chat_template. Default: keep the vocab file's template "
                    "(ggml-vocab-qwen2.gguf carries a plain ChatML template, so the model is not a <think> "
                    "reasoning model); for an R1-style reasoning model whose answers open with <think>, pass "
                    "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja. A vocab "
                    "without a template gets <vocab dir>/templates/" +
                        std::string(kFallbackChatTemplate) + " when that file exists");
    cmd->add_option("--n-embd", args->n_embd, "Override the preset: embedding width");
    cmd->add_option("--n-layer", args->n_layer, "Override the preset: number of blocks");
    cmd->add_option("--n-head", args->n_head, "Override the preset: attention heads");
    cmd->add_option("--n-head-kv", args->n_head_kv, "Override the preset: key/value heads (GQA)");
    cmd->add_option("--n-ff", args->n_ff, "Override the preset: feed-forward width");
    cmd->add_option("--n-ctx", args->n_ctx, "Override the preset: training context length (qwen2.context_length)");
    cmd->add_option("--rope-base", args->rope_base, "Override the preset: RoPE frequency base");
    auto* tied = cmd->add_flag("--tied", args->tied, "Override the preset: no output.weight (reuse token_embd)");
    auto* untied = cmd->add_flag("--untied", args->untied, "Override the preset: separate output.weight");
    tied->excludes(untied);
    cmd->add_option("--init-std", args->init_std,
                    "Std of every weight matrix (default: gain/sqrt(fan_in) per matrix, gain 2 for attn_q, attn_k, "
                    "attn_output, ffn_down and 1 otherwise, which keeps activations well-scaled, the logits at std "
                    "~1 and greedy continuations varied; norms are 1, q/k/v biases have std 0.02)");
    cmd->add_option("-t,--threads", args->opts.n_threads, "Threads for generating and quantizing (default: all cores)");
    cmd->add_flag("--verbose", args->opts.verbose, "Show llama.cpp's quantizer log");
    cmd->add_flag("-q,--quiet", args->quiet, "No progress lines");
    cmd->callback([args, cmd] { run_make_model(*args, cmd); });
}

}  // namespace leap::cli
