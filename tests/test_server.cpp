// leap serve over real HTTP on a generated tiny model: a normal request, a streamed one,
// 8 concurrent ones (each equal to its solo result), client disconnects (KV cells freed),
// a full queue (429), authentication, and 200+ malformed or hostile bodies after which the
// server still answers a normal request exactly as before.
#include <gtest/gtest.h>

#if __has_include(<cpp-httplib/httplib.h>)
#include <cpp-httplib/httplib.h>
#else
#include <httplib.h>
#endif

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "backends/llama/engine.h"
#include "backends/llama/model.h"
#include "fixtures.h"
#include "server/chat_request.h"
#include "server/server.h"

namespace {

using namespace leap;
using nlohmann::json;

LlamaModel& model() {
    static LlamaModel m(ModelOptions{test::make_tiny_f32_model("server-tiny-f32.gguf", 11), 0, ""});
    return m;
}

RunConfig defaults_config() {
    RunConfig c;
    c.n_paths = 2;
    c.segment_tokens = 12;
    c.segments = 3;
    c.summary_tokens = 10;
    c.answer_tokens = 8;
    c.router.k = 1;
    return c;
}

// One server on a free port, served from a background thread.
struct TestServer {
    std::unique_ptr<LlamaEngine> engine;
    std::unique_ptr<server::LeapServer> http;
    std::thread thread;
    int port = 0;

