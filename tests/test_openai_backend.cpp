// The backend for OpenAI-compatible servers (src/backends/openai): its pieces on their own
// (URLs, request bodies, answers, the token bookkeeping against the in-process PathSequence),
// against fake servers (retries on 5xx, a clear error on 400, stop strings applied here, follow-up
// requests), and against a real llama-server from the same llama.cpp serving a generated model
// on 127.0.0.1: greedy runs give the in-process engine's traces token for token, over one server
// or two, and a server killed with SIGKILL mid-run and restarted loses nothing.
#include <gtest/gtest.h>
#ifdef LEAP_HAVE_LLAMA_COMMON
#include <build-info.h>  // llama_build_info(): the build a llama-server must share
#endif

#include <arpa/inet.h>
// llama.cpp's vendored cpp-httplib with a source checkout; the system's (Debian
// libcpp-httplib-dev) with a llama.cpp install (CMakeLists.txt: leap_httplib).
#if __has_include(<cpp-httplib/httplib.h>)
#include <cpp-httplib/httplib.h>
#else
#include <httplib.h>
#endif
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <fstream>
#include <sstream>
#include <thread>

#include "backends/llama/engine.h"
#include "backends/llama/model.h"
#include "backends/llama/path_sequence.h"
#include "core/rng.h"
#include "core/run_problems.h"
#include "core/token_text.h"
#include "backends/openai/http.h"
#include "backends/openai/openai_engine.h"
#include "backends/openai/server_api.h"
#include "core/error.h"
#include "model/make_model.h"
#include "server/server.h"

namespace {

using namespace leap;
using namespace leap::openai;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string& tiny_path() {
    static const std::string path = [] {
        std::filesystem::create_directories(LEAP_TEST_TMP);
        MakeModelOptions o;
        o.out_path = std::string(LEAP_TEST_TMP) + "/openai-tiny-f32.gguf";
        o.preset = "tiny";
        o.type = WeightType::F32;
        o.seed = 7;
        o.vocab_path = default_vocab_path(LEAP_LLAMA_DIR);
        o.chat_template_path = std::string(LEAP_LLAMA_DIR) + "/models/templates/" + kFallbackChatTemplate;
        make_model(o);
        return o.out_path;
    }();
    return path;
}

LlamaModel& tiny() {
    static LlamaModel model(ModelOptions{tiny_path(), 0, ""});
    return model;
}

const Tokenizer& tiny_tok() {
    static GgufTokenizer tok(tiny());
    return tok;
}

const PromptSet& prompts() {
    static const PromptSet p = PromptSet::builtin();
    return p;
}

std::vector<Problem> problems() {
    return {{"p0", "Find the remainder when 7^2024 is divided by 100.", {}},
            {"p1", "Which is a noble gas?", {{"A", "Neon"}, {"B", "Iron"}, {"C", "Salt"}, {"D", "Wood"}}}};
}

RunConfig small_leap() {
    RunConfig c;
    c.n_paths = 4;
    c.segment_tokens = 16;
    c.segments = 3;
    c.summary_tokens = 10;
    c.answer_tokens = 8;
    c.seed = 5;
    return c;
}

EngineOptions greedy_options() {
    EngineOptions e;
    e.threads = 1;
    e.flash_attn = 0;
    e.n_ctx_per_path = 1024;
    e.parallel_problems = 2;
    e.sampling.temperature = 0;
    return e;
}

json strip(json trace) {
    trace.erase("timings");
    return trace;
}

std::string dump(const json& j) { return j.dump(1, ' ', false, json::error_handler_t::replace); }

// Runs a backend; the traces in problem order.
std::vector<json> run_traces(Backend& engine, const std::vector<Problem>& ps,
                             const ProgressFn& on_progress = {}) {
    std::vector<json> out(ps.size());
    run_problems(engine, ps, {}, [&](ProblemRun& run, json) { out.at(run.index()) = strip(run.trace()); }, on_progress);
    return out;
}

const std::vector<json>& in_process_traces() {
    static const std::vector<json> traces = [] {
        LlamaEngine engine(tiny(), greedy_options(), small_leap(), prompts());
        return run_traces(engine, problems());
    }();
    return traces;
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, (sockaddr*)&a, sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, (sockaddr*)&a, &len);
    const int port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---- pieces on their own -----------------------------------------------------------------------

TEST(OpenAIBaseUrl, ParsesHostPortAndDropsV1) {
    auto b = parse_base_url("http://127.0.0.1:8000/v1/");
    EXPECT_EQ(b.scheme_host_port, "http://127.0.0.1:8000");
    EXPECT_EQ(b.prefix, "");
    b = parse_base_url("http://gpu-node-3:30000/serving/m1");
    EXPECT_EQ(b.scheme_host_port, "http://gpu-node-3:30000");
    EXPECT_EQ(b.prefix, "/serving/m1");
    EXPECT_THROW(parse_base_url("127.0.0.1:8000"), Error);
    EXPECT_THROW(parse_base_url("http://host:99999"), Error);
    try {
        parse_base_url("https://api.example.com");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("https"), std::string::npos);
    }
}

TEST(OpenAIBackoff, DoublesUpToTheCap) {
    RetryPolicy p;
    p.backoff_initial_s = 0.5;
    p.backoff_max_s = 3;
    EXPECT_DOUBLE_EQ(backoff_seconds(p, 0), 0.5);
    EXPECT_DOUBLE_EQ(backoff_seconds(p, 1), 1.0);
    EXPECT_DOUBLE_EQ(backoff_seconds(p, 2), 2.0);
    EXPECT_DOUBLE_EQ(backoff_seconds(p, 3), 3.0);
    EXPECT_DOUBLE_EQ(backoff_seconds(p, 40), 3.0);
    HttpReply r;
    EXPECT_TRUE(retryable(r));  // no answer
    for (int s : {408, 429, 500, 502, 503}) {
        r.status = s;
        EXPECT_TRUE(retryable(r)) << s;
    }
    for (int s : {200, 400, 401, 404, 422, 501}) {  // 501: not implemented, for good
        r.status = s;
        EXPECT_FALSE(retryable(r)) << s;
    }
}

// The ids sent to a server are the ids the in-process engine holds: the same edits on
// TokenText alone and PathSequence (TokenText plus the KV bookkeeping) stay in step through edits.
TEST(OpenAITokenText, FollowsPathSequenceThroughEdits) {
    const std::string prefill = "Okay, I will think step by step.\n\n";
    const std::vector<llama_token> owned = tiny().tokenize(prefill, false);
    PathSequence ref;
    ref.reset(0, 10, owned, prefill, tiny());
    TokenText ours;
    ours.reset(owned, prefill, tiny_tok());
    std::mt19937 rng(3);
    const int n_vocab = tiny_tok().n_vocab();
    const std::vector<std::string> appends = {"", " <summarize> In short,", "\n\n", " Peer 1: \"x = 3\"", "é", "</think>"};
    for (int step = 0; step < 300; ++step) {
        const int what = (int)(rng() % 3);
        if (what < 2) {
            // Sampled tokens: any id, including ones whose piece is a partial UTF-8 character.
            const llama_token t = (llama_token)(rng() % n_vocab);
            ref.push_sampled(t, tiny().piece(t));
            ours.push_sampled(t, tiny_tok().piece(t));
        } else {
            const size_t keep = ref.text().empty() ? 0 : rng() % (ref.text().size() + 1);
            const std::string& app = appends[rng() % appends.size()];
            const auto a = ref.edit(keep, app, tiny(), nullptr);
            const auto b = ours.edit(keep, app, tiny_tok());
            EXPECT_EQ(a.refed, b.refed);
            EXPECT_EQ(a.appended, b.appended);
        }
        ASSERT_EQ(ref.text(), ours.text()) << "step " << step;
        ASSERT_EQ(ref.tokens(), ours.tokens()) << "step " << step;
    }
}

TEST(OpenAIServerApi, LlamaServerRequestAndAnswer) {
    ServerInfo s = server_info_from(ServerKind::Auto, 200,
                                    R"({"total_slots": 6, "default_generation_settings": {"n_ctx": 4096}})", 200,
                                    R"({"data": [{"id": "m.gguf"}]})");
    EXPECT_EQ(s.kind, ServerKind::LlamaServer);
    EXPECT_EQ(s.n_slots, 6);
    EXPECT_EQ(s.n_ctx, 4096);
    CompletionCall c;
    c.prompt = {1, 2, 3};
    c.max_tokens = 7;
    c.stops = {"</think>"};
    c.seed = 42;
    c.id_slot = 5;
    c.sampling.temperature = 0.6f;
    const json b = completion_body(s, c);
    EXPECT_STREQ(completion_path(s), "/completion");
    EXPECT_EQ(b["prompt"], json::array({1, 2, 3}));
    EXPECT_EQ(b["n_predict"], 7);
    EXPECT_EQ(b["stop"], json::array({"</think>"}));
    EXPECT_EQ(b["return_tokens"], true);
    EXPECT_EQ(b["id_slot"], 5);
    EXPECT_EQ(b["seed"], 42);
    EXPECT_EQ(b["cache_prompt"], true);
    EXPECT_FALSE(b.contains("ignore_eos"));
    const auto r = parse_completion(
        s, R"({"content": "ab", "tokens": [5, 6], "stop_type": "word", "stopping_word": "</think>",
              "timings/prompt_n": 3, "timings/cache_n": 10, "timings/predicted_n": 2, "timings/predicted_ms": 7.5})");
    EXPECT_TRUE(r.has_token_ids);
    EXPECT_EQ(r.tokens, (std::vector<Token>{5, 6}));
    EXPECT_EQ(r.finish, "stop");
    EXPECT_EQ(r.matched_stop, "</think>");
    EXPECT_EQ(r.prompt_evaluated, 3);
    EXPECT_EQ(r.prompt_cached, 10);
    EXPECT_EQ(r.server_generated, 2);
    EXPECT_DOUBLE_EQ(r.server_generation_ms, 7.5);
    // A server that ignores response_fields nests the timings; one without them reports nothing.
    const auto nested = parse_completion(
        s, R"({"content": "", "tokens": [], "stop_type": "eos", "timings": {"predicted_n": 4, "predicted_ms": 12.25}})");
    EXPECT_EQ(nested.server_generated, 4);
    EXPECT_DOUBLE_EQ(nested.server_generation_ms, 12.25);
    EXPECT_EQ(parse_completion(s, R"({"content": "", "tokens": [], "stop_type": "eos"})").server_generated, -1);
    EXPECT_TRUE(parse_completion(s, R"({"content": "", "tokens": [], "stop_type": "eos"})").eos);
    EXPECT_EQ(parse_completion(s, R"({"content": "", "tokens": [9], "stop_type": "limit"})").finish, "length");
    EXPECT_THROW(parse_completion(s, "not json"), std::runtime_error);
}

