#include "backends/openai/server_api.h"

#ifdef LEAP_HAVE_LLAMA_COMMON
#include <build-info.h>       // llama.cpp common: llama_build_info()
#include <chat-peg-parser.h>  // llama.cpp common (source checkouts only)
#endif

#include <stdexcept>

#include "backends/openai/http.h"
#include "core/error.h"

namespace leap::openai {

using json = nlohmann::json;

ServerKind parse_server_kind(const std::string& s) {
    if (s == "auto") return ServerKind::Auto;
    if (s == "llama-server" || s == "llama") return ServerKind::LlamaServer;
    if (s == "openai" || s == "vllm" || s == "sglang") return ServerKind::OpenAI;
    throw Error("--server-kind '" + s + "': expected auto, llama-server, or openai (vllm, sglang)");
}

const char* to_string(ServerKind k) {
    switch (k) {
        case ServerKind::Auto: return "auto";
        case ServerKind::LlamaServer: return "llama-server";
        case ServerKind::OpenAI: return "openai";
    }
    return "?";
}

ServerFlavor flavor_of_kind(const std::string& s) {
    if (s == "vllm") return ServerFlavor::Vllm;
    if (s == "sglang") return ServerFlavor::Sglang;
    return ServerFlavor::Unknown;
}

const char* to_string(ServerFlavor f) {
    switch (f) {
        case ServerFlavor::Vllm: return "vllm";
        case ServerFlavor::Sglang: return "sglang";
        case ServerFlavor::Unknown: return "unknown";
    }
    return "?";
}

json ServerInfo::to_json() const {
    json j = {{"kind", to_string(kind)}};
    if (kind == ServerKind::OpenAI) j["flavor"] = to_string(flavor);
    if (!model.empty()) j["model"] = model;
    if (n_slots > 0) j["slots"] = n_slots;
    if (n_ctx > 0) j["n_ctx"] = n_ctx;
    if (!build.empty()) j["build"] = build;
    return j;
}

namespace {
json parse_or_null(const std::string& body) {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    return j.is_discarded() ? json() : j;
}
long int_or(const json& j, const char* key, long def) {
    if (!j.is_object()) return def;
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<long>() : def;
}
double number_or(const json& j, const char* key, double def) {
    if (!j.is_object()) return def;
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : def;
}
}  // namespace

ServerInfo server_info_from(ServerKind requested, int props_status, const std::string& props_body, int models_status,
                            const std::string& models_body, ServerFlavor flavor) {
    ServerInfo s;
    const json props = props_status == 200 ? parse_or_null(props_body) : json();
    const bool looks_llama = props.is_object() && props.contains("total_slots");
    s.kind = requested == ServerKind::Auto ? (looks_llama ? ServerKind::LlamaServer : ServerKind::OpenAI) : requested;
    if (s.kind == ServerKind::LlamaServer && looks_llama) {
        s.n_slots = (int)int_or(props, "total_slots", 0);
        if (props.contains("default_generation_settings"))
            s.n_ctx = (int)int_or(props["default_generation_settings"], "n_ctx", 0);
        if (props.contains("build_info") && props["build_info"].is_string()) s.build = props["build_info"].get<std::string>();
    }
    const json models = models_status == 200 ? parse_or_null(models_body) : json();
    if (models.is_object() && models.contains("data") && models["data"].is_array() && !models["data"].empty()) {
        const json& m = models["data"][0];
        if (m.is_object() && m.contains("id") && m["id"].is_string()) s.model = m["id"].get<std::string>();
        if (s.kind == ServerKind::OpenAI) {
            const long len = int_or(m, "max_model_len", 0);
            if (len > 0) s.n_ctx = (int)len;
            if (m.contains("owned_by") && m["owned_by"].is_string()) s.flavor = flavor_of_kind(m["owned_by"].get<std::string>());
        }
    }
    if (s.kind == ServerKind::OpenAI && flavor != ServerFlavor::Unknown) s.flavor = flavor;
    return s;
}

const char* completion_path(const ServerInfo& s) {
    return s.kind == ServerKind::LlamaServer ? "/completion" : "/v1/completions";
}

json completion_body(const ServerInfo& s, const CompletionCall& c) {
    json b = json::object();
    if (c.text_prompt) b["prompt"] = c.prompt_text;
    else b["prompt"] = c.prompt;
    if (!c.stops.empty()) b["stop"] = c.stops;
    b["stream"] = false;
    b["seed"] = c.seed;
    const SamplingOptions& o = c.sampling;
    if (c.sampling.ban_end_of_generation) b["ignore_eos"] = true;
    if (s.kind == ServerKind::LlamaServer) {
        b["n_predict"] = c.max_tokens;
        b["temperature"] = o.temperature <= 0 ? 0.0f : o.temperature;
        b["top_k"] = o.top_k;
        b["top_p"] = o.top_p;
        b["min_p"] = o.min_p;
        // The in-process chain (backends/llama/sampling.cpp), in the same order.
        b["samplers"] = sampler_names(o.order);
        b["mirostat"] = 0;  // whatever the server was started with
        b["cache_prompt"] = true;
        b["return_tokens"] = true;
        if (c.id_slot >= 0) b["id_slot"] = c.id_slot;
        b["response_fields"] = json::array({"content", "tokens", "stop_type", "stopping_word", "truncated",
                                            "timings/prompt_n", "timings/cache_n", "timings/predicted_n",
                                            "timings/predicted_ms"});
        return b;
    }
    if (o.order != SamplerOrder::Reference)
        throw Error("--sampler-order " + std::string(to_string(o.order)) +
                    ": vLLM and SGLang apply the temperature first, as --sampler-order reference does; llama.cpp's "
                    "order runs in process or on llama-server only");
    if (!s.model.empty()) b["model"] = s.model;
    if (!c.banned.empty()) {
        json bias = json::object();
        for (Token t : c.banned) bias[std::to_string(t)] = -100;
        b["logit_bias"] = bias;
    }
    b["max_tokens"] = c.max_tokens;
    b["n"] = 1;
    // Every sampling field explicit, "off" included, so the model's generation_config.json
    // defaults (vLLM applies them unless --generation-config vllm) change nothing.
    b["temperature"] = o.temperature <= 0 ? 0.0f : o.temperature;  // 0: greedy
    b["top_k"] = o.top_k > 0 ? o.top_k : -1;                         // -1: off
    b["top_p"] = o.top_p < 1.0f ? o.top_p : 1.0f;
    b["min_p"] = o.min_p > 0.0f ? o.min_p : 0.0f;
    b["repetition_penalty"] = 1.0;
    b["presence_penalty"] = 0.0;
    b["frequency_penalty"] = 0.0;
    b["return_token_ids"] = true;    // vLLM >= 0.10.2, SGLang: choices[0].token_ids
    b["skip_special_tokens"] = false;
    const bool vllm = s.flavor != ServerFlavor::Sglang, sglang = s.flavor != ServerFlavor::Vllm;
    if (vllm) {
        // Special tokens' text exactly as the tokenizer writes it (vLLM puts a space between).
        b["spaces_between_special_tokens"] = false;
        b["include_stop_str_in_output"] = true;  // keep the stop string in `text` (text fallback)
        // A text prompt is the rendered template, BOS included: no second one.
        if (c.text_prompt) b["add_special_tokens"] = false;
    }
    if (sglang) b["no_stop_trim"] = true;  // the same as include_stop_str_in_output
    return b;
}

CompletionReply parse_completion(const ServerInfo& s, const std::string& body) {
    CompletionReply r;
    const json j = parse_or_null(body);
    if (!j.is_object()) throw std::runtime_error("the answer is not a JSON object: " + excerpt(body));
    auto read_tokens = [&](const json& arr) {
        if (!arr.is_array()) return;
        r.has_token_ids = true;
        for (const json& t : arr) {
            if (!t.is_number_integer()) throw std::runtime_error("a generated token id is not an integer: " + t.dump());
            r.tokens.push_back(t.get<Token>());
        }
    };
    if (s.kind == ServerKind::LlamaServer) {
        if (j.contains("content") && j["content"].is_string()) r.text = j["content"].get<std::string>();
        if (j.contains("tokens")) read_tokens(j["tokens"]);
        const std::string stop_type = j.value("stop_type", std::string());
        r.eos = stop_type == "eos";
        r.finish = stop_type == "eos" || stop_type == "word" ? "stop" : stop_type == "limit" ? "length" : stop_type;
        if (stop_type == "word" && j.contains("stopping_word") && j["stopping_word"].is_string())
            r.matched_stop = j["stopping_word"].get<std::string>();
        // response_fields flattens the paths ("timings/prompt_n"); a server that ignores it nests them.
        auto timing = [&](const char* key) -> double {
            const std::string flat = std::string("timings/") + key;
            if (j.contains(flat) && j[flat].is_number()) return j[flat].get<double>();
            return j.contains("timings") ? number_or(j["timings"], key, -1) : -1;
        };
        r.prompt_evaluated = (long)timing("prompt_n");
        r.prompt_cached = (long)timing("cache_n");
        r.server_generated = (long)timing("predicted_n");
        r.server_generation_ms = timing("predicted_ms");
        if (r.finish.empty()) throw std::runtime_error("the answer has no stop_type: " + excerpt(body));
        return r;
    }
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() || !j["choices"][0].is_object())
        throw std::runtime_error("the answer has no choices: " + excerpt(body));
    const json& c = j["choices"][0];
    if (c.contains("text") && c["text"].is_string()) r.text = c["text"].get<std::string>();
    if (c.contains("token_ids")) read_tokens(c["token_ids"]);
    if (c.contains("finish_reason") && c["finish_reason"].is_string()) r.finish = c["finish_reason"].get<std::string>();
    // SGLang: finish_reason "abort" (or an object of type abort) when it drops a request.
    if (c.contains("finish_reason") && c["finish_reason"].is_object() && c["finish_reason"].value("type", "") == "abort")
        r.finish = "abort";
    r.aborted = r.finish == "abort";
    for (const char* key : {"stop_reason", "matched_stop"}) {  // vLLM, SGLang
        if (!c.contains(key)) continue;
        if (c[key].is_string()) r.matched_stop = c[key].get<std::string>();
        else if (c[key].is_number_integer()) r.eos = true;  // a stop token id (end-of-generation)
    }
    if (j.contains("usage") && j["usage"].is_object()) {
        const json& u = j["usage"];
        const long prompt = int_or(u, "prompt_tokens", -1);
        if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object()) {
            r.prompt_cached = int_or(u["prompt_tokens_details"], "cached_tokens", -1);
            if (prompt >= 0 && r.prompt_cached >= 0) r.prompt_evaluated = prompt - r.prompt_cached;
        }
    }
    if (r.finish.empty()) throw std::runtime_error("the answer has no finish_reason: " + excerpt(body));
    return r;
}