    explicit TestServer(int kv_sequences = 4, int queue = 16, std::string api_key = "", int ctx = 2048) {
        static const PromptSet prompts = PromptSet::builtin();
        EngineOptions eo;
        eo.threads = 1;
        eo.flash_attn = 0;  // greedy results then do not depend on batching (docs/determinism.md)
        eo.sampling.temperature = 0;
        eo.n_sequences = kv_sequences;
        eo.n_ctx_per_path = ctx;
        engine = std::make_unique<LlamaEngine>(model(), eo, defaults_config(), prompts);
        server::RequestDefaults d;
        d.config = defaults_config();
        d.sampling = eo.sampling;
        d.max_paths = engine->n_sequences();
        d.ctx_per_path = engine->n_ctx_per_path();
        server::ServerOptions so;
        so.port = 0;
        so.queue_capacity = queue;
        so.api_key = std::move(api_key);
        so.model_name = "tiny";
        so.max_body_bytes = 64 * 1024;
        so.log_requests = false;
        http = std::make_unique<server::LeapServer>(*engine, d, so);
        http->bind();
        port = http->port();
        thread = std::thread([this] { http->listen(); });
    }
    ~TestServer() {
        http->stop();
        thread.join();
    }
    httplib::Client client(double read_timeout_s = 120) const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(std::chrono::milliseconds((long)(read_timeout_s * 1000)));
        return c;
    }
    // A metric's value from /metrics (-1 if absent).
    double metric(const std::string& name) const {
        auto res = client().Get("/metrics");
        if (!res) return -1;
        const std::regex line("(^|\n)" + std::regex_replace(name, std::regex(R"([{}"])"), R"(\$&)") + " ([-0-9.e+]+)");
        std::smatch m;
        return std::regex_search(res->body, m, line) ? std::stod(m[2]) : -1;
    }
    // Waits (up to 30 s) until the metric has the value.
    bool wait_metric(const std::string& name, double value) const {
        for (int i = 0; i < 300; ++i) {
            if (metric(name) == value) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
};

std::string chat_body(const std::string& problem, json extra = json::object()) {
    json j = {{"messages", json::array({{{"role", "user"}, {"content", problem}}})}};
    for (auto& [k, v] : extra.items()) j[k] = v;
    return j.dump();
}

json post(const TestServer& s, const std::string& body, int* status = nullptr) {
    auto res = s.client().Post("/v1/chat/completions", body, "application/json");
    EXPECT_TRUE(res) << "no response";
    if (!res) return nullptr;
    if (status) *status = res->status;
    return json::parse(res->body);
}

// What must not depend on batching or timing: every path's text and the message.
json essence(const json& r) {
    json paths = json::array();
    for (const auto& p : r["leap"]["paths"]) paths.push_back({p["answer"], p["final"], p["tokens"]});
    return {r["choices"][0]["message"], paths, r["usage"]};
}

TEST(Serve, NormalRequestAnswersWithTheWinningVoteAndCountsAllPaths) {
    TestServer s;
    int status = 0;
    const json r = post(s, chat_body("What is 6 times 7?", {{"seed", 5}}), &status);
    ASSERT_EQ(status, 200) << r.dump();
    EXPECT_EQ(r["object"], "chat.completion");
    EXPECT_EQ(r["model"], "tiny");
    ASSERT_EQ(r["choices"].size(), 1u);
    const json& msg = r["choices"][0]["message"];
    EXPECT_EQ(msg["role"], "assistant");
    const json& leap = r["leap"];
    ASSERT_EQ(leap["paths"].size(), 2u);
    // The message is the final part of the chosen path, which belongs to the vote's majority
    // when anyone voted.
    const int chosen = leap["chosen_path"];
    EXPECT_EQ(msg["content"], leap["paths"][chosen]["final"]);
    if (!leap["vote"]["majority"].empty()) EXPECT_EQ(leap["vote"]["majority"][0], chosen);
    // usage covers every path: sampled tokens of all kinds, and prompt + injected.
    long sampled = 0, injected = 0;
    for (const auto& p : leap["paths"]) {
        sampled += p["tokens"]["reasoning"].get<long>() + p["tokens"]["summary"].get<long>() +
                   p["tokens"]["answer"].get<long>();
        injected += p["tokens"]["injected"].get<long>();
        EXPECT_EQ(p["blocks"], 2);  // 3 segments: both blocks passed
    }
    EXPECT_EQ(r["usage"]["completion_tokens"], sampled);
    EXPECT_EQ(r["usage"]["prompt_tokens"], leap["prompt_tokens_shared"].get<long>() + injected);
    EXPECT_EQ(r["usage"]["total_tokens"], sampled + leap["prompt_tokens_shared"].get<long>() + injected);
    EXPECT_GT(sampled, 2 * 3 * 12 / 2);
    EXPECT_EQ(leap["config"]["seed"], 5);
    // The same request again gives the same result; nothing stays in the KV cache.
    EXPECT_EQ(essence(post(s, chat_body("What is 6 times 7?", {{"seed", 5}}))), essence(r));
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
    EXPECT_EQ(s.metric("leap_history_reevaluated_total"), 0);
    EXPECT_EQ(s.metric(R"(leap_requests_total{endpoint="/v1/chat/completions",code="200"})"), 2);
    // The other endpoints.
    auto health = s.client().Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    auto models = s.client().Get("/v1/models");
    ASSERT_TRUE(models);
    EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "tiny");
}

TEST(Serve, RequestSettingsReachTheMethod) {
    TestServer s;
    const json r = post(s, chat_body("Name a prime.", {{"seed", 1},
                                                      {"leap", {{"paths", 3}, {"segments", 2}, {"segment_tokens", 9},
                                                                {"peers", 2}, {"router", "clustered"}}}}));
    ASSERT_EQ(r["leap"]["paths"].size(), 3u);
    EXPECT_EQ(r["leap"]["config"]["router"], "clustered");
    for (const auto& p : r["leap"]["paths"]) EXPECT_EQ(p["blocks"], 1);
    const json ind = post(s, chat_body("Name a prime.", {{"leap", {{"method", "independent"}}}}));
    EXPECT_EQ(ind["leap"]["method"], "independent");
    for (const auto& p : ind["leap"]["paths"]) EXPECT_EQ(p["blocks"], 0);
    // max_tokens sets the reasoning budget: one segment of 5 tokens.
    const json small = post(s, chat_body("Name a prime.", {{"max_tokens", 5}}));
    EXPECT_EQ(small["leap"]["config"]["segments"], 1);
    EXPECT_EQ(small["leap"]["config"]["segment_tokens"], 5);
    // Without a seed the server picks one per request and says which.
    const json a = post(s, chat_body("Name a prime."));
    const json b = post(s, chat_body("Name a prime."));
    EXPECT_NE(a["leap"]["config"]["seed"], b["leap"]["config"]["seed"]);
}

// Reads a streamed response; returns the data payloads (without "data: ").
std::vector<std::string> read_stream(const TestServer& s, const std::string& body, int* status) {
    std::string raw;
    httplib::Client c = s.client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        raw.append(data, n);
        return true;
    };
    auto res = c.send(req);
    EXPECT_TRUE(res);
    if (res) *status = res->status;
    std::vector<std::string> out;
    size_t pos = 0;
    while ((pos = raw.find("data: ", pos)) != std::string::npos) {
        const size_t end = raw.find("\n\n", pos);
        out.push_back(raw.substr(pos + 6, end - pos - 6));
        pos = end;
    }
    return out;
}

TEST(Serve, StreamedRequestSendsProgressThenTheSameAnswer) {
    TestServer s;
    const std::string body = chat_body("What is 6 times 7?", {{"seed", 5}});
    const json plain = post(s, body);
    int status = 0;
    json streamed_body = json::parse(body);
    streamed_body["stream"] = true;
    const auto events = read_stream(s, streamed_body.dump(), &status);
    ASSERT_EQ(status, 200);
    ASSERT_GE(events.size(), 4u);
    EXPECT_EQ(events.back(), "[DONE]");
    int segments = 0, blocks = 0, done = 0;
    std::string content;
    json last;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        const json c = json::parse(events[i]);
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        if (c.contains("leap") && c["leap"].contains("event")) {
            const std::string e = c["leap"]["event"];
            segments += e == "segment";
            blocks += e == "block";
            done += e == "path_done";
            EXPECT_EQ(content, "") << "progress after the answer";
        }
        for (const auto& ch : c["choices"])
            if (ch["delta"].contains("content")) content += ch["delta"]["content"].get<std::string>();
        last = c;
    }
    // Every path reports its segments, its blocks and its end.
    EXPECT_GE(segments, 2);
    EXPECT_EQ(blocks, 2 * 2);
    EXPECT_EQ(done, 2);
    EXPECT_EQ(content, plain["choices"][0]["message"]["content"]);
    EXPECT_EQ(last["choices"][0]["finish_reason"], plain["choices"][0]["finish_reason"]);
    EXPECT_EQ(last["usage"], plain["usage"]);
}