TEST(OpenAIServerApi, VllmSglangRequestAndAnswer) {
    ServerInfo s = server_info_from(ServerKind::Auto, 404, "Not Found", 200,
                                    R"({"data": [{"id": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "max_model_len": 32768}]})");
    EXPECT_EQ(s.kind, ServerKind::OpenAI);
    EXPECT_EQ(s.model, "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B");
    EXPECT_EQ(s.n_ctx, 32768);
    CompletionCall c;
    c.prompt = {1, 2};
    c.max_tokens = 9;
    c.sampling.temperature = 0.6f;
    c.sampling.top_k = 40;
    c.sampling.top_p = 0.95f;
    c.sampling.min_p = 0.05f;
    c.sampling.ban_end_of_generation = true;
    c.id_slot = 3;  // ignored off llama-server
    json b = completion_body(s, c);
    EXPECT_STREQ(completion_path(s), "/v1/completions");
    EXPECT_EQ(b["model"], "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B");
    EXPECT_EQ(b["max_tokens"], 9);
    EXPECT_EQ(b["return_token_ids"], true);
    EXPECT_EQ(b["top_k"], 40);
    EXPECT_EQ(b["ignore_eos"], true);
    EXPECT_FALSE(b.contains("id_slot"));
    c.sampling.temperature = 0;
    b = completion_body(s, c);
    EXPECT_EQ(b["temperature"], 0.0);  // greedy
    c.sampling.top_k = 0;
    c.sampling.top_p = 1.0f;
    c.sampling.min_p = 0.0f;
    b = completion_body(s, c);
    EXPECT_EQ(b["top_k"], -1);  // "off" is sent, so the model's defaults do not apply
    EXPECT_EQ(b["top_p"], 1.0);
    EXPECT_EQ(b["min_p"], 0.0);
    EXPECT_EQ(b["repetition_penalty"], 1.0);
    c.text_prompt = true;
    c.prompt_text = "hello";
    EXPECT_EQ(completion_body(s, c)["prompt"], "hello");

    auto r = parse_completion(s, R"({"choices": [{"text": "x", "token_ids": [7, 8], "finish_reason": "length",
        "stop_reason": null}], "usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 96}}})");
    EXPECT_EQ(r.tokens, (std::vector<Token>{7, 8}));
    EXPECT_EQ(r.finish, "length");
    EXPECT_EQ(r.prompt_cached, 96);
    EXPECT_EQ(r.prompt_evaluated, 4);
    r = parse_completion(s, R"({"choices": [{"text": "x</summarize>", "finish_reason": "stop", "matched_stop": "</summarize>"}]})");
    EXPECT_FALSE(r.has_token_ids);
    EXPECT_EQ(r.matched_stop, "</summarize>");
    EXPECT_TRUE(parse_completion(s, R"({"choices": [{"text": "", "token_ids": [], "finish_reason": "stop", "stop_reason": 151643}]})").eos);
    EXPECT_THROW(parse_completion(s, R"({"choices": []})"), std::runtime_error);
    EXPECT_EQ(server_error_message(R"({"error": {"message": "max_tokens too large", "code": 400}})"), "max_tokens too large");
    EXPECT_EQ(server_error_message(R"({"object": "error", "message": "bad prompt"})"), "bad prompt");
}

// Each OpenAI-compatible server gets only its own fields; --ignore-eos is a real ban; SGLang's
// abort, vLLM's speculative-decoding refusal and SGLang's seed setting are read.
TEST(OpenAIServerApi, VllmAndSglangEachGetTheirOwnFields) {
    const ServerInfo vllm = server_info_from(ServerKind::Auto, 404, "", 200,
                                             R"({"data": [{"id": "m", "owned_by": "vllm", "max_model_len": 8192}]})");
    const ServerInfo sglang = server_info_from(ServerKind::Auto, 404, "", 200, R"({"data": [{"id": "m", "owned_by": "sglang"}]})");
    const ServerInfo unknown = server_info_from(ServerKind::Auto, 404, "", 200, R"({"data": [{"id": "m"}]})");
    EXPECT_EQ(vllm.flavor, ServerFlavor::Vllm);
    EXPECT_EQ(sglang.flavor, ServerFlavor::Sglang);
    EXPECT_EQ(unknown.flavor, ServerFlavor::Unknown);
    EXPECT_EQ(server_info_from(ServerKind::OpenAI, 0, "", 200, R"({"data": [{"id": "m"}]})", ServerFlavor::Sglang).flavor,
              ServerFlavor::Sglang);  // --server-kind sglang
    EXPECT_EQ(vllm.to_json()["flavor"], "vllm");
    CompletionCall c;
    c.prompt = {1, 2};
    c.text_prompt = true;
    c.prompt_text = "<s>hi";
    json b = completion_body(vllm, c);
    EXPECT_EQ(b["include_stop_str_in_output"], true);
    EXPECT_FALSE(b.contains("no_stop_trim"));  // vLLM warns on every request for a field it lacks
    EXPECT_EQ(b["add_special_tokens"], false);  // the rendered text has its BOS already
    EXPECT_EQ(b["spaces_between_special_tokens"], false);
    EXPECT_FALSE(b.contains("logit_bias"));
    b = completion_body(sglang, c);
    EXPECT_EQ(b["no_stop_trim"], true);
    EXPECT_FALSE(b.contains("include_stop_str_in_output"));
    EXPECT_FALSE(b.contains("add_special_tokens"));
    EXPECT_FALSE(b.contains("spaces_between_special_tokens"));  // not a field of SGLang's
    b = completion_body(unknown, c);
    EXPECT_TRUE(b.contains("no_stop_trim") && b.contains("include_stop_str_in_output"));
    c.text_prompt = false;
    EXPECT_FALSE(completion_body(vllm, c).contains("add_special_tokens"));  // token ids: nothing added
    c.sampling.ban_end_of_generation = true;
    c.banned = {2, 151643};
    b = completion_body(vllm, c);
    EXPECT_EQ(b["ignore_eos"], true);
    EXPECT_EQ(b["logit_bias"], (json{{"2", -100}, {"151643", -100}}));

    // SGLang echoes the prompt's ids with return_token_ids; only the generated ones are read.
    const auto echoed = parse_completion(sglang, R"({"id": "c", "object": "text_completion", "model": "m", "choices": [{"index": 0,
        "text": "ab", "finish_reason": "length", "matched_stop": null, "token_ids": [7, 8], "prompt_token_ids": [1, 2, 3]}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})");
    EXPECT_EQ(echoed.tokens, (std::vector<Token>{7, 8}));
    EXPECT_EQ(echoed.finish, "length");
    EXPECT_TRUE(parse_completion(sglang, R"({"choices": [{"text": "", "token_ids": [2], "finish_reason": "stop", "matched_stop": 2}]})").eos);
    EXPECT_EQ(server_error_message(R"({"object": "error", "message": "Requested token count exceeds the model's maximum context length", "type": "BadRequestError", "param": null, "code": 400})"),
              "Requested token count exceeds the model's maximum context length");  // SGLang's ErrorResponse
    EXPECT_EQ(server_error_message(R"({"error": {"message": "bad min_p", "type": "BadRequestError", "param": null, "code": 400}})"),
              "bad min_p");  // vLLM's ErrorResponse
    EXPECT_EQ(server_info_from(ServerKind::Auto, 404, R"({"detail": "Not Found"})", 200, R"({"data": [{"id": "m", "owned_by": "vllm"}]})").kind,
              ServerKind::OpenAI);  // /props answers 404 on vLLM and SGLang
    EXPECT_TRUE(parse_completion(sglang, R"({"choices": [{"text": "", "token_ids": [], "finish_reason": "abort"}]})").aborted);
    EXPECT_TRUE(parse_completion(sglang, R"({"choices": [{"text": "", "token_ids": [],
        "finish_reason": {"type": "abort", "message": "overloaded"}}]})").aborted);
    EXPECT_FALSE(parse_completion(sglang, R"({"choices": [{"text": "", "token_ids": [3], "finish_reason": "length"}]})").aborted);
    EXPECT_EQ(parse_completion(vllm, R"({"choices": [{"text": "", "token_ids": [5], "finish_reason": "stop", "stop_reason": null}]})").eos,
              false);  // EOS without a stop reason is told by its token id, not by stop_reason

    const std::string spec = R"({"object": "error", "message": "The min_p and logit_bias sampling parameters are not yet supported with speculative decoding.", "type": "BadRequestError", "code": 400})";
    EXPECT_NE(server_error_hint(vllm, 400, spec).find("--min-p 0"), std::string::npos);
    EXPECT_EQ(server_error_hint(vllm, 400, R"({"message": "max_tokens too large"})"), "");

    EXPECT_EQ(sglang_seeds_honoured(200, R"({"enable_deterministic_inference": true, "tp_size": 1})"), std::optional<bool>(true));
    EXPECT_EQ(sglang_seeds_honoured(200, R"({"enable_deterministic_inference": false})"), std::optional<bool>(false));
    EXPECT_EQ(sglang_seeds_honoured(200, R"({"tp_size": 1})"), std::nullopt);
    EXPECT_EQ(sglang_seeds_honoured(404, ""), std::nullopt);
}

