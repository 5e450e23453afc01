#include "eval/report_labels.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "core/config.h"
#include "core/error.h"

namespace leap {

namespace {

using nlohmann::json;

std::string config_value(const json& identity, const std::string& key) {
    // Results written before the flags took llama.cpp's names called the peers "top_k".
    if (key == "peers" && identity.contains("config") && identity["config"].is_object() && !identity["config"].contains("peers"))
        return config_value(identity, "top_k");
    if (!identity.contains("config") || !identity["config"].is_object() || !identity["config"].contains(key)) return "";
    const json& v = identity["config"][key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

int config_int(const json& identity, const std::string& key, int fallback) {
    const std::string v = config_value(identity, key);
    try {
        return v.empty() ? fallback : std::stoi(v);
    } catch (const std::exception&) {
        return fallback;
    }
}

std::string method_title(const std::string& method) {
    if (method == "leap") return "LeaP";
    if (method == "leap-t") return "LeaP-T";
    if (method == "leap-s") return "LeaP-S";
    if (method == "independent") return "Independent";
    if (method == "single") return "Single-block LeaP";
    if (method == "moa") return "Mixture of agents";
    return method.empty() ? "Run" : method;
}

// Flattens nested objects to "a.b" keys, for naming what differs between two runs.
void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
        return;
    }
    if (j.is_number_float()) {  // settings stored as float read 0.6000000238418579 at full precision
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", j.get<double>());
        out[prefix] = buf;
        return;
    }
    out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
}

json without_seed(json identity) {
    if (identity.contains("config") && identity["config"].is_object()) identity["config"].erase("seed");
    return identity;
}

// "temperature 0.6", "model small.gguf", "options shuffled": one differing setting in words.
std::string setting_phrase(const std::string& key, const std::string* value) {
    const std::string name = setting_name(key);
    if (!value) return "no " + name;
    if (*value == "true") return name;
    if (*value == "false") return "no " + name;
    return name + " " + *value;
}

// The RunConfig fields the token budget depends on, read from a run.json identity.
RunConfig budget_config(const json& identity) {
    RunConfig c;
    c.method = parse_method(config_value(identity, "method"));
    c.n_paths = config_int(identity, "paths", c.n_paths);
    c.segment_tokens = config_int(identity, "segment_tokens", c.segment_tokens);
    c.segments = config_int(identity, "segments", c.segments);
    c.summary_tokens = config_int(identity, "summary_tokens", c.summary_tokens);
    c.answer_tokens = config_int(identity, "answer_tokens", c.answer_tokens);
    c.single_block = config_int(identity, "single_block", c.single_block);
    c.router.k = config_int(identity, "peers", c.router.k);
    if (identity.contains("config") && identity["config"].contains("blocks") && identity["config"]["blocks"].is_array())
        for (const auto& b : identity["config"]["blocks"])
            if (b.is_number_integer()) c.blocks.push_back(b.get<int>());
    return c;
}

// The phrase for an independent run that is the compute-matched baseline of `leap`: the flags
// described `leap` (every other setting equal) and --match-budget raised N or M to its token
// budget. Empty when it is not.
std::string matched_phrase(const json& independent, const json& leap) {
    const std::string method = config_value(leap, "method");
    if (config_value(independent, "method") != "independent" || method.empty() || method == "independent" || method == "moa")
        return "";
    json a = without_seed(independent), b = without_seed(leap);
    for (json* j : {&a, &b})
        if ((*j).contains("config") && (*j)["config"].is_object())
            for (const char* k : {"method", "paths", "segments"}) (*j)["config"].erase(k);
    if (a != b) return "";
    try {
        const RunConfig l = budget_config(leap);
        const int n = config_int(independent, "paths", -1), m = config_int(independent, "segments", -1);
        const RunConfig by_paths = equal_budget_independent(l, BudgetMatch::Paths);
        const RunConfig by_length = equal_budget_independent(l, BudgetMatch::Length);
        if (n == by_paths.n_paths && m == by_paths.segments && n != l.n_paths)
            return " (" + method_title(method) + "'s token budget)";
        if (n == by_length.n_paths && m == by_length.segments && m != l.segments)
            return ", " + std::to_string(m) + " segments (" + method_title(method) + "'s token budget)";
    } catch (const Error&) {
        return "";  // not a method this leap knows: no budget to compare
    }
    return "";
}

}  // namespace

std::string setting_name(const std::string& key) {
    static const std::map<std::string, std::string> known = {
        {"config.sampling.temperature", "temperature"}, {"config.sampling.top_p", "top-p"},
        {"config.sampling.top_k", "top-k"},             {"config.sampling.min_p", "min-p"},
        {"config.segment_tokens", "segment length"},   {"config.segments", "segments"},
        {"config.summary_tokens", "summary budget"},   {"config.answer_tokens", "answer budget"},
        {"config.write_up_tokens", "write-up budget"}, {"config.single_block", "block"},
        {"config.router", "routing"},                  {"config.peers", "peers"},
        {"config.top_k", "peers"},                     {"config.similarity", "similarity"},
        {"config.reference_parity", "reference parity"}, {"config.sampler_order", "sampler order"},
        {"config.group_size", "group size"},           {"config.moa_layers", "layers"},
        {"config.moa_context_chars", "context shown"}, {"config.blocks", "blocks"},
        {"config.paths", "paths"},                     {"model", "model"},
        {"prompts", "prompts"},                        {"shuffle_options", "options shuffled"},
        {"shuffle_seed", "shuffle seed"},              {"limit", "first problems"}};
    auto it = known.find(key);
    if (it != known.end()) return it->second;
    // Any other setting: its last part, in words.
    std::string name = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
    for (char& c : name)
        if (c == '_') c = ' ';
    return name;
}

std::string run_label(const json& identity) {
    const std::string method = config_value(identity, "method");
    std::string label = method_title(method);
    const std::string paths = config_value(identity, "paths");
    if (!paths.empty()) label += ", " + paths + (paths == "1" ? " path" : " paths");
    if (method != "independent" && method != "moa") {
        const std::string router = config_value(identity, "router"), k = config_value(identity, "peers");
        if (!k.empty()) label += ", " + k + (k == "1" ? " peer" : " peers") + (router.empty() ? "" : " (" + router + ")");
        else if (!router.empty()) label += ", " + router + " routing";
        if (method == "single" || method == "leap-s") {
            const int b = config_int(identity, "single_block", 0);
            label += ", block after segment " + std::to_string(b + 1);
        }
    }
    if (method == "moa" && !config_value(identity, "moa_layers").empty())
        label += ", " + config_value(identity, "moa_layers") + " layers";
    return label;
}

std::vector<std::string> run_labels(const std::vector<json>& identities, const std::vector<std::string>& first_folders) {
    std::vector<std::string> labels;
    for (size_t i = 0; i < identities.size(); ++i) {
        std::string label = run_label(identities[i]);
        for (size_t j = 0; j < identities.size(); ++j) {
            const std::string matched = j == i ? "" : matched_phrase(identities[i], identities[j]);
            if (!matched.empty()) {
                label += matched;
                break;
            }
        }
        labels.push_back(label);
    }
    // Where two runs would read the same, add what differs.
    const std::vector<std::string> base = labels;
    for (size_t i = 0; i < base.size(); ++i) {
        std::vector<size_t> same;
        for (size_t j = 0; j < base.size(); ++j)
            if (base[j] == base[i]) same.push_back(j);
        if (same.size() < 2 || same[0] != i) continue;  // each group once, from its first member
        std::vector<std::map<std::string, std::string>> flat(same.size());
        for (size_t s = 0; s < same.size(); ++s) flatten(without_seed(identities[same[s]]), "", flat[s]);
        std::set<std::string> differing;
        for (size_t s = 1; s < same.size(); ++s)
            for (const auto& m : {flat[0], flat[s]})
                for (const auto& [k, v] : m) {
                    auto a = flat[0].find(k), b = flat[s].find(k);
                    if (a == flat[0].end() || b == flat[s].end() || a->second != b->second) differing.insert(k);
                }
        for (size_t s = 0; s < same.size(); ++s) {
            std::string extra;
            for (const auto& k : differing) {
                auto it = flat[s].find(k);
                extra += ", " + setting_phrase(k, it == flat[s].end() ? nullptr : &it->second);
            }
            if (differing.empty()) extra = " (" + std::filesystem::path(first_folders[same[s]]).filename().string() + ")";
            labels[same[s]] += extra;
        }
    }
    return labels;
}

}  // namespace leap
