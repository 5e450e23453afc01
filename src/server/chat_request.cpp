#include "server/chat_request.h"

#include <cmath>
#include <limits>
#include <optional>

#include "core/error.h"
#include "core/json_type.h"
#include "core/router.h"
#include "core/similarity.h"

namespace leap::server {

using nlohmann::json;

json ApiError::body() const {
    return {{"error",
             {{"message", what()},
              {"type", type},
              {"param", param.empty() ? json(nullptr) : json(param)},
              {"code", status}}}};
}

std::string shown_value(std::string_view value) {
    if (value.size() <= kShownValueBytes) return std::string(value);
    size_t cut = kShownValueBytes;
    while (cut > 0 && ((unsigned char)value[cut] & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
    return std::string(value.substr(0, cut)) + "... (" + std::to_string(value.size()) + " bytes)";
}

namespace {

// The param can be a client's key (an unknown field), so it is capped like any echoed value.
[[noreturn]] void bad(const std::string& param, const std::string& what) {
    const std::string shown = shown_value(param);
    throw ApiError(400, shown + ": " + what, shown);
}

// An integer in [lo, hi]; JSON floats with an integral value are accepted (2.0), others not.
long get_int(const json& v, const std::string& param, long lo, long hi) {
    long x = 0;
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t)std::numeric_limits<long>::max())
            bad(param, "must be at most " + std::to_string(hi));
        x = v.get<long>();
    } else if (v.is_number_float()) {
        const double d = v.get<double>();
        if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) bad(param, "must be an integer");
        x = (long)d;
    } else {
        bad(param, std::string("must be an integer, got ") + json_type_name(v));
    }
    if (x < lo || x > hi) bad(param, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + std::to_string(x));
    return x;
}

// A seed: an integer in [0, 2^64), or -1 for "draw one" (nullopt). JSON floats with an
// integral value up to 2^53 (where doubles stop being exact) are accepted too.
std::optional<uint64_t> get_seed(const json& v) {
    const char* range = "must be -1 (draw one) or an integer between 0 and 18446744073709551615";
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer()) {
        if (v.get<int64_t>() == -1) return std::nullopt;
        bad("seed", std::string(range) + ", got " + std::to_string(v.get<int64_t>()));
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (d == -1.0) return std::nullopt;
        if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > 9007199254740992.0) bad("seed", range);
        return (uint64_t)d;
    }
    bad("seed", std::string(range) + ", got " + json_type_name(v));
}

double get_number(const json& v, const std::string& param, double lo, double hi) {
    if (!v.is_number()) bad(param, std::string("must be a number, got ") + json_type_name(v));
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < lo || d > hi)
        bad(param, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return d;
}

bool get_bool(const json& v, const std::string& param) {
    if (!v.is_boolean()) bad(param, std::string("must be true or false, got ") + json_type_name(v));
    return v.get<bool>();
}