// The small part of JSON Schema the request fixtures use: type (one or a list), properties,
// additionalProperties (false or a schema), items, required, minimum, maximum. Returns the
// first violation ("" when none), with the path to it.
std::string schema_violation(const json& schema, const json& v, const std::string& at) {
    if (schema.contains("type")) {
        std::vector<std::string> types;
        if (schema["type"].is_string()) types.push_back(schema["type"]);
        else for (const auto& t : schema["type"]) types.push_back(t);
        bool ok = false;
        for (const std::string& t : types)
            ok = ok || (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
                 (t == "string" && v.is_string()) || (t == "boolean" && v.is_boolean()) ||
                 (t == "integer" && v.is_number_integer()) || (t == "number" && v.is_number()) ||
                 (t == "null" && v.is_null());
        if (!ok) return at + ": " + v.dump() + " is not of type " + schema["type"].dump();
    }
    if (v.is_number()) {
        if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>())
            return at + ": " + v.dump() + " is below " + schema["minimum"].dump();
        if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>())
            return at + ": " + v.dump() + " is above " + schema["maximum"].dump();
    }
    if (v.is_object()) {
        for (const auto& r : schema.value("required", json::array()))
            if (!v.contains(r.get<std::string>())) return at + ": required field " + r.dump() + " missing";
        for (const auto& [k, x] : v.items()) {
            const json props = schema.value("properties", json::object());
            if (props.contains(k)) {
                const std::string e = schema_violation(props[k], x, at + "." + k);
                if (!e.empty()) return e;
            } else if (schema.contains("additionalProperties")) {
                const json& extra = schema["additionalProperties"];
                if (extra.is_boolean() && !extra.get<bool>()) return at + ": field '" + k + "' is not in the server's request model";
                if (extra.is_object()) {
                    const std::string e = schema_violation(extra, x, at + "." + k);
                    if (!e.empty()) return e;
                }
            }
        }
    }
    if (v.is_array() && schema.contains("items"))
        for (size_t i = 0; i < v.size(); ++i) {
            const std::string e = schema_violation(schema["items"], v[i], at + "[" + std::to_string(i) + "]");
            if (!e.empty()) return e;
        }
    return "";
}

json read_fixture(const std::string& name) {
    std::ifstream in(std::string(LEAP_SOURCE_DIR) + "/tests/fixtures/server-requests/" + name);
    EXPECT_TRUE(in.good()) << name;
    return json::parse(in);
}

// Every body leap sends to vLLM and SGLang fits the server's own request model, as written down
// in the fixtures from their source (file and commit in each fixture's $comment).
TEST(OpenAIServerApi, RequestBodiesFitVllmAndSglangRequestModels) {
    const json vllm_schema = read_fixture("vllm-completion-request.schema.json");
    const json sglang_schema = read_fixture("sglang-completion-request.schema.json");
    // The checker itself refuses what it must.
    EXPECT_NE(schema_violation(vllm_schema, json{{"prompt", {1}}, {"no_stop_trim", true}}, "body"), "");
    EXPECT_NE(schema_violation(sglang_schema, json{{"prompt", {1}}, {"include_stop_str_in_output", true}}, "body"), "");
    EXPECT_NE(schema_violation(vllm_schema, json{{"prompt", {1}}, {"top_k", "40"}}, "body"), "");
    EXPECT_NE(schema_violation(vllm_schema, json{{"prompt", {1}}, {"logit_bias", {{"2", -1000}}}}, "body"), "");
    EXPECT_EQ(schema_violation(vllm_schema, json{{"prompt", {1}}, {"top_k", 40}}, "body"), "");
    for (const auto& [flavor, schema] : {std::pair{ServerFlavor::Vllm, &vllm_schema}, std::pair{ServerFlavor::Sglang, &sglang_schema}}) {
        ServerInfo s;
        s.kind = ServerKind::OpenAI;
        s.flavor = flavor;
        s.model = "m";
        for (int variant = 0; variant < 4; ++variant) {
            SCOPED_TRACE(std::string(to_string(flavor)) + " variant " + std::to_string(variant));
            CompletionCall c;
            c.prompt = {1, 2, 3};
            c.max_tokens = 32;
            c.stops = {"</think>", "</summarize>"};
            c.seed = 0x7fffffffu;
            if (variant == 1) c.sampling.temperature = 0;  // greedy, cuts off
            if (variant == 2) {
                c.sampling.ban_end_of_generation = true;
                c.banned = {2, 151643};
            }
            if (variant == 3) {
                c.text_prompt = true;
                c.prompt_text = "<s>hello";
            }
            const json body = completion_body(s, c);
            EXPECT_EQ(schema_violation(*schema, body, "body"), "") << body.dump();
        }
    }
}

// ---- fake servers ------------------------------------------------------------------------------

// An OpenAI-style server on 127.0.0.1 whose /v1/completions answers with `handler`.
struct FakeServer {
    httplib::Server srv;
    std::thread thread;
    int port = 0;
    std::mutex m;
    std::vector<json> requests;
    std::vector<std::string> auth;
    std::function<void(const json&, httplib::Response&, int n)> handler;
    // When set, answers completions instead of `handler`, with the request (to see its connection).
    std::function<void(const httplib::Request&, const json&, httplib::Response&, int n)> raw_handler;
    // POST /slots/ID?action=A with its body; by default 501, as llama-server without --slot-save-path.
    using SlotsHandler = std::function<void(int id_slot, const std::string& action, const json&, httplib::Response&)>;
    SlotsHandler slots_handler;
    std::string owned_by;     // /v1/models' owned_by ("vllm", "sglang"); "" leaves it out
    std::string server_info;  // SGLang's GET /get_server_info body; "": 404

    // llama_slots > 0: looks like llama-server (GET /props, POST /completion) with that many slots.
    explicit FakeServer(std::function<void(const json&, httplib::Response&, int n)> h, int llama_slots = 0,
                        const std::string& build_info = "", SlotsHandler slots = {})
        : handler(std::move(h)), slots_handler(std::move(slots)) {
        if (llama_slots > 0)
            srv.Post(R"(/slots/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
                const int id = std::stoi(req.matches[1].str());
                const std::string action = req.get_param_value("action");
                if (slots_handler) return slots_handler(id, action, json::parse(req.body), res);
                res.status = 501;
                res.set_content(R"({"error":{"code":501,"message":"This server does not support slots action. Start it with `--slot-save-path`","type":"not_supported_error"}})",
                                "application/json");
            });
        srv.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
            json m = {{"id", "fake-model"}, {"max_model_len", 4096}};
            if (!owned_by.empty()) m["owned_by"] = owned_by;
            res.set_content(json{{"object", "list"}, {"data", json::array({m})}}.dump(), "application/json");
        });
        srv.Get("/get_server_info", [this](const httplib::Request&, httplib::Response& res) {
            if (server_info.empty()) {
                res.status = 404;
                return;
            }
            res.set_content(server_info, "application/json");
        });
        if (llama_slots > 0)
            srv.Get("/props", [llama_slots, build_info](const httplib::Request&, httplib::Response& res) {
                json props = {{"total_slots", llama_slots}, {"default_generation_settings", {{"n_ctx", 4096}}}};
                if (!build_info.empty()) props["build_info"] = build_info;
                res.set_content(props.dump(), "application/json");
            });
        srv.Post(llama_slots > 0 ? "/completion" : "/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
            const json body = json::parse(req.body);
            int n;
            {
                std::lock_guard<std::mutex> lk(m);
                requests.push_back(body);
                auth.push_back(req.get_header_value("Authorization"));
                n = (int)requests.size();
            }
            if (raw_handler) return raw_handler(req, body, res, n);
            handler(body, res, n);
        });
        port = srv.bind_to_any_port("127.0.0.1");
        thread = std::thread([this] { srv.listen_after_bind(); });
        srv.wait_until_ready();
    }
    ~FakeServer() {
        srv.stop();
        thread.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
};

void answer(httplib::Response& res, const std::vector<Token>& ids, const std::string& finish) {
    json j = {{"id", "cmpl-1"},
              {"object", "text_completion"},
              {"choices", json::array({{{"index", 0}, {"text", ""}, {"token_ids", ids}, {"finish_reason", finish}}})}};
    res.set_content(j.dump(), "application/json");
}

OpenAIOptions fast_options(const std::string& url) {
    OpenAIOptions o;
    o.base_urls = {url};
    o.retry.retries = 4;
    o.retry.backoff_initial_s = 0.02;
    o.retry.backoff_max_s = 0.1;
    o.retry.timeout_s = 20;
    o.api_key_env = "LEAP_TEST_OPENAI_KEY";
    return o;
}