TEST(Serve, EightConcurrentRequestsShareTheBatchAndMatchTheirSoloResults) {
    TestServer s(/*kv_sequences=*/4);  // two problems of two paths at once; the rest wait
    std::vector<std::string> bodies;
    for (int i = 0; i < 8; ++i) bodies.push_back(chat_body("What is " + std::to_string(i) + " plus 9?", {{"seed", i}}));
    std::vector<json> solo;
    for (const auto& b : bodies) solo.push_back(essence(post(s, b)));
    std::vector<json> together(8);
    std::vector<int> status(8);
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
        clients.emplace_back([&, i] { together[i] = essence(post(s, bodies[i], &status[i])); });
    for (auto& t : clients) t.join();
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(status[i], 200);
        EXPECT_EQ(together[i], solo[i]) << "request " << i;
    }
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
    EXPECT_GT(s.metric("leap_batch_tokens_total") / s.metric("leap_decode_calls_total"), 1.0);
}

TEST(Serve, ClientDisconnectCancelsItsPathsAndFreesTheirKv) {
    TestServer s;
    const std::string long_body = chat_body("Count to a thousand.", {{"leap", {{"segments", 8}, {"segment_tokens", 200}}}});
    // A client that stops waiting after 0.3 s.
    auto res = s.client(0.3).Post("/v1/chat/completions", long_body, "application/json");
    EXPECT_FALSE(res);
    EXPECT_TRUE(s.wait_metric("leap_requests_cancelled_total", 1));
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
    EXPECT_TRUE(s.wait_metric("leap_requests_running", 0));
    // A streamed client that leaves after its first event.
    json streamed = json::parse(long_body);
    streamed["stream"] = true;
    httplib::Client c = s.client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = streamed.dump();
    req.set_header("Content-Type", "application/json");
    int chunks = 0;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 1; };
    c.send(req);
    EXPECT_EQ(chunks, 1);
    EXPECT_TRUE(s.wait_metric("leap_requests_cancelled_total", 2));
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
    EXPECT_EQ(s.engine->free_sequences(), s.engine->n_sequences());  // read after the server went idle
    // The server still answers.
    int status = 0;
    post(s, chat_body("What is 1+1?"), &status);
    EXPECT_EQ(status, 200);
}

TEST(Serve, FullQueueAnswers429) {
    TestServer s(/*kv_sequences=*/2, /*queue=*/1);
    const std::string long_body = chat_body("Count to a thousand.", {{"leap", {{"segments", 8}, {"segment_tokens", 200}}}});
    std::thread a([&] { s.client(4).Post("/v1/chat/completions", long_body, "application/json"); });
    ASSERT_TRUE(s.wait_metric("leap_requests_running", 1));
    std::thread b([&] { s.client(4).Post("/v1/chat/completions", long_body, "application/json"); });
    ASSERT_TRUE(s.wait_metric("leap_requests_queued", 1));
    int status = 0;
    const json r = post(s, long_body, &status);
    EXPECT_EQ(status, 429);
    EXPECT_EQ(r["error"]["type"], "rate_limit_error");
    a.join();
    b.join();
    // Both gave up (read timeout): the running one was cancelled, the queued one dropped.
    EXPECT_TRUE(s.wait_metric("leap_requests_running", 0));
    EXPECT_TRUE(s.wait_metric("leap_requests_queued", 0));
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
}

