// llama.cpp's flag names on leap's command line (docs/cli.md): its multi-letter short flags map
// to leap's long forms, its flags whose meaning leap lacks are refused with what leap uses
// instead, and every other flag must be one the chosen subcommand has. All checked before CLI11
// parses, because CLI11 reads "-ngl 99" as "-n gl 99" and "-ctk q8_0" as "-c tk q8_0".
#include <cctype>
#include <cstring>
#include <map>

#include "cli/usage.h"

namespace leap::cli {

namespace {

// llama.cpp's short forms of settings leap has (common/arg.cpp), as leap's long names.
const std::map<std::string, std::string>& llama_short_forms() {
    static const std::map<std::string, std::string> m = {
        {"-ngl", "--n-gpu-layers"}, {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"},
        {"-fa", "--flash-attn"},    {"-ub", "--ubatch-size"},   {"-kvu", "--kv-unified"},
        {"-bs", "--backend-sampling"},
    };
    return m;
}

constexpr const char* kLength =
    "leap has no token count to predict: a path's length is -T/--segment-tokens x --segments, plus "
    "--summary-tokens, --answer-tokens and --write-up-tokens (paths per problem: -N/--paths)";
constexpr const char* kSamplers =
    "leap samples with temperature, top-k, top-p and min-p only (--temp, --top-k, --top-p, --min-p; their order: "
    "--sampler-order)";
constexpr const char* kGrammar =
    "leap does not constrain what a path writes; answers are read from \\boxed{} or a choice letter (docs/grading.md)";
constexpr const char* kNotInLeap = "leap does not have this setting (docs/cli.md lists the llama.cpp flags it has)";

// llama.cpp flags whose meaning leap lacks, each with what leap uses instead. Never given
// another meaning: -n is llama.cpp's --n-predict, so leap's paths are -N/--paths.
const std::map<std::string, std::string>& llama_refused() {
    static const std::map<std::string, std::string> m = {
        {"-n", std::string("-n is llama.cpp's --n-predict; ") + kLength},
        {"--predict", kLength},
        {"--n-predict", kLength},
        {"-np", "leap runs -N/--paths paths per problem; problems in flight at once: --parallel-problems "
                "(leap serve: --kv-sequences)"},
        {"--parallel", "leap runs -N/--paths paths per problem; problems in flight at once: --parallel-problems "
                       "(leap serve: --kv-sequences)"},
        {"--repeat-penalty", kSamplers},
        {"--repeat-last-n", kSamplers},
        {"--presence-penalty", kSamplers},
        {"--frequency-penalty", kSamplers},
        {"--mirostat", kSamplers},
        {"--mirostat-lr", kSamplers},
        {"--mirostat-ent", kSamplers},
        {"--typical", kSamplers},
        {"--typical-p", kSamplers},
        {"--top-nsigma", kSamplers},
        {"--xtc-probability", kSamplers},
        {"--xtc-threshold", kSamplers},
        {"--dry-multiplier", kSamplers},
        {"--dynatemp-range", kSamplers},
        {"--samplers", "the samplers are fixed: --sampler-order reference|llama chooses their order"},
        {"--sampling-seq", "the samplers are fixed: --sampler-order reference|llama chooses their order"},
        {"--grammar", kGrammar},
        {"--grammar-file", kGrammar},
        {"-j", kGrammar},
        {"--json-schema", kGrammar},
        {"-jf", kGrammar},
        {"--json-schema-file", kGrammar},
        {"-l", kSamplers},
        {"--logit-bias", kSamplers},
        {"--chat-template",
         "leap reads a template from a file: --chat-template-file FILE.jinja (llama.cpp's --chat-template takes a "
         "template name or text)"},
        {"-sys", "leap's prompts come from its prompt set: --prompts FILE (docs/method.md)"},
        {"--system-prompt", "leap's prompts come from its prompt set: --prompts FILE (docs/method.md)"},
        {"-cnv", "leap solves one problem per run (leap solve) or serves chat requests (leap serve)"},
        {"--conversation", "leap solves one problem per run (leap solve) or serves chat requests (leap serve)"},
        {"-i", "leap solves one problem per run (leap solve) or serves chat requests (leap serve)"},
        {"--interactive", "leap solves one problem per run (leap solve) or serves chat requests (leap serve)"},
        {"-hf", "leap loads a local GGUF file: -m FILE"},
        {"--hf-repo", "leap loads a local GGUF file: -m FILE"},
        {"-hff", "leap loads a local GGUF file: -m FILE"},
        {"--hf-file", "leap loads a local GGUF file: -m FILE"},
        {"-mu", "leap loads a local GGUF file: -m FILE"},
        {"--model-url", "leap loads a local GGUF file: -m FILE"},
        {"--lora", kNotInLeap},
        {"-tb", kNotInLeap},
        {"--threads-batch", kNotInLeap},
        {"-sm", kNotInLeap},
        {"--split-mode", kNotInLeap},
        {"-ts", kNotInLeap},
        {"--tensor-split", kNotInLeap},
        {"-mg", kNotInLeap},
        {"--main-gpu", kNotInLeap},
        {"-dev", kNotInLeap},
        {"--device", kNotInLeap},
        {"-nkvo", kNotInLeap},
        {"--no-kv-offload", kNotInLeap},
        {"--mlock", kNotInLeap},
        {"--no-mmap", kNotInLeap},
        {"--rope-freq-base", kNotInLeap},
        {"--rope-scaling", kNotInLeap},
        {"-cb", "leap always batches all paths in one decode (--parallel-problems sets how many problems)"},
        {"--cont-batching", "leap always batches all paths in one decode (--parallel-problems sets how many problems)"},
        {"-r", kNotInLeap},
        {"--reverse-prompt", kNotInLeap},
        {"--reasoning-budget", kLength},
        {"--keep", kNotInLeap},
        {"--jinja", "leap always renders the model's chat template with llama.cpp's Jinja engine"},
    };
    return m;
}

// Renamed leap flags: the old spelling says what to type now (and never silently means
// something else: the old --top-k was the number of peers).
const std::map<std::string, std::string>& renamed_flags() {
    static const std::map<std::string, std::string> m = {
        {"--sample-top-k", "sampling top-k is --top-k (as in llama.cpp); peers per path are --peers"},
        {"-g", "layers on the GPU are -ngl/--n-gpu-layers (as in llama.cpp)"},
        {"--ctk", "the KV cache type of keys is -ctk/--cache-type-k (as in llama.cpp)"},
        {"--ctv", "the KV cache type of values is -ctv/--cache-type-v (as in llama.cpp)"},
    };
    return m;
}

bool is_negative_number(const std::string& a) {
    return a.size() >= 2 && a[0] == '-' && (std::isdigit((unsigned char)a[1]) || a[1] == '.');
}

// "-ngl", "-no-cnv": a short word of letters, as llama.cpp's multi-letter flags are ("-T96", "-pFind
// x" are values glued to a one-letter flag).
bool looks_like_flag(const std::string& a) {
    if (a.size() > 8) return false;
    for (size_t i = 1; i < a.size(); ++i)
        if (!std::isalpha((unsigned char)a[i]) && a[i] != '-') return false;
    return true;
}

std::vector<std::string> flag_names(CLI::App& cmd) {
    std::vector<std::string> names;
    for (const CLI::Option* o : cmd.get_options()) {
        for (const auto& l : o->get_lnames()) names.push_back("--" + l);
        for (const auto& s : o->get_snames()) names.push_back("-" + s);
    }
    return names;
}

std::string command_path(const std::vector<std::string>& chain) {
    std::string s = "leap";
    for (const auto& c : chain) s += " " + c;
    return s;
}

}  // namespace

std::vector<std::string> checked_args(CLI::App& app, int argc, char** argv) {
    std::vector<std::string> out;
    for (int i = 1; i < argc; ++i) out.emplace_back(argv[i]);
    CLI::App* cmd = &app;
    std::vector<std::string> chain;
    bool value_next = false;  // the previous token is an option that takes a value
    for (size_t i = 0; i < out.size(); ++i) {
        std::string& a = out[i];
        if (a == "--") break;  // everything after is positional
        if (value_next) {  // an option's value, even when it starts with a dash (-p "-x + 1 = 0")
            value_next = false;
            continue;
        }
        if (a.empty() || a[0] != '-' || is_negative_number(a) || a == "-") {
            // A subcommand name, or a positional value.
            std::vector<CLI::App*> subs = cmd->get_subcommands([](CLI::App*) { return true; });
            if (subs.empty()) continue;
            CLI::App* found = nullptr;
            std::vector<std::string> names;
            for (CLI::App* s : subs) {
                names.push_back(s->get_name());
                if (s->get_name() == a) found = s;
            }
            if (found != nullptr) {
                cmd = found;
                chain.push_back(a);
                continue;
            }
            if (cmd->get_options([](CLI::Option* o) { return o->get_positional(); }).empty())
                throw UsageError("'" + a + "' is not a " + command_path(chain) + " command" + did_you_mean(a, names) +
                                 "; 'leap --help' lists them");
            continue;
        }
        if (const auto it = llama_short_forms().find(a); it != llama_short_forms().end()) a = it->second;
        // The flag's name: "--x=v" -> "--x"; "-n4" -> "-n" (a short flag with its value glued on).
        const bool long_flag = a.rfind("--", 0) == 0;
        const size_t eq = a.find('=');
        const std::string name = long_flag ? a.substr(0, eq) : a.substr(0, 2);
        const bool glued = long_flag ? eq != std::string::npos : a.size() > 2;
        const std::string help = "'" + command_path(chain) + " --help' lists its flags";
        if (cmd->get_option_no_throw(name) == nullptr) {
            if (name == "-h" || name == "--help" || (cmd == &app && name == "--version")) continue;
            if (const auto it = renamed_flags().find(name); it != renamed_flags().end())
                throw UsageError(name + " is gone: " + it->second);
            // "-ngl" as a whole: a llama.cpp flag, or one leap never had.
            const std::string whole = long_flag ? name : a;
            if (const auto it = llama_refused().find(whole); it != llama_refused().end())
                throw UsageError(whole + " (llama.cpp's) is not supported: " + it->second);
            if (const auto it = llama_refused().find(name); it != llama_refused().end())
                throw UsageError(name + " (llama.cpp's) is not supported: " + it->second);
            const bool multi_letter = !long_flag && a.size() > 2 && looks_like_flag(a);
            throw UsageError("unknown flag " + whole + " for " + command_path(chain) +
                             did_you_mean(long_flag ? whole : "--" + whole.substr(1), flag_names(*cmd)) + "; " +
                             (multi_letter ? "leap's short flags are one letter, long flags take two dashes; " : "") + help);
        }
        const CLI::Option* opt = cmd->get_option_no_throw(name);
        const bool takes_value = opt->get_expected_min() > 0 && opt->get_type_size_min() > 0;
        if (!long_flag && glued && (!takes_value || looks_like_flag(a))) {
            // -xyz is not -x with a value glued on (-n4, -T96): a multi-letter flag leap lacks.
            if (const auto it = llama_refused().find(a); it != llama_refused().end())
                throw UsageError(a + " (llama.cpp's) is not supported: " + it->second);
            throw UsageError("unknown flag " + a + " for " + command_path(chain) +
                             did_you_mean("--" + a.substr(1), flag_names(*cmd)) +
                             "; leap's short flags are one letter, long flags take two dashes");
        }
        value_next = takes_value && !glued;
    }
    return out;
}

}  // namespace leap::cli