RunConfig one_segment_independent(int paths, int tokens) {
    RunConfig c;
    c.method = Method::Independent;
    c.n_paths = paths;
    c.segments = 1;
    c.segment_tokens = tokens;
    c.answer_tokens = 4;
    c.summary_tokens = 4;
    return c;
}

TEST(OpenAIFakeServer, RetriesServerErrorsAndSendsTheRequestFields) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    ASSERT_FALSE(word.empty());
    FakeServer fake([&](const json& body, httplib::Response& res, int n) {
        if (n <= 3) {  // the first three attempts fail
            res.status = n == 2 ? 502 : 503;
            res.set_content(R"({"error": {"message": "overloaded"}})", "application/json");
            return;
        }
        std::vector<Token> ids;
        while ((int)ids.size() < body["max_tokens"].get<int>()) ids.push_back(word[0]);
        answer(res, ids, "length");
    });
    ::setenv("LEAP_TEST_OPENAI_KEY", "sk-test-123", 1);
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0.7f;
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(2, 5), prompts());
    ::unsetenv("LEAP_TEST_OPENAI_KEY");
    const auto traces = run_traces(engine, {problems()[0]});
    ASSERT_EQ(traces.size(), 1u);
    EXPECT_GE(engine.http_stats().attempts_failed, 3);
    EXPECT_EQ(engine.servers()[0].kind, ServerKind::OpenAI);
    EXPECT_EQ(engine.servers()[0].model, "fake-model");
    std::lock_guard<std::mutex> lk(fake.m);
    ASSERT_GE(fake.requests.size(), 5u);
    const std::string rendered = tiny_tok().render_prompt(ProblemRun(0, problems()[0], one_segment_independent(2, 5), prompts()).user_message());
    const std::vector<Token> prompt = tiny_tok().tokenize(rendered, true);
    std::set<uint32_t> seeds;
    for (size_t i = 0; i < fake.requests.size(); ++i) {
        const json& r = fake.requests[i];
        EXPECT_EQ(fake.auth[i], "Bearer sk-test-123");
        EXPECT_EQ(r["model"], "fake-model");
        EXPECT_EQ(r["return_token_ids"], true);
        EXPECT_FLOAT_EQ(r["temperature"].get<float>(), 0.7f);
        const auto ids = r["prompt"].get<std::vector<Token>>();
        ASSERT_GE(ids.size(), prompt.size());
        EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), ids.begin())) << "the context starts with the rendered prompt";
        if (i >= 3) seeds.insert(r["seed"].get<uint32_t>());
    }
    EXPECT_EQ(seeds.size(), fake.requests.size() - 3) << "each path and request has its own seed";
    for (const auto& p : traces[0]["paths"]) EXPECT_EQ(p["segments"][0], " hello hello hello hello hello");
}

// MoA with --moa-layout reference over HTTP: a later layer's path sends its new conversation,
// rendered with the problem's earlier turns (a system message) as the in-process engine renders it.
TEST(OpenAIFakeServer, MoaNewConversationKeepsTheEarlierTurns) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word[0]), "length");
    });
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0;
    RunConfig c = one_segment_independent(2, 5);
    c.method = Method::MixtureOfAgents;
    c.moa_layout = MoaLayout::Reference;
    c.moa_layers = 2;
    Problem problem = problems()[0];
    problem.earlier_turns = {{"system", "Answer as briefly as you can."}};
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, c, prompts());
    const auto traces = run_traces(engine, {problem});
    ASSERT_EQ(traces.size(), 1u);
    ASSERT_EQ(traces[0]["moa_user_messages"].size(), 1u);
    const std::string message = traces[0]["moa_user_messages"][0];
    const std::vector<Token> with = tiny_tok().tokenize(tiny_tok().render_prompt(message, problem.earlier_turns), true);
    const std::vector<Token> without = tiny_tok().tokenize(tiny_tok().render_prompt(message), true);
    ASSERT_NE(with, without) << "the template shows no system message: the test would not tell";
    std::lock_guard<std::mutex> lk(fake.m);
    int layer2 = 0;
    for (const json& r : fake.requests) {
        const auto ids = r["prompt"].get<std::vector<Token>>();
        if (ids.size() >= without.size() && std::equal(without.begin(), without.end(), ids.begin()))
            ADD_FAILURE() << "a layer-2 request lost the system message";
        if (ids.size() >= with.size() && std::equal(with.begin(), with.end(), ids.begin())) ++layer2;
    }
    EXPECT_GE(layer2, 2) << "every path of layer 2 sends its new conversation";
}

// SGLang ignores seeds unless it runs deterministic inference: a sampled run is refused up front
// with the server setting to change, unless the user accepts an unseeded run.
TEST(OpenAIFakeServer, SglangWithoutDeterministicInferenceIsRefusedForSampledRuns) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word[0]), "length");
    });
    fake.owned_by = "sglang";
    fake.server_info = R"({"enable_deterministic_inference": false})";
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0.6f;
    try {
        OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(1, 3), prompts());
        FAIL() << "an SGLang server that ignores seeds must be refused for a sampled run";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--enable-deterministic-inference"), std::string::npos) << e.what();
    }
    OpenAIOptions o = fast_options(fake.url());
    o.allow_unseeded = true;
    OpenAIEngine accepted(tiny_tok(), o, eo, one_segment_independent(1, 3), prompts());
    EXPECT_EQ(run_traces(accepted, {problems()[0]}).size(), 1u);
    fake.server_info = R"({"enable_deterministic_inference": true})";
    OpenAIEngine seeded(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(1, 3), prompts());
    EXPECT_EQ(seeded.servers()[0].flavor, ServerFlavor::Sglang);
    eo.sampling.temperature = 0;  // greedy needs no seed
    fake.server_info = "";
    OpenAIEngine greedy(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(1, 3), prompts());
    EXPECT_EQ(greedy.servers()[0].flavor, ServerFlavor::Sglang);
}

// --ignore-eos bans every end-of-generation id with logit_bias; a server that samples one anyway
// is an error, not a token written into the text.
TEST(OpenAIFakeServer, IgnoreEosIsABanAndAnEosDespiteItIsAnError) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    std::vector<Token> eog;
    for (Token t = 0; t < tiny_tok().n_vocab(); ++t)
        if (tiny_tok().is_end_of_generation(t)) eog.push_back(t);
    ASSERT_FALSE(eog.empty());
    std::atomic<bool> send_eos{false};
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        std::vector<Token> ids(body["max_tokens"].get<int>(), word[0]);
        if (send_eos) ids[1] = eog[0];
        answer(res, ids, "length");
    });
    fake.owned_by = "vllm";
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.ban_end_of_generation = true;
    {
        OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(1, 4), prompts());
        run_traces(engine, {problems()[0]});
        std::lock_guard<std::mutex> lk(fake.m);
        ASSERT_FALSE(fake.requests.empty());
        const json& bias = fake.requests[0]["logit_bias"];
        EXPECT_EQ(bias.size(), eog.size());
        for (Token t : eog) EXPECT_EQ(bias[std::to_string(t)], -100);
        EXPECT_EQ(fake.requests[0]["ignore_eos"], true);
    }
    send_eos = true;
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(1, 4), prompts());
    try {
        run_traces(engine, {problems()[0]});
        FAIL() << "an end-of-generation token despite the ban must be an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--ignore-eos bans it"), std::string::npos) << e.what();
    }
}

// SGLang's finish_reason "abort" is a dropped request: asked again (it is not a full context),
// and an error naming it when it keeps happening.
TEST(OpenAIFakeServer, SglangAbortIsRetriedNotAFullContext) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    std::atomic<int> aborts_left{2};
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        if (aborts_left-- > 0) return answer(res, {}, "abort");
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word[0]), "length");
    });
    fake.owned_by = "sglang";
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0;
    {
        OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(1, 4), prompts());
        const auto traces = run_traces(engine, {problems()[0]});
        EXPECT_EQ(traces[0]["paths"][0]["segments"][0], " hello hello hello hello");
        EXPECT_NE(traces[0]["paths"][0]["finish"], "context-full");
    }
    aborts_left = 1000;
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(1, 4), prompts());
    try {
        run_traces(engine, {problems()[0]});
        FAIL() << "a server that aborts every time must be an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("aborted the request"), std::string::npos) << e.what();
    }
}

// vLLM with speculative decoding refuses min_p: the error says what to change.
TEST(OpenAIFakeServer, SpeculativeDecodingRefusalSaysWhatToChange) {
    FakeServer fake([](const json&, httplib::Response& res, int) {
        res.status = 400;
        res.set_content(R"({"object": "error", "message": "The min_p and logit_bias sampling parameters are not yet supported with speculative decoding.", "type": "BadRequestError", "code": 400})",
                        "application/json");
    });
    fake.owned_by = "vllm";
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), EngineOptions{}, one_segment_independent(1, 4), prompts());
    try {
        run_traces(engine, {problems()[0]});
        FAIL() << "a 400 must stop the run";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("speculative decoding"), std::string::npos) << msg;
        EXPECT_NE(msg.find("--min-p 0"), std::string::npos) << msg;
    }
}

