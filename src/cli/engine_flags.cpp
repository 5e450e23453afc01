#include "cli/engine_flags.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <algorithm>

#include "backends/openai/server_tokenizer.h"
#include "cli/usage.h"
#include "cli/seed_flag.h"
#include "core/error.h"

namespace leap::cli {

void EngineFlags::add_to(CLI::App* app, EngineScope scope) {
    app->add_option("-m,--model", model,
                    scope.remote_backend ? "GGUF model file (with --backend openai: only its tokenizer is used)" : "GGUF model file");
    app->add_option("--method", method, "leap | leap-t | independent | single | leap-s | moa")->capture_default_str();
    paths_option = app->add_option("-N,--paths", run.n_paths, "reasoning paths per problem (N; -n is llama.cpp's --n-predict, which leap lacks)")
        ->capture_default_str();
    app->add_option("-T,--segment-tokens", run.segment_tokens, "tokens per segment (T)")->capture_default_str();
    app->add_option("--segments", run.segments, "segments per path (M; M-1 LeaP blocks)")->capture_default_str();
    peers_option = app->add_option("--peers", run.router.k,
                                   "peers each path hears from at a block (k: the paper's \"top-k\" routing; fewer than "
                                   "-N; sampling top-k is --top-k)")
                       ->capture_default_str();
    app->add_option("--router", router, "dispersed | clustered | hybrid | random | all | confident | confident-dispersed (experimental: "
                                      "the most confident peers, docs/adaptive.md)")->capture_default_str();
    app->add_option("--similarity", similarity, "indel | levenshtein")->capture_default_str();
    app->add_option("--single-block", run.single_block,
                    "methods single, leap-s: the enabled block (0 = after segment 1)")
        ->capture_default_str();
    app->add_option("--group-size", run.group_size,
                    "method leap-s: paths per group (G; -N must be a multiple); one per group continues")
        ->capture_default_str();
    moa_layers_option = app->add_option("--moa-layers", run.moa_layers,
                                        "method moa: layers (1 = independent sampling; default 2, 4 with --moa-layout reference)")
                            ->capture_default_str();
    moa_agents_option = app->add_option("--moa-agents", moa_agents,
                                        "method moa: agents (paths) per layer, the same as -N (default 3 with --moa-layout reference)");
    app->add_option("--moa-layout", moa_layout,
                    "method moa: leap | reference: how a later layer hears the previous one; reference: each "
                    "response's text after its thinking, numbered, in a new user message with the problem (a new "
                    "conversation), 3 agents and 4 layers by default (default: reference under --parity reference, "
                    "else leap; docs/method.md)")
        ->check(CLI::IsMember({"leap", "reference"}));
    app->add_option("--moa-context-chars", run.moa_context_chars,
                    "method moa: characters of each previous response's reasoning shown to the next layer")
        ->capture_default_str();
    app->add_option("--summary-tokens", run.summary_tokens, "summary budget (S)")->capture_default_str();
    app->add_option("--answer-tokens", run.answer_tokens,
                    "forced-answer budget (A); a forced answer also stops once its \\boxed{} closes or its letter is written")
        ->capture_default_str();
    app->add_option("--write-up-tokens", run.write_up_tokens,
                    "budget of the answer a path writes after ending its thinking by itself (stops at end of sequence)")
        ->capture_default_str();
    app->add_option("--parity", parity,
                    "leap | reference: reference reproduces the reference implementation run for run (trim, hybrid "
                    "routing, a path stops at its end of thinking, forced answers stop only at a marker, LeaP-T stops "
                    "at <summarize> in every segment; docs/method.md)")
        ->check(CLI::IsMember({"leap", "reference"}))
        ->capture_default_str();
    app->add_flag("--reference-parity", run.reference_parity, "the same as --parity reference");
    app->add_option("--blocks", blocks,
                    "the blocks that run, e.g. 1,3 (block b follows segment b; default: every block, or --single-block "
                    "for single and leap-s)");
    app->add_option("-s,--seed", run.seed, "fixes the run: sampling, triggers, openers, random routing")
        ->check(seed_range())
        ->capture_default_str();
    if (scope.match_budget)
        app->add_option("--match-budget", match_budget,
                        "paths|length: run independent sampling with at least the token budget of the LeaP run the "
                        "other flags describe, by more paths or by more segments (compute-matched baseline)");
    adaptive.add_to(app, run);
    app->add_option("--prompts", prompts_file, "prompt set JSON (default: the built-in leap-default)");
    app->add_option("--end-of-thinking", end_of_thinking,
                    "the end-of-thinking marker, instead of the one the model's chat template shows (leap info)");
    app->add_option("--chat-template-file", chat_template, "a .jinja file overriding the model's chat template");
    app->add_option("--temp,--temperature", engine.sampling.temperature, "sampling temperature (0: greedy)")
        ->capture_default_str();
    app->add_option("--top-k", engine.sampling.top_k, "sampling top-k (0: off; peers per path are --peers)")
        ->capture_default_str();
    app->add_option("--top-p", engine.sampling.top_p, "sampling top-p")->capture_default_str();
    app->add_option("--min-p", engine.sampling.min_p, "sampling min-p")->capture_default_str();
    app->add_option("--sampler-order", sampler_order,
                    "reference: temperature first, then top-k, top-p, min-p on the tempered distribution (vLLM and "
                    "SGLang, the paper's runs) | llama: llama.cpp's order, the cuts first and the temperature last")
        ->check(CLI::IsMember({"reference", "llama"}))
        ->each([this](const std::string& v) { engine.sampling.order = parse_sampler_order(v); })
        ->capture_default_str();
    app->add_flag("--ignore-eos", engine.sampling.ban_end_of_generation,
                  "never sample end-of-generation tokens (benchmarks: fixed lengths)");
    app->add_option("-c,--ctx-size", engine.n_ctx_per_path, "context tokens per path (0: from the budgets)")
        ->capture_default_str();
    in_process_only.push_back(app->add_option("-t,--threads", engine.threads, "CPU threads (0: all)")->capture_default_str());
    in_process_only.push_back(app->add_option("-b,--batch-size", engine.n_batch, "most tokens per llama_decode")->capture_default_str());
    in_process_only.push_back(app->add_option("--ubatch-size", engine.n_ubatch,
                    "-ub: physical batch size (0: the whole batch with per-path KV streams, 512 with --kv-unified)")
        ->capture_default_str());
    in_process_only.push_back(app->add_flag("--kv-unified", engine.kv_unified, "-kvu: one KV cache shared by all paths (default: a stream per path)"));
    in_process_only.push_back(app->add_option("--kv-size", engine.kv_size, "with --kv-unified: total KV cells shared by all paths (0: paths x ctx-size)")
        ->capture_default_str());
    app->add_option("--parallel-problems", engine.parallel_problems, "problems in flight at once (P)")
        ->capture_default_str();
    in_process_only.push_back(app->add_option("--flash-attn", flash_attn, "-fa: flash attention, on | off | auto")
        ->check(CLI::IsMember({"on", "off", "auto", "enabled", "disabled", "true", "false", "1", "0", "-1"}))
        ->each([this](const std::string& v) { engine.flash_attn = parse_flash_attn(v); })
        ->capture_default_str());
    in_process_only.push_back(app->add_option("--cache-type-k", engine.cache_type_k, "-ctk: KV cache type of keys: f32, f16, bf16, q8_0, q4_0, ...")
        ->capture_default_str());
    in_process_only.push_back(app->add_option("--cache-type-v", engine.cache_type_v,
                    "-ctv: KV cache type of values (quantized values need flash attention)")->capture_default_str());
    in_process_only.push_back(app->add_flag("--backend-sampling", engine.backend_sampling,
                  "-bs: in-process model: cut each path's top-k on the model's device (llama.cpp backend sampling, "
                  "experimental) so only k candidates per step come back; the same tokens as without"));
    in_process_only.push_back(app->add_option("--n-gpu-layers,--gpu-layers", n_gpu_layers, "-ngl: layers on the GPU (-1: all)")->capture_default_str());
    app->add_flag("--print-config", print_config,
                  "print the settings these flags resolve to as JSON and exit (no model is loaded)");
    if (!scope.remote_backend) return;
    app->add_option("--backend", backend, "llama (in-process) | openai (OpenAI-compatible servers: vLLM, SGLang, llama-server)")
        ->check(CLI::IsMember({"llama", "openai"}))
        ->capture_default_str();
    remote_only.push_back(app->add_option("--base-url", openai.base_urls,
                    "--backend openai: a server, e.g. http://10.0.0.5:8000 (repeat for replicas; paths are spread over them)"));
    remote_only.push_back(app->add_option("--tokenizer", tokenizer,
                    "--backend openai: GGUF with the served model's vocabulary and chat template (vocab-only is enough; default: -m)"));
    remote_only.push_back(app->add_option("--api-key-env", openai.api_key_env, "--backend openai: environment variable holding the API key")
        ->capture_default_str());
    remote_only.push_back(app->add_option("--max-inflight", openai.max_inflight, "--backend openai: most requests in flight at once")
        ->capture_default_str());
    remote_only.push_back(app->add_option(scope.attempt_timeout_flag, openai.retry.timeout_s, "--backend openai: seconds one HTTP attempt to a server may take")
        ->capture_default_str());
    remote_only.push_back(app->add_option("--retries", openai.retry.retries,
                    "--backend openai: further attempts after a connection error, timeout, 408, 429 or 5xx (exponential backoff)")
        ->capture_default_str());
    remote_only.push_back(app->add_flag("--server-text-prompts", openai.text_prompts,
                  "--backend openai: send each context as text, not token ids (fallback; the server tokenizes)"));
    remote_only.push_back(app->add_flag("--no-slot-affinity{false}", openai.slot_affinity,
                  "--backend openai: spread each path's requests round-robin over the server slots instead of keeping "
                  "it on one (the reference implementation's access pattern: prefix cache misses; for benchmarks)"));
    remote_only.push_back(app->add_option("--share-prompt", openai.share_prompt,
                    "--backend openai, llama-server: evaluate each problem's prompt in one slot and copy it into its "
                    "other paths' slots through a slot file (needs the server's --slot-save-path): auto | on | off")
        ->check(CLI::IsMember({"auto", "on", "off"}))
        ->capture_default_str());
    remote_only.push_back(app->add_option("--server-kind", openai.server_kind, "--backend openai: auto | llama-server | openai (vLLM, SGLang)")
        ->capture_default_str());
    remote_only.push_back(app->add_flag("--server-unseeded", openai.allow_unseeded,
                  "--backend openai: accept an SGLang server that ignores seeds (started without "
                  "--enable-deterministic-inference); the run is then not reproducible"));
    remote_only.push_back(app->add_option("--server-model", openai.model_name,
                    "--backend openai: the \"model\" field to send (default: the server's first model)"));
}

void EngineFlags::check_backend_flags() const {
    const std::vector<CLI::Option*>& other = remote() ? in_process_only : remote_only;
    for (const CLI::Option* o : other)
        if (o->count() > 0)
            throw UsageError(o->get_name() + (remote() ? " applies to the in-process engine only (--backend llama); the "
                                                         "servers behind --backend openai have their own settings"
                                                       : " applies to --backend openai only"));
}

int parse_flash_attn(const std::string& v) {
    if (v == "on" || v == "enabled" || v == "true" || v == "1") return 1;
    if (v == "off" || v == "disabled" || v == "false" || v == "0") return 0;
    if (v == "auto" || v == "-1") return -1;
    throw UsageError("--flash-attn '" + v + "': expected on, off or auto");
}

RunConfig EngineFlags::run_config() const {
    try {
        RunConfig c = resolve_run_config();
        return c;
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        throw UsageError(e.what());  // a flag's value is impossible: the command line is wrong
    }
}

RunConfig EngineFlags::resolve_run_config() const {
    RunConfig c = run;
    if (parity == "reference") c.reference_parity = true;
    if (!blocks.empty()) {
        std::stringstream ss(blocks);
        for (std::string item; std::getline(ss, item, ',');) {
            size_t used = 0;
            int b = 0;
            try {
                b = std::stoi(item, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (item.empty() || used != item.size())
                throw Error("--blocks '" + blocks + "': '" + item + "' is not a block number (e.g. --blocks 1,3)");
            c.blocks.push_back(b - 1);
        }
        std::sort(c.blocks.begin(), c.blocks.end());
        c.blocks.erase(std::unique(c.blocks.begin(), c.blocks.end()), c.blocks.end());
        // single and leap-s: --blocks N is --single-block N-1.
        if ((method == "single" || method == "leap-s") && c.blocks.size() == 1) c.single_block = c.blocks[0];
    }
    c.method = parse_method(method);
    const bool moa = c.method == Method::MixtureOfAgents;
    if (!moa_layout.empty() && !moa)
        throw UsageError("--moa-layout is a setting of --method moa (the method is " + method + ")");
    if (moa_agents_option != nullptr && moa_agents_option->count() > 0) {
        if (!moa) throw UsageError("--moa-agents is a setting of --method moa (for other methods: -N/--paths)");
        if (paths_option != nullptr && paths_option->count() > 0 && run.n_paths != moa_agents)
            throw UsageError("--moa-agents " + std::to_string(moa_agents) + " and -N " + std::to_string(run.n_paths) +
                             " disagree: both are the paths per layer (give one)");
        c.n_paths = moa_agents;
    }
    if (moa) {
        // The reference's MoA under --parity reference, unless --moa-layout says otherwise; with
        // its layout come its defaults (3 agents, 4 layers) where the flags give none.
        c.moa_layout = parse_moa_layout(!moa_layout.empty() ? moa_layout : c.reference_parity ? "reference" : "leap");
        if (c.moa_layout == MoaLayout::Reference) {
            const bool n_given = (paths_option != nullptr && paths_option->count() > 0) ||
                                 (moa_agents_option != nullptr && moa_agents_option->count() > 0);
            if (!n_given) c.n_paths = 3;
            if (moa_layers_option == nullptr || moa_layers_option->count() == 0) c.moa_layers = 4;
        }
    }
    c.router.kind = parse_router(router);
    c.router.similarity = parse_similarity(similarity);
    adaptive.resolve(c);
    c.validate();
    // A path hears at most the N-1 others; asking for more is a mistake, not a request to clamp.
    const bool routed = c.method != Method::Independent && c.method != Method::MixtureOfAgents &&
                        c.router.kind != RouterKind::All;
    if (routed && peers_option != nullptr && peers_option->count() > 0 && c.router.k >= c.n_paths)
        throw UsageError("--peers " + std::to_string(c.router.k) + " needs more paths: a path hears at most the " +
                         std::to_string(c.n_paths - 1) + " others of -N/--paths " + std::to_string(c.n_paths) +
                         " (give --peers below -N, or more paths with -N)");
    if (!match_budget.empty()) {
        if (c.method == Method::Independent)
            throw Error("--match-budget describes the LeaP run to match: give its --method (leap, leap-t, ...)");
        c = equal_budget_independent(c, parse_budget_match(match_budget));
        c.validate();
    }
    return c;
}

nlohmann::json EngineFlags::resolved_json(const RunConfig& c) const {
    nlohmann::json j = config_json(c, engine);
    j["model"] = model;
    j["n_gpu_layers"] = n_gpu_layers;
    j["flash_attn"] = engine.flash_attn < 0 ? "auto" : engine.flash_attn ? "on" : "off";
    j["cache_type_k"] = engine.cache_type_k;
    j["cache_type_v"] = engine.cache_type_v;
    j["ctx_size"] = engine.n_ctx_per_path;
    j["threads"] = engine.threads;
    j["ubatch_size"] = engine.n_ubatch;
    j["backend"] = backend;
    return j;
}

PromptSet EngineFlags::prompt_set() const {
    PromptSet p = prompts_file.empty() ? PromptSet::builtin()
                                       : PromptSet::from_json(read_file(prompts_file, "prompt set"), prompts_file);
    if (!end_of_thinking.empty()) p.fix_end_of_thinking(end_of_thinking);
    return p;
}

ModelOptions EngineFlags::tokenizer_options() const {
    ModelOptions m;
    m.path = tokenizer.empty() ? model : tokenizer;
    if (m.path.empty()) throw Error("--backend openai needs the served model's tokenizer: --tokenizer GGUF (or -m GGUF)");
    m.chat_template_file = chat_template;
    m.vocab_only = true;
    m.n_gpu_layers = 0;
    return m;
}

std::unique_ptr<openai::Tokenizer> EngineFlags::openai_tokenizer() const {
    if (!tokenizer.empty() || !model.empty()) return std::make_unique<openai::GgufTokenizer>(tokenizer_options());
    if (openai.base_urls.empty()) throw Error("--backend openai needs at least one --base-url");
    if (openai::parse_server_kind(openai.server_kind) == openai::ServerKind::OpenAI)
        throw Error("--backend openai needs the served model's tokenizer: --tokenizer GGUF (or -m GGUF); only "
                    "llama-server can be asked for it");
    if (!chat_template.empty())
        throw Error("--chat-template-file needs --tokenizer GGUF (without it, llama-server renders its own template)");
    std::string api_key;
    if (!openai.api_key_env.empty())
        if (const char* key = std::getenv(openai.api_key_env.c_str()); key != nullptr) api_key = key;
    return std::make_unique<openai::ServerTokenizer>(openai::parse_base_url(openai.base_urls[0]), openai.retry, api_key);
}

ModelOptions EngineFlags::model_options() const {
    if (remote()) throw Error("this command runs the model in-process only (--backend llama)");
    if (model.empty()) throw Error("-m/--model is required (a GGUF model file)");
    ModelOptions m;
    m.path = model;
    m.chat_template_file = chat_template;
    m.n_gpu_layers = n_gpu_layers;
    return m;
}

BackendHandle EngineFlags::make_backend(const RunConfig& config, const PromptSet& prompts) const {
    BackendHandle h;
    if (remote()) {
        refuse_confidence_remote(config);
        h.engine = std::make_unique<openai::OpenAIEngine>(openai_tokenizer(), openai, engine, config, prompts);
    } else {
        h.model = std::make_unique<LlamaModel>(model_options());
        h.engine = std::make_unique<LlamaEngine>(*h.model, engine, config, prompts);
    }
    return h;
}

nlohmann::json config_json(const RunConfig& c, const EngineOptions& e) {
    nlohmann::json j = {{"method", to_string(c.method)},
                        {"paths", c.n_paths},
                        {"segment_tokens", c.segment_tokens},
                        {"segments", c.segments},
                        {"summary_tokens", c.summary_tokens},
                        {"answer_tokens", c.answer_tokens},
                        {"write_up_tokens", c.write_up_tokens},
                        {"single_block", c.single_block},
                        {"router", to_string(c.router.kind)},
                        {"peers", c.router.k},
                        {"similarity", to_string(c.router.similarity)},
                        {"reference_parity", c.reference_parity},
                        {"sampler_order", to_string(e.sampling.order)},
                        {"seed", c.seed},
                        {"sampling",
                         {{"temperature", e.sampling.temperature},
                          {"top_k", e.sampling.top_k},
                          {"top_p", e.sampling.top_p},
                          {"min_p", e.sampling.min_p}}},
                        {"kv_unified", e.kv_unified},
                        {"parallel_problems", e.parallel_problems},
                        {"batch_size", e.n_batch}};
    if (!c.blocks.empty()) j["blocks"] = c.blocks;
    add_adaptive_json(c, j);
    // Only for the methods that use them, so the identity of earlier runs does not change.
    if (c.method == Method::LeapS) j["group_size"] = c.group_size;
    if (c.method == Method::MixtureOfAgents) {
        j["moa_layers"] = c.moa_layers;
        j["moa_context_chars"] = c.moa_context_chars;
        if (c.moa_layout != MoaLayout::Leap) j["moa_layout"] = to_string(c.moa_layout);
    }
    return j;
}

std::string dump_json(const nlohmann::json& j, int indent) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_file_atomic(const std::string& path, const std::string& text) {
    namespace fs = std::filesystem;
    const fs::path p(path);
    if (p.has_parent_path()) fs::create_directories(p.parent_path());
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("cannot write '" + tmp + "'");
        out << text;
        if (!out.flush()) throw Error("cannot write '" + tmp + "' (disk full?)");
    }
    fs::rename(tmp, p);
}

std::string read_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(std::string(what) + " '" + path + "' cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace leap::cli