std::optional<bool> sglang_seeds_honoured(int status, const std::string& body) {
    if (status != 200) return std::nullopt;
    const json j = parse_or_null(body);
    if (!j.is_object()) return std::nullopt;
    const auto it = j.find("enable_deterministic_inference");
    if (it == j.end() || !it->is_boolean()) return std::nullopt;
    return it->get<bool>();
}

std::string server_error_hint(const ServerInfo& s, int status, const std::string& body) {
    if (s.kind != ServerKind::OpenAI || status != 400) return "";
    const std::string msg = server_error_message(body);
    if (msg.find("speculative") != std::string::npos &&
        (msg.find("min_p") != std::string::npos || msg.find("logit_bias") != std::string::npos))
        return "the server runs speculative decoding, which refuses min_p and logit_bias: run leap with --min-p 0 "
               "(and without --ignore-eos, whose ban is a logit_bias), or start the server without "
               "--speculative-config";
    return "";
}

std::string slot_action_path(int id_slot, const char* action) {
    return "/slots/" + std::to_string(id_slot) + "?action=" + action;
}

json slot_action_body(const std::string& filename) { return {{"filename", filename}}; }

bool is_slot_actions_unsupported(int status) { return status == 501; }

bool is_output_parser_failure(int status, const std::string& body) {
    return status == 500 && (body.find("does not match the expected") != std::string::npos ||
                             body.find("Failed to parse input") != std::string::npos);
}