TEST(OpenAIFakeServer, BadRequestIsAClearErrorNamingTheRequest) {
    FakeServer fake([](const json&, httplib::Response& res, int) {
        res.status = 400;
        res.set_content(R"({"error": {"message": "This model's maximum context length is 10 tokens", "type": "BadRequestError", "code": 400}})",
                        "application/json");
    });
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), EngineOptions{}, one_segment_independent(2, 5), prompts());
    const auto t0 = Clock::now();
    try {
        run_traces(engine, {problems()[1]});
        FAIL() << "a 400 must stop the run";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("problem 'p1' path "), std::string::npos) << msg;
        EXPECT_NE(msg.find("http://127.0.0.1:" + std::to_string(fake.port) + "/v1/completions"), std::string::npos) << msg;
        EXPECT_NE(msg.find("HTTP 400"), std::string::npos) << msg;
        EXPECT_NE(msg.find("maximum context length"), std::string::npos) << msg;
    }
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
    std::lock_guard<std::mutex> lk(fake.m);
    EXPECT_LE(fake.requests.size(), 2u) << "a 400 is not retried";
}

// A server that ignores stop strings and another that stops early: the engine cuts at the stop
// string itself, and asks again for the rest of the budget.
TEST(OpenAIFakeServer, StopStringsAppliedHereAndEarlyStopsFollowedUp) {
    const std::vector<Token> word = tiny_tok().tokenize(" alpha", false);
    const std::vector<Token> think = tiny_tok().tokenize("</think>", false);
    FakeServer fake([&](const json& body, httplib::Response& res, int n) {
        const int max = body["max_tokens"].get<int>();
        std::vector<Token> ids;
        if (n == 1) {
            // Path text: " alpha" x2, then the stop string, then more the server did not cut.
            ids = {word[0], word[0]};
            ids.insert(ids.end(), think.begin(), think.end());
            ids.push_back(word[0]);
            answer(res, ids, "length");
        } else if (n == 2) {
            answer(res, {word[0]}, "stop");  // stopped early: no stop string, no end-of-generation
        } else {
            for (int i = 0; i < max; ++i) ids.push_back(word[0]);
            answer(res, ids, "length");
        }
    });
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    OpenAIOptions o = fast_options(fake.url());
    o.max_inflight = 1;  // requests in order
    OpenAIEngine engine(tiny_tok(), o, eo, one_segment_independent(1, 6), prompts());
    const auto traces = run_traces(engine, {problems()[0]});
    const json& p = traces.at(0)["paths"][0];
    // The first answer ended the reasoning at </think>; the answer part then came in two requests.
    EXPECT_EQ(p["segments"][0], " alpha alpha</think>");
    EXPECT_EQ(engine.http_stats().tokens_discarded, 1);
    EXPECT_GE(engine.http_stats().follow_ups, 1);
    EXPECT_EQ(p["finish"], "end-of-thinking");
}

// An attempt that outlasts --timeout is abandoned and retried.
TEST(OpenAIFakeServer, SlowAnswerTimesOutAndIsRetried) {
    const std::vector<Token> word = tiny_tok().tokenize(" slow", false);
    FakeServer fake([&](const json& body, httplib::Response& res, int n) {
        if (n == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1200));
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word[0]), "length");
    });
    OpenAIOptions o = fast_options(fake.url());
    o.retry.timeout_s = 0.4;
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    OpenAIEngine engine(tiny_tok(), o, eo, one_segment_independent(1, 2), prompts());
    const auto traces = run_traces(engine, {problems()[0]});
    EXPECT_EQ(traces.at(0)["paths"][0]["segments"][0], " slow slow");
    EXPECT_EQ(engine.http_stats().attempts_failed, 1);
}

// Two llama-server replicas of two slots each, four paths: every path stays on one replica and one
// slot (each answers with its own word, so a path's text shows where all its requests went).
TEST(OpenAIFakeServer, PathsStayOnOneReplicaAndSlot) {
    std::vector<Token> words;
    for (const char* w : {" red", " green", " blue", " black"}) words.push_back(tiny_tok().tokenize(w, false).at(0));
    auto make = [&](int replica) {
        return [&words, replica](const json& body, httplib::Response& res, int) {
            EXPECT_EQ(body["return_tokens"], true);
            EXPECT_EQ(body["cache_prompt"], true);
            EXPECT_TRUE(body.contains("samplers"));
            const int slot = body.at("id_slot").get<int>();
            std::vector<Token> ids(body["n_predict"].get<int>(), words.at(replica * 2 + slot));
            res.set_content(json({{"content", ""}, {"tokens", ids}, {"stop_type", "limit"}}).dump(), "application/json");
        };
    };
    FakeServer a(make(0), 2), b(make(1), 2);
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    RunConfig c = one_segment_independent(4, 3);
    OpenAIOptions two = fast_options(a.url());
    two.base_urls.push_back("http://127.0.0.1:" + std::to_string(b.port));
    OpenAIEngine spread(tiny_tok(), two, eo, c, prompts());
    EXPECT_EQ(spread.servers()[1].kind, ServerKind::LlamaServer);
    EXPECT_EQ(spread.servers()[1].n_slots, 2);
    const auto traces = run_traces(spread, {problems()[0]});
    std::set<std::string> texts;
    for (const auto& p : traces.at(0)["paths"]) {
        const std::string seg = p["segments"][0];
        EXPECT_TRUE(seg == " red red red" || seg == " green green green" || seg == " blue blue blue" ||
                    seg == " black black black")
            << seg;
        const std::string ans = p["answer"];
        EXPECT_NE(ans.find(seg.substr(0, seg.find(' ', 1))), std::string::npos) << "the answer came from elsewhere";
        texts.insert(seg);
    }
    EXPECT_EQ(texts.size(), 4u) << "four paths on four (replica, slot) pairs";
}

// llama-server's chat parser rejects some generations (server_api.h): a server of the llama.cpp
// build leap links gets the lenient parser from the first request, so nothing is generated
// twice; another build gets it only after its first such failure (then the request is resent).
#ifdef LEAP_HAVE_LLAMA_COMMON
TEST(OpenAIFakeServer, LenientParserFromTheFirstRequestOnlyForTheSameBuild) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    auto handler = [&word](const json& body, httplib::Response& res, int) {
        if (!body.contains("chat_parser")) {
            res.status = 500;
            res.set_content(R"({"error":{"code":500,"message":"The model produced output that does not match the expected Content-only format","type":"server_error"}})",
                            "application/json");
            return;
        }
        std::vector<Token> ids(body["n_predict"].get<int>(), word.at(0));
        res.set_content(json({{"content", ""}, {"tokens", ids}, {"stop_type", "limit"}}).dump(), "application/json");
    };
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    const RunConfig c = one_segment_independent(2, 3);
    for (const bool same : {true, false}) {
        FakeServer fake(handler, 2, same ? std::string(llama_build_info()) : std::string("b0-0000000"));
        OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, c, prompts());
        EXPECT_EQ(engine.servers()[0].build, same ? std::string(llama_build_info()) : "b0-0000000");
        const auto traces = run_traces(engine, {problems()[0]});
        for (const auto& p : traces.at(0)["paths"]) EXPECT_EQ(p["segments"][0], " hello hello hello");
        std::lock_guard<std::mutex> lk(fake.m);
        long without = 0;
        for (const json& r : fake.requests) without += !r.contains("chat_parser");
        if (same) {
            EXPECT_EQ(without, 0) << "every request carried the lenient parser";
            EXPECT_EQ(engine.http_stats().parser_workarounds, 0);
        } else {
            EXPECT_GE(without, 1);
            EXPECT_GE(engine.http_stats().parser_workarounds, 1);
        }
    }
}
#endif

// --no-slot-affinity (the reference implementation's access pattern, for benchmarks): request r
// of path g goes to slot (g + r) mod slots, so a path's answer comes from another slot than its
// reasoning, and the server's re-evaluation of what the path had already sent is counted.
TEST(OpenAIFakeServer, NoSlotAffinityRotatesRequestsOverSlots) {
    std::vector<Token> words;
    for (const char* w : {" red", " green", " blue", " black"}) words.push_back(tiny_tok().tokenize(w, false).at(0));
    FakeServer a(
        [&words](const json& body, httplib::Response& res, int) {
            const int slot = body.at("id_slot").get<int>();
            std::vector<Token> ids(body["n_predict"].get<int>(), words.at(slot));
            // As a server without this path's context would: the whole prompt evaluated.
            const long n = (long)body["prompt"].size();
            res.set_content(json({{"content", ""}, {"tokens", ids}, {"stop_type", "limit"},
                                  {"timings", {{"prompt_n", n}, {"cache_n", 0}}}}).dump(),
                            "application/json");
        },
        4);
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    OpenAIOptions o = fast_options(a.url());
    o.slot_affinity = false;
    OpenAIEngine engine(tiny_tok(), o, eo, one_segment_independent(4, 3), prompts());
    const auto traces = run_traces(engine, {problems()[0]});
    std::set<std::string> first_words;
    for (const auto& p : traces.at(0)["paths"]) {
        const std::string seg = p["segments"][0];
        const std::string word = seg.substr(0, seg.find(' ', 1));
        first_words.insert(word);
        EXPECT_EQ(p["answer"].get<std::string>().find(word), std::string::npos)
            << "the answer came from the reasoning's slot: " << p["answer"];
    }
    EXPECT_EQ(first_words.size(), 4u) << "paths in step share no slot";
    const HttpStats& h = engine.http_stats();
    EXPECT_EQ(h.requests, 8);
    EXPECT_EQ(h.requests_moved, 4);  // every path's second request
    // Each answer request resent the prompt and the reasoning: all but the new tokens re-evaluated.
    EXPECT_GT(h.server_prompt_reevaluated, 4 * 3);
    EXPECT_EQ(h.server_prompt_evaluated, h.prompt_tokens_sent);
}