TEST(Serve, ApiKeyIsRequiredExceptForHealth) {
    TestServer s(4, 16, "secret-key-123");
    int status = 0;
    const json r = post(s, chat_body("1+1?"), &status);
    EXPECT_EQ(status, 401);
    EXPECT_EQ(r["error"]["type"], "authentication_error");
    httplib::Client c = s.client();
    EXPECT_EQ(c.Get("/health")->status, 200);
    EXPECT_EQ(c.Get("/metrics")->status, 401);
    c.set_bearer_token_auth("wrong-key-123");
    EXPECT_EQ(c.Post("/v1/chat/completions", chat_body("1+1?"), "application/json")->status, 401);
    c.set_bearer_token_auth("secret-key-123");
    EXPECT_EQ(c.Post("/v1/chat/completions", chat_body("1+1?"), "application/json")->status, 200);
}

// Bodies that must each be refused with a 4xx and an OpenAI-style error object.
std::vector<std::string> hostile_bodies() {
    std::vector<std::string> v = {
        "", " ", "{", "}", "[", "nul", "null", "true", "1", "\"x\"", "[]", "{}", "[1,2", "{\"messages\":",
        "{\"messages\":[}", "{'messages': []}", "\xff\xfe\xfd", std::string("{\"a\":\0}", 8),
        std::string(10000, '[') + std::string(10000, ']'), std::string(100000, '{'),
        R"({"messages":null})", R"({"messages":"hi"})", R"({"messages":{}})", R"({"messages":[]})",
        R"({"messages":[1]})", R"({"messages":[null]})", R"({"messages":[{}]})", R"({"messages":[{"role":1}]})",
        R"({"messages":[{"role":"user"}]})", R"({"messages":[{"role":"user","content":1}]})",
        R"({"messages":[{"role":"user","content":null}]})", R"({"messages":[{"role":"user","content":""}]})",
        R"({"messages":[{"role":"tool","content":"x"}]})", R"({"messages":[{"role":"function","content":"x"}]})",
        R"({"messages":[{"role":"assistant","content":"x"}]})", R"({"messages":[{"role":"user","content":"x"},{"role":"system","content":"y"}]})",
        R"({"messages":[{"role":"user","content":[]}]})", R"({"messages":[{"role":"user","content":[1]}]})",
        R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})",
        R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})",
        R"({"messages":[{"role":"user","content":[{"type":"text","text":5}]}]})",
        R"({"messages":[{"role":"user","content":[{"text":"x"}]}]})",
        R"({"messages":[{"role":"","content":"x"}]})", R"({"messages":[{"role":"USER ","content":"x"}]})",
        R"({"messages":[{"role":"user","content":"x"}],"n":2})", R"({"messages":[{"role":"user","content":"x"}],"n":0})",
        R"({"messages":[{"role":"user","content":"x"}],"stop":"x"})", R"({"messages":[{"role":"user","content":"x"}],"stop":["a"]})",
        R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})",
        R"({"messages":[{"role":"user","content":"x"}],"stream_options":5})",
        R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":"y"}})",
        R"({"messages":[{"role":"user","content":"x"}],"model":5})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":"fast"})", R"({"messages":[{"role":"user","content":"x"}],"leap":[]})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"unknown":1}})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"Paths":2}})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"method":"single","single_block":99}})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"method":"leap-s","paths":3,"group_size":2}})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"segments":100000}})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"segments":50,"segment_tokens":2000}})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"moa_layers":0,"method":"moa"}})",
        R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1e400})",
        R"({"messages":[{"role":"user","content":"x"}],"temperature":NaN})",
        R"({"messages":[{"role":"user","content":"x"}],"temperature":Infinity})",
        // A prompt longer than a path's context (the engine refuses it at admission).
        chat_body(std::string(30000, 'a') + " " + std::string(20000, 'b')),
    };
    const std::string base = R"({"messages":[{"role":"user","content":"x"}])";
    auto with = [&](const std::string& key, const std::string& value) {
        return base.substr(0, base.size() - 1) + ",\"" + key + "\":" + value + "}";
    };
    auto with_leap = [&](const std::string& key, const std::string& value) {
        return with("leap", "{\"" + key + "\":" + value + "}");
    };
    const std::vector<std::string> bad_int = {"\"4\"", "[]", "{}", "true", "1e300", "-7", "0.5", "0"};
    const std::vector<std::string> bad_unit = {"\"0.5\"", "[]", "{}", "true", "1e300", "-7", "3.5", "-0.1"};
    const std::vector<std::string> bad_name = {"5", "[]", "{}", "true", "\"bogus\"", "\"\"", "\"LEAP\""};
    for (const char* k : {"max_tokens", "max_completion_tokens"})
        for (const auto& b : bad_int) v.push_back(with(k, b));
    for (const char* k : {"temperature", "top_p", "min_p"})
        for (const auto& b : bad_unit) v.push_back(with(k, b));
    for (const char* k : {"paths", "segment_tokens", "segments", "summary_tokens", "answer_tokens", "peers", "top_k"})
        for (const auto& b : bad_int) v.push_back(with_leap(k, b));
    for (const char* k : {"method", "router", "similarity"})
        for (const auto& b : bad_name) v.push_back(with_leap(k, b));
    for (const auto& b : {"\"x\"", "[]", "{}", "1e30", "1.5", "true"}) v.push_back(with("seed", b));
    for (const auto& b : {"\"yes\"", "1", "[]", "{}"}) v.push_back(with("stream", b));
    v.push_back(with_leap("paths", "1000"));
    v.push_back(with_leap("segment_tokens", "1000000000"));
    v.push_back(with_leap("peers", "99"));
    v.push_back(with_leap("top_k", "2"));
    // Random bytes: never valid JSON objects with messages.
    uint64_t x = 42;
    for (int i = 0; i < 30; ++i) {
        std::string s;
        for (int j = 0; j < 1 + i * 7; ++j) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            s += (char)(x >> 56);
        }
        v.push_back(s);
    }
    return v;
}