const std::string& lenient_chat_parser() {
#ifdef LEAP_HAVE_LLAMA_COMMON
    static const std::string text =
        build_chat_peg_parser([](common_chat_peg_builder& p) { return p.optional(p.content(p.rest())); }).save();
#else
    static const std::string text;  // no llama.cpp common library in this build: no workaround
#endif
    return text;
}

bool lenient_parser_from_start(const ServerInfo& s) {
#ifdef LEAP_HAVE_LLAMA_COMMON
    return s.kind == ServerKind::LlamaServer && !s.build.empty() && s.build == llama_build_info() &&
           !lenient_chat_parser().empty();
#else
    (void)s;
    return false;
#endif
}

bool add_lenient_chat_parser(std::string& body) {
    if (lenient_chat_parser().empty()) return false;
    json j = parse_or_null(body);
    if (!j.is_object()) return false;
    j["chat_parser"] = lenient_chat_parser();
    body = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return true;
}

std::string server_error_message(const std::string& body) {
    const json j = parse_or_null(body);
    if (j.is_object()) {
        if (j.contains("error")) {
            const json& e = j["error"];
            if (e.is_string()) return e.get<std::string>();
            if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
        }
        if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
        if (j.contains("detail")) return j["detail"].is_string() ? j["detail"].get<std::string>() : excerpt(j["detail"].dump());
    }
    return body.empty() ? "(empty answer)" : excerpt(body);
}

}  // namespace leap::openai