// --share-prompt on llama-server: the prompt is evaluated once (a request with n_predict 0 in the
// first path's slot), saved to a slot file, and restored into the other paths' slots; each path's
// first request goes out only after its slot holds the prompt.
TEST(OpenAIFakeServer, PromptEvaluatedOnceAndRestoredIntoTheOtherSlots) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    std::mutex m;
    std::vector<std::string> events;  // "fill 0", "save 0 FILE", "restore 2 FILE", "complete 2"
    std::vector<Token> filled;
    FakeServer fake(
        [&](const json& body, httplib::Response& res, int) {
            const int n = body["n_predict"].get<int>(), slot = body.at("id_slot").get<int>();
            {
                std::lock_guard<std::mutex> lk(m);
                events.push_back((n == 0 ? "fill " : "complete ") + std::to_string(slot));
                if (n == 0) filled = body["prompt"].get<std::vector<Token>>();
            }
            const long p = (long)body["prompt"].size();
            res.set_content(json({{"content", ""}, {"tokens", std::vector<Token>(n, word.at(0))}, {"stop_type", "limit"},
                                  {"timings", {{"prompt_n", n == 0 ? p : 1}, {"cache_n", n == 0 ? 0 : p - 1}}}})
                                .dump(),
                            "application/json");
        },
        4, "", [&](int id, const std::string& action, const json& body, httplib::Response& res) {
            std::lock_guard<std::mutex> lk(m);
            events.push_back(action + " " + std::to_string(id) + " " + body.at("filename").get<std::string>());
            res.set_content(json({{"id_slot", id}, {"filename", body["filename"]}}).dump(), "application/json");
        });
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(4, 3), prompts());
    const auto traces = run_traces(engine, {problems()[0]});
    for (const auto& p : traces.at(0)["paths"]) EXPECT_EQ(p["segments"][0], " hello hello hello");

    std::lock_guard<std::mutex> lk(m);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events[0], "fill 0");
    ASSERT_EQ(events[1].rfind("save 0 leap-", 0), 0u) << events[1];
    const std::string file = events[1].substr(7);
    EXPECT_NE(file.find(".bin"), std::string::npos);
    auto at = [&](const std::string& e) {
        const auto it = std::find(events.begin(), events.end(), e);
        return it == events.end() ? -1 : (int)(it - events.begin());
    };
    for (int slot = 1; slot < 4; ++slot) {
        const int restore = at("restore " + std::to_string(slot) + " " + file);
        const int first = at("complete " + std::to_string(slot));
        ASSERT_GE(restore, 0) << "slot " << slot << " was not given the prompt";
        EXPECT_GT(first, restore) << "slot " << slot << "'s first request went before its restore";
    }
    EXPECT_GT(at("complete 0"), 1) << "the first path waits for the save";
    EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const std::string& e) { return e.rfind("fill", 0) == 0; }), 1);
    // The prompt filled is the rendered prompt plus the prefill: each path's first context.
    ASSERT_FALSE(filled.empty());
    const json& first = fake.requests.at(1);
    const auto ctx = first["prompt"].get<std::vector<Token>>();
    EXPECT_TRUE(std::equal(filled.begin(), filled.end(), ctx.begin())) << "a path's context starts with the shared prompt";
    const HttpStats& h = engine.http_stats();
    EXPECT_EQ(h.prompt_shares, 1);
    EXPECT_EQ(h.slot_restores, 3);
    EXPECT_EQ(h.share_requests, 5);  // fill, save, 3 restores
    EXPECT_EQ(h.requests, 8);        // completions only: reasoning and answer of 4 paths
}

// Fewer slots than paths (paths share slots): the prompt is restored once per slot, and every
// path, those sharing the lead's slot too, gets its answers.
TEST(OpenAIFakeServer, SharedPromptWithFewerSlotsThanPaths) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    std::mutex m;
    std::vector<std::string> actions;
    FakeServer fake(
        [&](const json& body, httplib::Response& res, int) {
            std::vector<Token> ids(body["n_predict"].get<int>(), word.at(0));
            res.set_content(json({{"content", ""}, {"tokens", ids}, {"stop_type", "limit"}}).dump(), "application/json");
        },
        2, "", [&](int id, const std::string& action, const json& body, httplib::Response& res) {
            std::lock_guard<std::mutex> lk(m);
            actions.push_back(action + " " + std::to_string(id));
            res.set_content(json({{"id_slot", id}, {"filename", body["filename"]}}).dump(), "application/json");
        });
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, one_segment_independent(4, 3), prompts());
    const auto traces = run_traces(engine, {problems()[0]});
    ASSERT_EQ(traces.at(0)["paths"].size(), 4u);
    for (const auto& p : traces.at(0)["paths"]) EXPECT_EQ(p["segments"][0], " hello hello hello");
    std::lock_guard<std::mutex> lk(m);
    EXPECT_EQ(actions, (std::vector<std::string>{"save 0", "restore 1"}));
    EXPECT_EQ(engine.http_stats().slot_restores, 1);
    EXPECT_EQ(engine.http_stats().requests, 8);
}

// A llama-server started without --slot-save-path answers 501 to the save: with auto the run
// goes on (each slot evaluates the prompt) and that server is not asked again; with on it is an
// error naming the flag.
TEST(OpenAIFakeServer, ServerWithoutSlotFilesFallsBackOrFailsWithOn) {
    const std::vector<Token> word = tiny_tok().tokenize(" hello", false);
    FakeServer fake(
        [&](const json& body, httplib::Response& res, int) {
            std::vector<Token> ids(body["n_predict"].get<int>(), word.at(0));
            res.set_content(json({{"content", ""}, {"tokens", ids}, {"stop_type", "limit"}}).dump(), "application/json");
        },
        4);
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    OpenAIOptions o = fast_options(fake.url());
    {
        OpenAIEngine engine(tiny_tok(), o, eo, one_segment_independent(4, 3), prompts());
        const auto traces = run_traces(engine, {problems()[0], problems()[1]});
        for (const auto& t : traces)
            for (const auto& p : t["paths"]) EXPECT_EQ(p["segments"][0], " hello hello hello");
        const HttpStats& h = engine.http_stats();
        EXPECT_EQ(h.prompt_shares, 0);
        EXPECT_EQ(h.share_requests, 2) << "one fill and one refused save, then never again";
        EXPECT_EQ(h.attempts_failed, 0) << "501 is not retried";
    }
    o.share_prompt = "on";
    try {
        OpenAIEngine engine(tiny_tok(), o, eo, one_segment_independent(4, 3), prompts());
        run_traces(engine, {problems()[0]});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--slot-save-path"), std::string::npos) << e.what();
    }
    o.share_prompt = "sometimes";
    EXPECT_THROW(OpenAIEngine(tiny_tok(), o, eo, one_segment_independent(4, 3), prompts()), Error);
}

TEST(OpenAIServerApi, LenientChatParserWorkaround) {
    EXPECT_TRUE(is_output_parser_failure(
        500, R"({"error":{"code":500,"message":"The model produced output that does not match the expected Content-only format","type":"server_error"}})"));
    EXPECT_FALSE(is_output_parser_failure(503, R"({"error":{"message":"Loading model"}})"));
    std::string body = R"({"prompt": [1, 2], "n_predict": 4})";
    ASSERT_TRUE(add_lenient_chat_parser(body));
    const json j = json::parse(body);
    EXPECT_EQ(j["chat_parser"], lenient_chat_parser());
    EXPECT_EQ(j["n_predict"], 4);
    EXPECT_FALSE(lenient_chat_parser().empty());
}

TEST(OpenAIFakeServer, UnreachableServerNamesTheUrl) {
    const int port = free_port();
    OpenAIOptions o = fast_options("http://127.0.0.1:" + std::to_string(port));
    o.retry.retries = 1;
    try {
        OpenAIEngine engine(tiny_tok(), o, EngineOptions{}, one_segment_independent(1, 4), prompts());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("http://127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("does not answer"), std::string::npos) << e.what();
    }
}

// ---- start / step / cancel ----------------------------------------------------------------------

// Steps until the problem of `ticket` is done (or 30 s).
void step_until_done(OpenAIEngine& engine, const bool& done) {
    const auto t0 = Clock::now();
    while (!done && std::chrono::duration<double>(Clock::now() - t0).count() < 30) engine.step();
    ASSERT_TRUE(done) << "the problem did not finish";
}

bool starts_with(const std::vector<Token>& ids, const std::vector<Token>& prefix) {
    return ids.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), ids.begin());
}