std::string get_string(const json& v, const std::string& param) {
    if (!v.is_string()) bad(param, std::string("must be a string, got ") + json_type_name(v));
    return v.get<std::string>();
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts.
std::string message_content(const json& c, const std::string& param) {
    if (c.is_string()) return c.get<std::string>();
    if (!c.is_array()) bad(param, std::string("must be a string or an array of text parts, got ") + json_type_name(c));
    std::string out;
    for (size_t i = 0; i < c.size(); ++i) {
        const std::string p = param + "[" + std::to_string(i) + "]";
        const json& part = c[i];
        if (!part.is_object()) bad(p, "must be an object");
        const auto type = part.find("type");
        if (type == part.end() || !type->is_string()) bad(p + ".type", "is required");
        if (*type != "text") bad(p + ".type", "only text parts are supported, got '" + shown_value(type->get<std::string>()) + "'");
        const auto text = part.find("text");
        if (text == part.end()) bad(p + ".text", "is required");
        out += get_string(*text, p + ".text");
    }
    return out;
}

// A name from a fixed set, parsed by `parse` (which throws leap::Error for unknown names).
template <class Parse>
auto get_name(const json& v, const std::string& param, Parse parse, const char* what, const char* choices) {
    const std::string name = get_string(v, param);
    try {
        return parse(name);
    } catch (const Error&) {
        bad(param, std::string("unknown ") + what + " '" + shown_value(name) + "' (" + choices + ")");
    }
}

// The "leap" object: the method's settings. Unknown keys are errors (a typo must not be ignored).
void apply_leap_object(const json& l, const RequestDefaults& d, RunConfig& c, bool& segments_given) {
    if (!l.is_object()) bad("leap", std::string("must be an object, got ") + json_type_name(l));
    for (const auto& [key, v] : l.items()) {
        const std::string param = "leap." + key;
        if (key == "method") {
            c.method = get_name(v, param, parse_method, "method", "leap, leap-t, independent, single, leap-s, moa");
        } else if (key == "paths") {
            c.n_paths = (int)get_int(v, param, 1, d.max_paths);
        } else if (key == "segment_tokens") {
            c.segment_tokens = (int)get_int(v, param, 1, d.ctx_per_path);
        } else if (key == "segments") {
            c.segments = (int)get_int(v, param, 1, d.ctx_per_path);
            segments_given = true;
        } else if (key == "summary_tokens") {
            c.summary_tokens = (int)get_int(v, param, 1, d.ctx_per_path);
        } else if (key == "answer_tokens") {
            c.answer_tokens = (int)get_int(v, param, 1, d.ctx_per_path);
        } else if (key == "peers") {
            c.router.k = (int)get_int(v, param, 1, d.max_paths);
        } else if (key == "top_k") {
            // Renamed: the peers a path hears are "peers" (as leap --peers); top_k is sampling's.
            bad(param, "the peers a path hears are leap.peers (sampling top-k is not supported per request)");
        } else if (key == "router") {
            c.router.kind = get_name(v, param, parse_router, "router", "dispersed, clustered, hybrid, random, all");
        } else if (key == "similarity") {
            c.router.similarity = get_name(v, param, parse_similarity, "similarity", "indel, levenshtein");
        } else if (key == "single_block") {
            c.single_block = (int)get_int(v, param, 0, d.ctx_per_path);
        } else if (key == "group_size") {
            c.group_size = (int)get_int(v, param, 1, d.max_paths);
        } else if (key == "moa_layers") {
            c.moa_layers = (int)get_int(v, param, 1, 64);
        } else if (key == "moa_layout") {
            c.moa_layout = get_name(v, param, parse_moa_layout, "MoA layout", "leap, reference");
        } else {
            bad(param, "unknown setting (method, paths, segment_tokens, segments, summary_tokens, answer_tokens, "
                       "peers, router, similarity, single_block, group_size, moa_layers, moa_layout)");
        }
    }
}

// The top-level fields leap reads (above), and those it takes because they cannot change
// what is generated.
constexpr const char* kHonoured[] = {"messages", "model", "stream", "stream_options", "n", "temperature", "top_p",
                                     "top_k", "min_p", "seed", "max_tokens", "max_completion_tokens", "leap"};
constexpr const char* kLabels[] = {"user", "metadata"};

// Fields of the OpenAI, llama-server and vLLM APIs that would change the output and that leap
// does not do: refused unless they hold their no-op value (clients such as chat UIs send
// `frequency_penalty: 0` or `logprobs: false` with every request).
void refuse_unhonoured_fields(const json& j) {
    auto has = [&](const char* key) -> const json* {
        const auto it = j.find(key);
        return it == j.end() || it->is_null() ? nullptr : &*it;
    };
    auto number_at = [&](const char* key, double neutral, const char* why) {
        if (const json* v = has(key)) {
            if (!v->is_number()) bad(key, std::string("must be a number, got ") + json_type_name(*v));
            if (v->get<double>() != neutral) bad(key, why);
        }
    };
    auto empty_or_absent = [&](const char* key, const char* why) {
        if (const json* v = has(key)) {
            const bool empty = (v->is_array() || v->is_object() || v->is_string()) && v->empty();
            if (!empty) bad(key, why);
        }
    };
    if (const json* v = has("logprobs")) {
        if (!v->is_boolean()) bad("logprobs", std::string("must be true or false, got ") + json_type_name(*v));
        if (v->get<bool>()) bad("logprobs", "log probabilities are not supported (an answer comes from a vote of paths)");
    }
    if (const json* v = has("top_logprobs"))
        if (!(v->is_number_integer() && v->get<long>() == 0)) bad("top_logprobs", "log probabilities are not supported");
    if (const json* v = has("response_format")) {
        const bool text = v->is_object() && v->size() == 1 && v->contains("type") && (*v)["type"] == "text";
        if (!text) bad("response_format", "only {\"type\": \"text\"} is supported (no JSON mode or schemas)");
    }
    number_at("frequency_penalty", 0.0, "penalties are not supported (only 0)");
    number_at("presence_penalty", 0.0, "penalties are not supported (only 0)");
    number_at("repetition_penalty", 1.0, "penalties are not supported (only 1)");
    empty_or_absent("logit_bias", "logit biases are not supported");
    empty_or_absent("stop", "stop sequences are not supported (the method decides where each path stops)");
    empty_or_absent("tools", "tool calls are not supported");
    empty_or_absent("functions", "function calls are not supported");
    for (const char* key : {"tool_choice", "function_call"})
        if (const json* v = has(key))
            if (!(v->is_string() && (*v == "none" || *v == "auto"))) bad(key, "tool calls are not supported");
    if (const json* v = has("parallel_tool_calls")) get_bool(*v, "parallel_tool_calls");  // no tools: no effect

    static const char* refused_checked[] = {"logprobs", "top_logprobs", "response_format", "frequency_penalty",
                                            "presence_penalty", "repetition_penalty", "logit_bias", "stop",
                                            "tools", "functions", "tool_choice", "function_call", "parallel_tool_calls"};
    auto listed = [](const std::string& key, const auto& list) {
        for (const char* k : list)
            if (key == k) return true;
        return false;
    };
    for (const auto& [key, v] : j.items()) {
        if (listed(key, kHonoured) || listed(key, refused_checked)) continue;
        if (listed(key, kLabels)) {
            if (!v.is_null() && !(key == "user" ? v.is_string() : v.is_object()))
                bad(key, key == "user" ? "must be a string" : "must be an object");
            continue;
        }
        bad(key, "unknown field: leap honours messages, model, stream, stream_options, n (1), temperature, top_p, "
                 "top_k, min_p, seed, max_tokens, max_completion_tokens, leap, user and metadata (docs/serve.md)");
    }
}

}  // namespace