TEST(Serve, HostileBodiesAreParsedIntoClearErrors) {
    server::RequestDefaults d;
    d.config = defaults_config();
    d.max_paths = 4;
    d.ctx_per_path = 2048;
    int refused = 0;
    for (const auto& body : hostile_bodies()) {
        try {
            server::parse_chat_request(body, d);
        } catch (const server::ApiError& e) {
            ++refused;
            EXPECT_EQ(e.status, 400);
            EXPECT_FALSE(std::string(e.what()).empty());
            continue;
        }
        // Only the over-long prompt passes the parser; the engine refuses it.
        EXPECT_GT(body.size(), 40000u) << "accepted: " << body.substr(0, 200);
    }
    EXPECT_GE(refused, 200);
}

TEST(Serve, TwoHundredHostileRequestsLeaveTheServerAnsweringCorrectly) {
    TestServer s;
    const std::string normal = chat_body("What is 6 times 7?", {{"seed", 5}});
    const json before = essence(post(s, normal));
    int n = 0;
    for (const auto& body : hostile_bodies()) {
        auto res = s.client().Post("/v1/chat/completions", body, "application/json");
        ASSERT_TRUE(res) << "no answer to: " << body.substr(0, 100);
        EXPECT_GE(res->status, 400) << body.substr(0, 100);
        EXPECT_LT(res->status, 500) << body.substr(0, 100);
        const json e = json::parse(res->body, nullptr, false);
        ASSERT_TRUE(e.is_object()) << res->body;
        EXPECT_TRUE(e["error"]["message"].is_string()) << res->body;
        ++n;
    }
    // HTTP-level refusals: unknown endpoint, wrong method, oversize body.
    httplib::Client c = s.client();
    std::vector<httplib::Result> refusals;
    refusals.push_back(c.Get("/v1/nothing"));
    refusals.push_back(c.Get("/v1/chat/completions"));
    refusals.push_back(c.Delete("/v1/models"));
    refusals.push_back(c.Post("/v1/chat/completions", std::string(100 * 1024, ' '), "application/json"));
    for (auto& res : refusals) {
        ASSERT_TRUE(res);
        EXPECT_GE(res->status, 400);
        EXPECT_LT(res->status, 500);
        EXPECT_TRUE(json::parse(res->body, nullptr, false)["error"]["message"].is_string()) << res->body;
        ++n;
    }
    EXPECT_GE(n, 200);
    EXPECT_EQ(essence(post(s, normal)), before);
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
}

}  // namespace