// A problem cancelled while its answer is already back (answered, not yet applied): the slot and
// lane go to the next problem, and the old answer, when step() takes it, is discarded instead of
// being written into the new problem's path.
TEST(OpenAICancel, AnAnswerForACancelledProblemIsNeverAppliedToTheNextProblemInItsSlot) {
    const RunConfig c = one_segment_independent(1, 5);
    const Problem a{"a", "What is 2 + 2?", {}}, b{"b", "Name a prime number.", {}};
    const std::vector<Token> a_prompt =
        tiny_tok().tokenize(tiny_tok().render_prompt(ProblemRun(0, a, c, prompts()).user_message()), true);
    const Token apple = tiny_tok().tokenize(" apple", false)[0], berry = tiny_tok().tokenize(" berry", false)[0];
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        const auto ids = body["prompt"].get<std::vector<Token>>();
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), starts_with(ids, a_prompt) ? apple : berry), "length");
    });
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0;
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, c, prompts());
    ASSERT_EQ(engine.path_capacity(), 1);

    Submission sa;
    sa.problem = a;
    sa.config = c;
    sa.sampling = eo.sampling;
    bool a_done = false;
    sa.on_done = [&](ProblemRun&, json) { a_done = true; };
    Ticket ta = 0;
    ASSERT_TRUE(engine.start(sa, &ta));
    // The fake answers at once; the answer waits in the pool until a step takes it.
    for (int i = 0; i < 200; ++i) {
        {
            std::lock_guard<std::mutex> lk(fake.m);
            if (!fake.requests.empty()) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_TRUE(engine.cancel(ta));
    EXPECT_FALSE(engine.cancel(ta)) << "a cancelled ticket is unknown";
    EXPECT_EQ(engine.problems_in_flight(), 0);
    EXPECT_EQ(engine.free_path_capacity(), 1);
    EXPECT_EQ(engine.problem(ta), nullptr);

    Submission sb = sa;
    sb.problem = b;
    bool b_done = false;
    json trace;
    sb.on_done = [&](ProblemRun& run, json) {
        b_done = true;
        trace = run.trace();
    };
    Ticket tb = 0;
    ASSERT_TRUE(engine.start(sb, &tb));
    EXPECT_NE(tb, ta);
    step_until_done(engine, b_done);
    EXPECT_FALSE(a_done) << "a cancelled problem never reports";
    EXPECT_GE(engine.http_stats().answers_discarded, 1);
    const std::string text = trace["paths"][0]["text"].get<std::string>();
    EXPECT_EQ(text.find("apple"), std::string::npos) << "problem a's answer went into problem b: " << text;
    EXPECT_NE(text.find("berry"), std::string::npos) << text;
    EXPECT_FALSE(engine.step()) << "nothing in flight";
}

// Cancelling a problem whose request is still being generated closes that request's connection,
// which is how llama-server and vLLM learn to stop generating: the fake server sees it go.
TEST(OpenAICancel, CancelClosesTheConnectionOfARequestInProgress) {
    const Token word = tiny_tok().tokenize(" hello", false)[0];
    std::atomic<bool> holding{false}, saw_close{false};
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word), "length");
    });
    fake.raw_handler = [&](const httplib::Request& req, const json& body, httplib::Response& res, int n) {
        if (n == 1) {  // the first request hangs until its client goes away (at most 10 s)
            holding = true;
            const auto t0 = Clock::now();
            while (!req.is_connection_closed() && std::chrono::duration<double>(Clock::now() - t0).count() < 10)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            saw_close = req.is_connection_closed();
        }
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word), "length");
    };
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0;
    const RunConfig c = one_segment_independent(1, 5);
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, c, prompts());
    Submission s;
    s.problem = problems()[0];
    s.config = c;
    s.sampling = eo.sampling;
    Ticket t = 0;
    ASSERT_TRUE(engine.start(s, &t));
    for (int i = 0; i < 500 && !holding; ++i) engine.step();  // ~5 ms each
    ASSERT_TRUE(holding.load());
    const auto t0 = Clock::now();
    ASSERT_TRUE(engine.cancel(t));
    EXPECT_EQ(engine.http_stats().requests_aborted, 1);
    for (int i = 0; i < 300 && !saw_close; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(saw_close.load()) << "the server never saw the request's connection close";
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0);
    // The engine goes on: another problem runs to its end.
    bool done = false;
    s.on_done = [&](ProblemRun&, json) { done = true; };
    ASSERT_TRUE(engine.start(s));
    step_until_done(engine, done);
}

// Each submission runs with its own settings, not the engine's: paths, budget, seed, sampling.
TEST(OpenAICancel, ASubmissionRunsWithItsOwnSettings) {
    const Token word = tiny_tok().tokenize(" hello", false)[0];
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word), "length");
    });
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0;
    OpenAIOptions o = fast_options(fake.url());
    o.n_lanes = 4;
    OpenAIEngine engine(tiny_tok(), o, eo, one_segment_independent(1, 5), prompts());
    EXPECT_EQ(engine.path_capacity(), 4);
    Submission s;
    s.problem = problems()[0];
    s.config = one_segment_independent(3, 7);
    s.config.seed = 99;
    s.sampling = eo.sampling;
    s.sampling.temperature = 0.9f;
    bool done = false;
    json trace;
    s.on_done = [&](ProblemRun& run, json) {
        done = true;
        trace = run.trace();
    };
    ASSERT_TRUE(engine.start(s));
    EXPECT_EQ(engine.free_path_capacity(), 1);
    Submission too_big = s;
    too_big.config = one_segment_independent(5, 7);
    EXPECT_THROW(engine.start(too_big), Error) << "5 paths never fit in 4";
    step_until_done(engine, done);
    ASSERT_EQ(trace["paths"].size(), 3u);
    std::lock_guard<std::mutex> lk(fake.m);
    bool saw_segment = false;
    for (const json& r : fake.requests) {
        EXPECT_FLOAT_EQ(r["temperature"].get<float>(), 0.9f);
        saw_segment |= r["max_tokens"] == 7;
    }
    EXPECT_TRUE(saw_segment) << "the submission's segment budget";
    const uint32_t want = request_seed(99, 0, 0, 0);
    bool seeded = false;
    for (const json& r : fake.requests) seeded |= r["seed"].get<uint32_t>() == want;
    EXPECT_TRUE(seeded) << "the submission's seed";
}

// leap serve (quiet, any free port, model "tiny") in front of `engine` with `c` and `sampling` as
// its defaults, listening on a thread of its own until it goes out of scope.
struct ServeInFront {
    server::LeapServer http;
    std::thread serving;
    static server::RequestDefaults defaults(const Backend& engine, const RunConfig& c, const SamplingOptions& s) {
        server::RequestDefaults d;
        d.config = c;
        d.sampling = s;
        d.max_paths = engine.path_capacity();
        d.ctx_per_path = engine.n_ctx_per_path();
        return d;
    }
    static server::ServerOptions options() {
        server::ServerOptions so;
        so.port = 0;
        so.log_requests = false;
        so.model_name = "tiny";
        return so;
    }
    ServeInFront(Backend& engine, const RunConfig& c, const SamplingOptions& s)
        : http(engine, defaults(engine, c, s), options()) {
        http.bind();
        serving = std::thread([this] { http.listen(); });
    }
    ~ServeInFront() {
        http.stop();
        serving.join();
    }
};