ChatRequest parse_chat_request(const std::string& body, const RequestDefaults& d) {
    json j;
    try {
        j = json::parse(body);
    } catch (const json::exception& e) {
        throw ApiError(400, "the body is not valid JSON: " + shown_value(e.what()));
    }
    if (!j.is_object()) throw ApiError(400, std::string("the body must be a JSON object, got ") + json_type_name(j));

    ChatRequest r;
    r.config = d.config;
    r.sampling = d.sampling;
    r.problem.id = "request";

    // messages: system/developer/user/assistant turns; the last one is the user's problem.
    const auto msgs = j.find("messages");
    if (msgs == j.end()) bad("messages", "is required");
    if (!msgs->is_array() || msgs->empty()) bad("messages", "must be a non-empty array");
    for (size_t i = 0; i < msgs->size(); ++i) {
        const std::string p = "messages[" + std::to_string(i) + "]";
        const json& m = (*msgs)[i];
        if (!m.is_object()) bad(p, std::string("must be an object, got ") + json_type_name(m));
        const auto role = m.find("role");
        if (role == m.end()) bad(p + ".role", "is required");
        std::string rs = get_string(*role, p + ".role");
        if (rs == "developer") rs = "system";
        if (rs != "system" && rs != "user" && rs != "assistant")
            bad(p + ".role", "must be system, developer, user or assistant, got '" + shown_value(rs) + "'");
        const auto content = m.find("content");
        if (content == m.end()) bad(p + ".content", "is required");
        std::string text = message_content(*content, p + ".content");
        if (i + 1 == msgs->size()) {
            if (rs != "user") bad(p + ".role", "the last message must be the user's problem");
            if (text.empty()) bad(p + ".content", "the problem is empty");
            r.problem.text = std::move(text);
        } else {
            r.problem.earlier_turns.push_back({rs, std::move(text)});
        }
    }

    if (const auto it = j.find("model"); it != j.end() && !it->is_null()) r.model = get_string(*it, "model");
    if (const auto it = j.find("stream"); it != j.end() && !it->is_null()) r.stream = get_bool(*it, "stream");
    if (const auto it = j.find("stream_options"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) bad("stream_options", "must be an object");
        if (const auto u = it->find("include_usage"); u != it->end())
            r.include_usage = get_bool(*u, "stream_options.include_usage");
    }
    if (const auto it = j.find("n"); it != j.end() && !it->is_null())
        if (get_int(*it, "n", 1, std::numeric_limits<int>::max()) != 1)
            bad("n", "must be 1: one answer per request (its paths are in the response's leap.paths)");
    if (const auto it = j.find("temperature"); it != j.end() && !it->is_null())
        r.sampling.temperature = (float)get_number(*it, "temperature", 0.0, 2.0);
    if (const auto it = j.find("top_p"); it != j.end() && !it->is_null())
        r.sampling.top_p = (float)get_number(*it, "top_p", 0.0, 1.0);
    if (const auto it = j.find("min_p"); it != j.end() && !it->is_null())
        r.sampling.min_p = (float)get_number(*it, "min_p", 0.0, 1.0);
    if (const auto it = j.find("seed"); it != j.end() && !it->is_null()) {
        // -1: draw one, as llama.cpp reads it (LLAMA_DEFAULT_SEED). Any unsigned 64-bit value
        // is a seed: what the server reports in leap.config.seed always comes back accepted.
        if (const auto seed = get_seed(*it)) {
            r.config.seed = *seed;
            r.seed_given = true;
        }
    }
    if (const auto it = j.find("top_k"); it != j.end() && !it->is_null()) {
        // llama-server and vLLM read top_k here; -1 (vLLM) and 0 (llama.cpp) both mean off.
        const long k = get_int(*it, "top_k", -1, std::numeric_limits<int>::max());
        r.sampling.top_k = (int)std::max(0L, k);
    }
    refuse_unhonoured_fields(j);

    bool segments_given = false;
    if (const auto it = j.find("leap"); it != j.end() && !it->is_null()) apply_leap_object(*it, d, r.config, segments_given);

    // max_tokens: each path's reasoning budget, in segments of T tokens.
    long max_tokens = -1;
    for (const char* key : {"max_completion_tokens", "max_tokens"})
        if (const auto it = j.find(key); it != j.end() && !it->is_null() && max_tokens < 0)
            max_tokens = get_int(*it, key, 1, std::numeric_limits<int>::max());
    const long room = (long)d.ctx_per_path - r.config.answer_tokens - 256;  // rough: prompt and blocks need room too
    if (!segments_given && max_tokens > 0) {
        if (max_tokens < r.config.segment_tokens) r.config.segment_tokens = (int)max_tokens;
        const long want = (max_tokens + r.config.segment_tokens - 1) / r.config.segment_tokens;
        const long fits = std::max(1L, room / r.config.segment_tokens);
        r.config.segments = (int)std::max(1L, std::min(want, fits));
    } else if ((long)r.config.segments * r.config.segment_tokens > room) {
        bad("leap.segments", std::to_string(r.config.segments) + " segments of " + std::to_string(r.config.segment_tokens) +
                                 " tokens do not fit in a path's context of " + std::to_string(d.ctx_per_path) +
                                 " tokens (the server's --ctx-size)");
    }
    if (r.config.n_paths > d.max_paths)
        bad("leap.paths", std::to_string(r.config.n_paths) + " paths exceed the server's " + std::to_string(d.max_paths) +
                              " KV sequences");
    try {
        r.config.validate();
    } catch (const Error& e) {
        throw ApiError(400, std::string("leap: ") + e.what(), "leap");
    }
    return r;
}

}  // namespace leap::server