// leap serve in front of the OpenAI backend: a streamed client that disconnects mid-run cancels
// its paths' requests on the server too (the fake sees the connection of the request it was
// generating close), and the server then answers the next request.
TEST(OpenAIServe, AClientThatDisconnectsCancelsItsRequestsUpstream) {
    const Token word = tiny_tok().tokenize(" hello", false)[0];
    std::atomic<int> holding{0}, closed{0};
    std::atomic<bool> hang{true};
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word), "length");
    });
    fake.raw_handler = [&](const httplib::Request& req, const json& body, httplib::Response& res, int) {
        if (hang) {
            ++holding;
            const auto t0 = Clock::now();
            while (!req.is_connection_closed() && std::chrono::duration<double>(Clock::now() - t0).count() < 20)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (req.is_connection_closed()) ++closed;
            return;
        }
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word), "length");
    };
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0;
    RunConfig c = one_segment_independent(2, 5);
    OpenAIEngine engine(tiny_tok(), fast_options(fake.url()), eo, c, prompts());
    ServeInFront serve(engine, c, eo.sampling);
    server::LeapServer& http = serve.http;

    httplib::Client client("127.0.0.1", http.port());
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = json{{"messages", json::array({{{"role", "user"}, {"content", "What is 2 + 2?"}}})}, {"stream", true}}.dump();
    req.set_header("Content-Type", "application/json");
    int chunks = 0;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
        // Leaves after the first chunk, once both paths' requests are being generated.
        for (int i = 0; i < 500 && holding < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return ++chunks < 1;
    };
    client.send(req);
    EXPECT_EQ(chunks, 1);
    EXPECT_EQ(holding.load(), 2);
    for (int i = 0; i < 500 && closed < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(closed.load(), 2) << "the server still generates for a client that left";
    hang = false;
    auto res = client.Post("/v1/chat/completions",
                           json{{"messages", json::array({{{"role", "user"}, {"content", "What is 1 + 1?"}}})}}.dump(),
                           "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    const std::string metrics = http.metrics_text();
    EXPECT_NE(metrics.find("leap_requests_cancelled_total 1\n"), std::string::npos) << metrics;
    EXPECT_EQ(metrics.find("leap_kv_cells"), std::string::npos) << "KV figures are the in-process engine's";
}

// A server's final refusal of one request's request (HTTP 400) fails that client's request with
// a 502 naming the upstream error; a request running beside it is answered as usual.
TEST(OpenAIServe, AnUpstreamRefusalFailsOnlyItsOwnRequest) {
    const Token word = tiny_tok().tokenize(" hello", false)[0];
    const std::vector<Token> poison = tiny_tok().tokenize(" poison", false);
    FakeServer fake([&](const json& body, httplib::Response& res, int) {
        const auto ids = body["prompt"].get<std::vector<Token>>();
        if (std::search(ids.begin(), ids.end(), poison.begin(), poison.end()) != ids.end()) {
            res.status = 400;
            res.set_content(R"({"error": {"message": "this prompt is refused"}})", "application/json");
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // keeps the good one running meanwhile
        answer(res, std::vector<Token>(body["max_tokens"].get<int>(), word), "length");
    });
    EngineOptions eo;
    eo.n_ctx_per_path = 1024;
    eo.sampling.temperature = 0;
    RunConfig c = one_segment_independent(2, 5);
    OpenAIOptions o = fast_options(fake.url());
    o.n_lanes = 4;
    OpenAIEngine engine(tiny_tok(), o, eo, c, prompts());
    ServeInFront serve(engine, c, eo.sampling);
    server::LeapServer& http = serve.http;
    auto ask = [&](const std::string& text) {
        httplib::Client client("127.0.0.1", http.port());
        client.set_read_timeout(std::chrono::seconds(60));
        return client.Post("/v1/chat/completions",
                           json{{"messages", json::array({{{"role", "user"}, {"content", text}}})}}.dump(), "application/json");
    };
    httplib::Result good;
    std::thread beside([&] { good = ask("What is 2 + 2?"); });
    auto bad = ask("Say poison please.");
    beside.join();
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 502) << bad->body;
    EXPECT_NE(bad->body.find("this prompt is refused"), std::string::npos) << bad->body;
    ASSERT_TRUE(good);
    EXPECT_EQ(good->status, 200) << good->body;
}

// ---- a real llama-server -----------------------------------------------------------------------

// build/bin/llama-server on 127.0.0.1, killed when this goes out of scope.
struct LlamaServer {
    int port = 0;
    int slots = 0;
    pid_t pid = -1;
    std::string log;
    std::string slot_dir;  // --slot-save-path when not empty

    LlamaServer(int slots_, int port_ = 0, std::string slot_dir_ = "")
        : port(port_ ? port_ : free_port()), slots(slots_), slot_dir(std::move(slot_dir_)) {
        log = std::string(LEAP_TEST_TMP) + "/openai-llama-server-" + std::to_string(port) + ".log";
        start();
    }
    ~LlamaServer() { kill_now(); }

    void start() {
        const std::string bin = std::string(LEAP_BIN_DIR) + "/llama-server";
        std::vector<std::string> args = {bin, "-m", tiny_path(), "--host", "127.0.0.1", "--port", std::to_string(port),
                                         "-np", std::to_string(slots), "-c", std::to_string(slots * 2048),
                                         "--no-kv-unified", "-fa", "off", "-t", "1", "-tb", "1", "--no-webui",
                                         "--cache-ram", "0"};
        if (!slot_dir.empty()) {
            std::filesystem::create_directories(slot_dir);
            args.insert(args.end(), {"--slot-save-path", slot_dir});
        }
        pid = ::fork();
        if (pid == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(bin.c_str(), argv.data());
            ::_exit(127);
        }
        ASSERT_GT(pid, 0);
        // Ready when /health says so (bounded: 30 s).
        httplib::Client c("127.0.0.1", port);
        c.set_connection_timeout(1, 0);
        const auto t0 = Clock::now();
        while (std::chrono::duration<double>(Clock::now() - t0).count() < 30) {
            auto res = c.Get("/health");
            if (res && res->status == 200) return;
            int st;
            ASSERT_EQ(::waitpid(pid, &st, WNOHANG), 0) << "llama-server exited; log: " << read_text(log);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL() << "llama-server did not become ready; log: " << read_text(log);
    }
    void kill_now() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

OpenAIOptions server_options(std::vector<std::string> urls) {
    OpenAIOptions o;
    o.base_urls = std::move(urls);
    o.retry.retries = 30;
    o.retry.backoff_initial_s = 0.05;
    o.retry.backoff_max_s = 0.5;
    o.retry.timeout_s = 60;
    return o;
}

void expect_same_traces(const std::vector<json>& http, const std::vector<json>& local) {
    ASSERT_EQ(http.size(), local.size());
    for (size_t i = 0; i < local.size(); ++i) {
        ASSERT_EQ(http[i]["paths"].size(), local[i]["paths"].size());
        for (size_t p = 0; p < local[i]["paths"].size(); ++p)
            EXPECT_EQ(dump(http[i]["paths"][p]), dump(local[i]["paths"][p])) << "problem " << i << " path " << p;
        EXPECT_EQ(dump(http[i]), dump(local[i])) << "problem " << i;
    }
}

// Greedy, flash attention off, one thread on both sides, one slot per path: the server's tokens
// are the in-process engine's, for every path of every problem, through blocks and answers.
TEST(OpenAILlamaServer, GreedyRunEqualsInProcess) {
    const auto& local = in_process_traces();
    LlamaServer server(8);  // 2 problems x 4 paths: a slot per path
    OpenAIEngine engine(tiny_tok(), server_options({server.url()}), greedy_options(), small_leap(), prompts());
    EXPECT_EQ(engine.servers()[0].kind, ServerKind::LlamaServer);
    EXPECT_EQ(engine.servers()[0].n_slots, 8);
    const auto http = run_traces(engine, problems());
    expect_same_traces(http, local);
    // The prefix cache was used: most context tokens came from the slots' caches.
    const HttpStats& h = engine.http_stats();
    EXPECT_GT(h.server_prompt_cached, h.server_prompt_evaluated);
    EXPECT_EQ(h.server_prompt_reevaluated, 0) << "a path's slot held its context";
    EXPECT_EQ(h.requests_moved, 0);
    EXPECT_EQ(h.tokens_discarded, 0);
    EXPECT_EQ(h.follow_ups, 0);
}

// The prompt evaluated once and restored into the other slots (--share-prompt, the server with
// --slot-save-path): the same traces as in-process, and the server evaluates (paths - 1) prompts
// fewer per problem than when every slot evaluates it.
TEST(OpenAILlamaServer, SharedPromptEqualsInProcessAndIsEvaluatedOnce) {
    const auto& local = in_process_traces();
    auto run = [&](const std::string& share) {
        LlamaServer server(8, 0, std::string(LEAP_TEST_TMP) + "/openai-slot-files");  // a fresh cache each time
        OpenAIOptions o = server_options({server.url()});
        o.share_prompt = share;
        OpenAIEngine engine(tiny_tok(), o, greedy_options(), small_leap(), prompts());
        const auto http = run_traces(engine, problems());
        expect_same_traces(http, local);
        return engine.http_stats();
    };
    const HttpStats shared = run("on"), each = run("off");
    EXPECT_EQ(shared.prompt_shares, 2);
    EXPECT_EQ(shared.slot_restores, 2 * 3);
    EXPECT_EQ(each.prompt_shares, 0);
    EXPECT_EQ(shared.server_prompt_reevaluated, 0);
    long saved = 0;
    for (const json& t : local) saved += 3 * (t["prompt_tokens"].get<long>() - 2);
    EXPECT_GE(each.server_prompt_evaluated - shared.server_prompt_evaluated, saved)
        << "evaluated " << shared.server_prompt_evaluated << " with sharing, " << each.server_prompt_evaluated
        << " without";
}

// Sampling: each request carries a seed derived from (seed, problem, path, request), so on a
// deterministic server the same --seed gives the same run, and another seed another run.
TEST(OpenAILlamaServer, SampledRunIsFixedBySeed) {
    LlamaServer server(8);
    EngineOptions eo = greedy_options();
    eo.sampling.temperature = 0.8f;
    RunConfig c = small_leap();
    auto run = [&](uint64_t seed) {
        c.seed = seed;
        OpenAIEngine engine(tiny_tok(), server_options({server.url()}), eo, c, prompts());
        return run_traces(engine, problems());
    };
    const auto a = run(11), b = run(11), other = run(12);
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(dump(a[i]), dump(b[i])) << "problem " << i;
        EXPECT_NE(dump(a[i]["paths"]), dump(other[i]["paths"])) << "problem " << i;
    }
}

// Two servers: paths are spread over both (each path stays on one), the result is the same.
TEST(OpenAILlamaServer, TwoReplicasGiveTheSameRun) {
    const auto& local = in_process_traces();
    LlamaServer a(4), b(4);
    OpenAIEngine engine(tiny_tok(), server_options({a.url(), b.url() + "/v1"}), greedy_options(), small_leap(),
                        prompts());
    const auto http = run_traces(engine, problems());
    expect_same_traces(http, local);
    ASSERT_EQ(engine.servers().size(), 2u);
}

// The server is killed with SIGKILL mid-run and started again on the same port a little later:
// requests in flight and those sent meanwhile are retried with backoff, and the run ends with
// every path of every problem exactly as without the failure.
TEST(OpenAILlamaServer, ServerKilledMidRunAndRestartedLosesNothing) {
    const auto& local = in_process_traces();
    LlamaServer server(8);
    OpenAIOptions o = server_options({server.url()});
    o.progress_interval_s = 0;  // a progress call after every answer
    OpenAIEngine engine(tiny_tok(), o, greedy_options(), small_leap(), prompts());
    std::thread restarter;
    std::atomic<bool> killed{false}, restarted{false};
    const auto http = run_traces(engine, problems(), [&](const Progress& p) {
        if (!killed && p.tokens_sampled >= 60) {
            killed = true;
            server.kill_now();
            restarter = std::thread([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(700));
                server.start();
                restarted = true;
            });
        }
    });
    if (restarter.joinable()) restarter.join();
    ASSERT_TRUE(killed.load());
    ASSERT_TRUE(restarted.load());
    EXPECT_GT(engine.http_stats().attempts_failed, 0) << "requests failed while the server was down";
    expect_same_traces(http, local);
}

}  // namespace
