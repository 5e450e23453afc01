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
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <functional>
#include <regex>
#include <thread>

#include "backends/llama/engine.h"
#include "backends/llama/model.h"
#include "core/error.h"
#include "fixtures.h"
#include "server/chat_request.h"
#include "server/scheduler.h"
#include "server/server.h"
#include "server/utf8_text.h"

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
    server::RequestDefaults defaults;
    server::ServerOptions options;

    explicit TestServer(int kv_sequences = 4, int queue = 16, std::string api_key = "", int ctx = 2048,
                        const std::function<void(server::ServerOptions&)>& tweak = {}) {
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
        if (tweak) tweak(so);
        defaults = d;
        options = so;
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

TEST(Serve, ABusyPortIsRefusedNamingThePort) {
    TestServer s;
    // A second server on the same port (its own engine, as a second process would have).
    const PromptSet prompts = PromptSet::builtin();
    EngineOptions eo;
    eo.threads = 1;
    eo.n_sequences = 2;
    eo.n_ctx_per_path = 512;
    LlamaEngine engine(model(), eo, defaults_config(), prompts);
    server::ServerOptions so = s.options;
    so.port = s.port;
    server::RequestDefaults d = s.defaults;
    d.max_paths = 2;
    d.ctx_per_path = 512;
    server::LeapServer second(engine, d, so);
    try {
        second.bind();
        FAIL() << "a second server bound port " << s.port << ", which one already listens on";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(":" + std::to_string(s.port)), std::string::npos) << what;
        EXPECT_NE(what.find("in use"), std::string::npos) << what;
    }
    // The first one still answers.
    auto health = s.client().Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
}

TEST(Serve, SeedsTheServerDrawsFitADoubleAndComeBackAccepted) {
    // Drawn seeds lie below 2^53 whatever the server's own seed is.
    for (uint64_t base : {0ULL, 1ULL, 42ULL, ~0ULL})
        for (uint64_t i = 0; i < 1000; ++i) EXPECT_LE(server::drawn_seed(base, i), server::kMaxDrawnSeed);
    // Every unsigned 64-bit value is a seed; -1 (and no seed) means "draw one".
    server::RequestDefaults d;
    d.config = defaults_config();
    d.ctx_per_path = 2048;
    for (const char* seed : {"0", "9007199254740991", "9223372036854775808", "12.0"}) {
        const auto r = server::parse_chat_request(chat_body("x", json::parse(std::string("{\"seed\":") + seed + "}")), d);
        EXPECT_TRUE(r.seed_given) << seed;
        EXPECT_EQ(r.config.seed, (uint64_t)std::stod(seed)) << seed;
    }
    EXPECT_EQ(server::parse_chat_request(chat_body("x", {{"seed", 18446744073709551615ULL}}), d).config.seed,
              18446744073709551615ULL);
    EXPECT_FALSE(server::parse_chat_request(chat_body("x", {{"seed", -1}}), d).seed_given);
    EXPECT_FALSE(server::parse_chat_request(chat_body("x", {{"seed", nullptr}}), d).seed_given);
    for (const char* seed : {"-2", "-9223372036854775808", "1e300", "0.5", "\"7\"", "true"}) {
        try {
            server::parse_chat_request(chat_body("x", json::parse(std::string("{\"seed\":") + seed + "}")), d);
            ADD_FAILURE() << "seed " << seed << " accepted";
        } catch (const server::ApiError& e) {
            EXPECT_EQ(e.param, "seed") << seed;
        }
    }

    // Over HTTP: the seeds the server reports fit a double, and replaying one gives the same
    // result; -1 draws a new one each time.
    TestServer s;
    std::vector<uint64_t> drawn;
    json first;
    for (int i = 0; i < 4; ++i) {
        const json r = post(s, chat_body("Name a prime.", i % 2 ? json{{"seed", -1}} : json::object()));
        ASSERT_TRUE(r["leap"]["config"]["seed"].is_number_unsigned()) << r.dump();
        drawn.push_back(r["leap"]["config"]["seed"].get<uint64_t>());
        EXPECT_LE(drawn.back(), server::kMaxDrawnSeed);
        if (i == 0) first = r;
    }
    EXPECT_NE(drawn[1], drawn[3]) << "seed -1 must draw a new seed per request";
    int status = 0;
    const json replay = post(s, chat_body("Name a prime.", {{"seed", drawn[0]}}), &status);
    ASSERT_EQ(status, 200) << replay.dump();
    EXPECT_EQ(replay["leap"]["config"]["seed"], drawn[0]);
    EXPECT_EQ(essence(replay), essence(first));
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

TEST(Serve, StreamedRequestShowsReasoningAsItIsSampledThenTheSameAnswer) {
    TestServer s;
    const std::string body = chat_body("What is 6 times 7?", {{"seed", 5}});
    const json plain = post(s, body);
    const json& message = plain["choices"][0]["message"];
    ASSERT_TRUE(message["reasoning_content"].is_string());
    EXPECT_FALSE(message["reasoning_content"].get<std::string>().empty());
    EXPECT_EQ(plain["leap"]["reasoning_path"], 0);
    int status = 0;
    json streamed_body = json::parse(body);
    streamed_body["stream"] = true;
    const auto events = read_stream(s, streamed_body.dump(), &status);
    ASSERT_EQ(status, 200);
    ASSERT_GE(events.size(), 4u);
    EXPECT_EQ(events.back(), "[DONE]");
    int segments = 0, blocks = 0, done = 0, reasoning_chunks = 0, reasoning_before_first_block = 0;
    std::string content, reasoning, role;
    json last;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        const json c = json::parse(events[i]);
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        if (c.contains("leap") && c["leap"].contains("event")) {
            const std::string e = c["leap"]["event"];
            segments += e == "segment";
            blocks += e == "block";
            if (e == "block") {  // whom the path heard, with the router's similarity for each
                const json& ev = c["leap"];
                ASSERT_TRUE(ev["scores"].is_array()) << ev.dump();
                ASSERT_EQ(ev["scores"].size(), ev["peers"].size()) << ev.dump();
                for (const auto& score : ev["scores"]) {
                    ASSERT_TRUE(score.is_number()) << ev.dump();
                    EXPECT_GE(score.get<double>(), 0.0);
                    EXPECT_LE(score.get<double>(), 1.0);
                }
            }
            done += e == "path_done";
            EXPECT_EQ(content, "") << "progress after the answer";
        }
        for (const auto& ch : c["choices"]) {
            const json& d = ch["delta"];
            if (d.contains("role")) role += d["role"].get<std::string>();
            if (d.contains("content") && d["content"].is_string()) content += d["content"].get<std::string>();
            if (d.contains("reasoning_content")) {
                EXPECT_EQ(content, "") << "reasoning after the answer";
                EXPECT_EQ(c["leap"]["path"], 0);
                reasoning += d["reasoning_content"].get<std::string>();
                ++reasoning_chunks;
                reasoning_before_first_block += blocks == 0;
            }
        }
        last = c;
    }
    EXPECT_EQ(role, "assistant");
    // Every path reports its segments, its blocks and its end.
    EXPECT_GE(segments, 2);
    EXPECT_EQ(blocks, 2 * 2);
    EXPECT_EQ(done, 2);
    // The reasoning arrives as it is sampled: in many pieces, from the first segment on, and
    // they add up to the plain response's reasoning.
    EXPECT_GE(reasoning_chunks, 5);
    EXPECT_GE(reasoning_before_first_block, 2);
    EXPECT_EQ(reasoning, message["reasoning_content"]);
    EXPECT_EQ(content, message["content"]);
    EXPECT_EQ(last["choices"][0]["finish_reason"], plain["choices"][0]["finish_reason"]);
    EXPECT_EQ(last["usage"], plain["usage"]);
    EXPECT_EQ(last["leap"], plain["leap"]);
}

TEST(Serve, StreamedPiecesAreValidUtf8AddingUpToTheWholeText) {
    // Random bytes (a model's byte tokens), cut where a stream may cut them: the pieces' valid
    // forms add up to the whole text's.
    uint64_t x = 7;
    auto next = [&] {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        return (unsigned char)(x >> 56);
    };
    const std::string alphabet = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xED\xA0\x80\xC0\xAF\xFF\x80 ";
    for (int round = 0; round < 300; ++round) {
        std::string text;
        const int n = 1 + next() % 40;
        for (int i = 0; i < n; ++i) text += next() % 4 ? alphabet[next() % alphabet.size()] : (char)next();
        std::string streamed;
        size_t sent = 0;
        for (size_t end = 1; end <= text.size(); end += 1 + next() % 3) {
            const size_t cut = server::complete_utf8_prefix(std::string_view(text).substr(0, end));
            ASSERT_GE(cut + 3, end);
            if (cut <= sent) continue;
            streamed += server::valid_utf8(std::string_view(text).substr(sent, cut - sent));
            sent = cut;
        }
        streamed += server::valid_utf8(std::string_view(text).substr(sent));
        const std::string whole = server::valid_utf8(text);
        EXPECT_EQ(streamed, whole);
        // What nlohmann's strict dump accepts: no exception, no replacement needed.
        EXPECT_NO_THROW(json(whole).dump());
    }
    EXPECT_EQ(server::valid_utf8("a\xE2\x82"), "a\xEF\xBF\xBD");
    EXPECT_EQ(server::complete_utf8_prefix("a\xE2\x82"), 1u);
    EXPECT_EQ(server::complete_utf8_prefix("a\xE2\x82\xAC"), 4u);
    EXPECT_EQ(server::complete_utf8_prefix("a\xE2\x41"), 3u);
    EXPECT_EQ(server::valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
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
    auto full = s.client().Post("/v1/chat/completions", long_body, "application/json");
    ASSERT_TRUE(full);
    EXPECT_EQ(full->status, 429);
    EXPECT_EQ(json::parse(full->body)["error"]["type"], "rate_limit_error");
    // When to come back, in whole seconds (OpenAI's SDKs wait that long before they retry).
    ASSERT_TRUE(full->has_header("Retry-After"));
    const int after = std::stoi(full->get_header_value("Retry-After"));
    EXPECT_GE(after, 1);
    EXPECT_LE(after, 600);
    a.join();
    b.join();
    // Both gave up (read timeout): the running one was cancelled, the queued one dropped.
    EXPECT_TRUE(s.wait_metric("leap_requests_running", 0));
    EXPECT_TRUE(s.wait_metric("leap_requests_queued", 0));
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
}

TEST(Serve, CorsIsOffByDefaultAndAnswersPreflightsForTheGivenOrigin) {
    const std::string body = chat_body("1+1?", {{"seed", 1}, {"max_tokens", 4}});
    {
        TestServer s;
        httplib::Headers origin = {{"Origin", "http://page.example"}};
        auto res = s.client().Post("/v1/chat/completions", origin, body, "application/json");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 200);
        EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
        auto pre = s.client().Options("/v1/chat/completions", origin);
        ASSERT_TRUE(pre);
        EXPECT_FALSE(pre->has_header("Access-Control-Allow-Origin"));
    }
    TestServer s(4, 16, "secret-key-123", 2048,
                 [](server::ServerOptions& o) { o.cors_origins = {"http://page.example"}; });
    // The preflight needs no key (browsers send none) and allows what the page asked for.
    httplib::Headers preflight = {{"Origin", "http://page.example"},
                                  {"Access-Control-Request-Method", "POST"},
                                  {"Access-Control-Request-Headers", "authorization, content-type"}};
    auto pre = s.client().Options("/v1/chat/completions", preflight);
    ASSERT_TRUE(pre);
    EXPECT_EQ(pre->status, 204);
    EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "http://page.example");
    EXPECT_NE(pre->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
    EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Headers"), "authorization, content-type");
    // The request itself, and its errors (a page must be able to read a 401).
    httplib::Client c = s.client();
    auto denied = c.Post("/v1/chat/completions", {{"Origin", "http://page.example"}}, body, "application/json");
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->status, 401);
    EXPECT_EQ(denied->get_header_value("Access-Control-Allow-Origin"), "http://page.example");
    c.set_bearer_token_auth("secret-key-123");
    auto ok = c.Post("/v1/chat/completions", {{"Origin", "http://page.example"}}, body, "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Origin"), "http://page.example");
    // Another origin gets no permission.
    auto other = c.Post("/v1/chat/completions", {{"Origin", "http://elsewhere.example"}}, body, "application/json");
    ASSERT_TRUE(other);
    EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
}

TEST(Serve, EveryRequestFieldIsHonouredOrRefusedByName) {
    server::RequestDefaults d;
    d.config = defaults_config();
    d.max_paths = 4;
    d.ctx_per_path = 2048;
    auto parse = [&](json extra) { return server::parse_chat_request(chat_body("x", std::move(extra)), d); };
    // Sampling under the names OpenAI, llama-server and vLLM use.
    const auto r = parse({{"temperature", 0.3}, {"top_p", 0.8}, {"top_k", 7}, {"min_p", 0.1}, {"seed", 9}});
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.3f);
    EXPECT_FLOAT_EQ(r.sampling.top_p, 0.8f);
    EXPECT_EQ(r.sampling.top_k, 7);
    EXPECT_FLOAT_EQ(r.sampling.min_p, 0.1f);
    EXPECT_EQ(r.config.seed, 9u);
    EXPECT_EQ(parse({{"top_k", -1}}).sampling.top_k, 0);  // vLLM's "off"
    EXPECT_EQ(parse({{"top_k", 0}}).sampling.top_k, 0);   // llama.cpp's
    // Their no-op values, which clients send with every request, are accepted.
    EXPECT_NO_THROW(parse({{"frequency_penalty", 0}, {"presence_penalty", 0.0}, {"repetition_penalty", 1},
                           {"logprobs", false}, {"response_format", {{"type", "text"}}}, {"logit_bias", json::object()},
                           {"stop", json::array()}, {"tools", json::array()}, {"tool_choice", "none"},
                           {"parallel_tool_calls", true}, {"user", "u-1"}, {"metadata", {{"k", "v"}}}}));
    // Everything else that would change the output, or that leap does not know, is refused
    // with a 400 naming the field.
    const std::vector<std::pair<std::string, json>> refused = {
        {"top_k", "abc"}, {"top_k", 1.5}, {"top_k", -2}, {"top_k", json::array()}, {"temperature", "hot"},
        {"top_p", 2}, {"min_p", -0.5}, {"logprobs", true}, {"logprobs", "yes"}, {"top_logprobs", 3},
        {"response_format", {{"type", "json_object"}}}, {"response_format", "json"},
        {"frequency_penalty", 0.5}, {"frequency_penalty", "0"}, {"presence_penalty", -1},
        {"repetition_penalty", 1.1}, {"logit_bias", {{"50256", -100}}}, {"tools", json::array({{{"type", "function"}}})},
        {"tool_choice", "required"}, {"tool_choice", {{"type", "function"}}}, {"functions", json::array({1})},
        {"stop", "\n"}, {"stop", json::array({"a"})}, {"n", 2}, {"n", "1"}, {"typical_p", 0.9}, {"mirostat", 2},
        {"reasoning_effort", "high"}, {"user", 5}, {"metadata", "m"}, {"parallel_tool_calls", "yes"}};
    for (const auto& [field, value] : refused) {
        try {
            parse({{field, value}});
            ADD_FAILURE() << field << ": " << value.dump() << " accepted";
        } catch (const server::ApiError& e) {
            EXPECT_EQ(e.status, 400);
            EXPECT_EQ(e.param, field) << e.what();
            EXPECT_EQ(std::string(e.what()).rfind(field + ":", 0), 0u) << e.what();
        }
    }
}

TEST(Serve, TopLevelTopKReachesTheSampler) {
    TestServer s;
    // top_k 1 at temperature 1 keeps only the best token: the greedy result. Without it the
    // same seed samples something else.
    const json greedy = post(s, chat_body("Name a prime.", {{"seed", 3}, {"temperature", 0}}));
    const json top1 = post(s, chat_body("Name a prime.", {{"seed", 3}, {"temperature", 1.0}, {"top_k", 1}}));
    const json free = post(s, chat_body("Name a prime.", {{"seed", 3}, {"temperature", 1.0}, {"top_k", 0}, {"top_p", 1.0},
                                                         {"min_p", 0.0}}));
    EXPECT_EQ(essence(top1), essence(greedy));
    EXPECT_NE(essence(free), essence(greedy));
    int status = 0;
    const json bad = post(s, chat_body("Name a prime.", {{"top_k", "abc"}}), &status);
    EXPECT_EQ(status, 400);
    EXPECT_EQ(bad["error"]["param"], "top_k");
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
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"moa_layout":"ref","method":"moa"}})",
        R"({"messages":[{"role":"user","content":"x"}],"leap":{"moa_layout":"reference"}})",  // not moa
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

namespace {

// Issue 29, item 5: SIGTERM drains for a bounded time. Queued requests and new ones get 503 at
// once; a running one may finish within --stop-timeout and gets 503 after it.
TEST(ServeShutdown, QueuedAndNewRequestsGet503AndTheDrainIsBounded) {
    TestServer s(/*kv_sequences=*/2, /*queue=*/8, "", 2048, [](server::ServerOptions& o) { o.stop_timeout_s = 1.5; });
    const std::string long_body = chat_body("Count to a thousand.", {{"leap", {{"segments", 8}, {"segment_tokens", 200}}}});
    struct Answer { int status = 0; std::string message; double at = 0; };
    std::vector<Answer> answers(4);
    const auto t0 = std::chrono::steady_clock::now();
    auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i) {
        clients.emplace_back([&, i] {
            auto res = s.client(60).Post("/v1/chat/completions", long_body, "application/json");
            if (!res) return;
            answers[i].status = res->status;
            answers[i].message = json::parse(res->body, nullptr, false)["error"].value("message", "");
            answers[i].at = since();
        });
        if (i == 0) ASSERT_TRUE(s.wait_metric("leap_requests_running", 1));
    }
    ASSERT_TRUE(s.wait_metric("leap_requests_queued", 3));
    const double shutdown_at = since();
    std::thread stopper([&] { s.http->shutdown(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int fresh_status = 0;
    const json fresh = post(s, chat_body("What is 1+1?"), &fresh_status);
    EXPECT_EQ(fresh_status, 503);
    EXPECT_NE(fresh["error"]["message"].get<std::string>().find("shutting down"), std::string::npos) << fresh;
    stopper.join();
    const double stopped_at = since();
    for (auto& c : clients) c.join();
    EXPECT_LT(stopped_at - shutdown_at, 1.5 + 1.0) << "the drain is not bounded";
    int not_started = 0;
    for (const Answer& a : answers) {
        EXPECT_EQ(a.status, 503) << a.message;
        if (a.message.find("had not started") != std::string::npos) {
            ++not_started;
            EXPECT_LT(a.at - shutdown_at, 1.0) << "a queued request waited for the drain";
        }
    }
    EXPECT_EQ(not_started, 3);
}

TEST(ServeShutdown, ARequestThatFinishesWithinTheDrainIsAnswered) {
    TestServer s(2, 8, "", 2048, [](server::ServerOptions& o) { o.stop_timeout_s = 60; });
    int status = 0;
    std::thread client([&] { post(s, chat_body("What is 2+2?"), &status); });
    ASSERT_TRUE(s.wait_metric("leap_requests_running", 1));
    const auto t0 = std::chrono::steady_clock::now();
    s.http->shutdown();
    client.join();
    EXPECT_EQ(status, 200);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

// Issue 29, item 8a: the status of a streamed request is known before its stream starts.
TEST(ServeHttp, AStreamedPromptThatDoesNotFitIsA400NotAStream) {
    TestServer s;
    std::string huge;
    for (int i = 0; i < 6000; ++i) huge += "word" + std::to_string(i) + " ";
    auto res = s.client().Post("/v1/chat/completions", chat_body(huge, {{"stream", true}}), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body.substr(0, 300);
    const json e = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(e.is_object()) << res->body.substr(0, 300);
    EXPECT_TRUE(e["error"]["message"].is_string());
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_TRUE(s.wait_metric("leap_kv_sequences_in_use", 0));
}

// Issue 29, item 8b: a Range header does not cut an answer into a 206.
TEST(ServeHttp, ARangeHeaderIsIgnored) {
    TestServer s;
    httplib::Headers range = {{"Range", "bytes=0-10"}};
    auto chat = s.client().Post("/v1/chat/completions", range, chat_body("What is 1+1?"), "application/json");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->status, 200);
    EXPECT_TRUE(json::parse(chat->body, nullptr, false).contains("choices")) << chat->body;
    auto models = s.client().Get("/v1/models", range);
    ASSERT_TRUE(models);
    EXPECT_EQ(models->status, 200);
    EXPECT_TRUE(json::parse(models->body, nullptr, false).contains("data")) << models->body;
    auto bad = s.client().Post("/v1/chat/completions", range, "{", "application/json");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    EXPECT_TRUE(json::parse(bad->body, nullptr, false).contains("error")) << bad->body;
}

// Issue 29, item 8c: an error quotes at most kShownValueBytes of a client's value.
TEST(ServeHttp, ErrorsDoNotEchoAHugeValueBack) {
    TestServer s;
    const std::string big(60000, 'x');
    const std::vector<std::string> bodies = {
        json({{"messages", json::array({{{"role", big}, {"content", "hi"}}})}}).dump(),
        json({{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {big, 1}}).dump(),
        json({{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"leap", {{big, 1}}}}).dump(),
        json({{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"leap", {{"method", big}}}}).dump(),
        json({{"messages", json::array({{{"role", "user"}, {"content", json::array({{{"type", big}}})}}})}}).dump(),
        "{\"messages\": \"" + big,  // an unterminated string: the parser's message quotes it
    };
    for (const std::string& body : bodies) {
        auto res = s.client().Post("/v1/chat/completions", body, "application/json");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 400);
        EXPECT_LT(res->body.size(), 1000u) << res->body.substr(0, 300);
        const json e = json::parse(res->body, nullptr, false);
        ASSERT_TRUE(e.is_object()) << res->body.substr(0, 300);
        EXPECT_NE(e["error"]["message"].get<std::string>().find("xxx"), std::string::npos) << "the value is not shown at all";
    }
    EXPECT_EQ(server::shown_value("short"), "short");
    std::string accents(151, 'a');
    for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";  // é: byte 200 is inside one
    const std::string cut = server::shown_value(accents);
    EXPECT_EQ(cut.substr(0, 199), accents.substr(0, 199));
    EXPECT_EQ(cut.substr(199), "... (351 bytes)");
}

// Issue 29, item 10: resident memory is reported, and freed memory is handed back after a burst.
TEST(ServeMemory, ResidentMemoryIsReportedAndTrimmedAfterABurst) {
    TestServer s;
    const double rss = s.metric("process_resident_memory_bytes");
    EXPECT_GT(rss, 1e6);
    EXPECT_LT(rss, 64e9);
    EXPECT_EQ(s.metric("leap_memory_trims_total"), 0);
    for (int i = 0; i < 4; ++i) s.client().Post("/v1/chat/completions", "{\"messages\": [" + std::string(50000, ' ') + "]}", "application/json");
    std::this_thread::sleep_for(std::chrono::milliseconds(2600));
    EXPECT_GE(s.metric("leap_memory_trims_total"), 1);
}

}  // namespace

// Issue 29, item 2: a request's prompt is rendered and tokenized on its own connection's
// thread (Backend::prepare), not on the engine thread. The backend below makes the big
// request's preparation wait until a small request submitted after it has been answered: if
// the preparation ran on the engine thread (as before), the small request could not run and
// the wait would time out.
class SlowPreparingBackend : public Backend {
public:
    explicit SlowPreparingBackend(LlamaEngine& inner) : inner_(inner) {}
    std::shared_ptr<const PreparedPrompt> prepare(const Problem& p, const RunConfig& c) const override {
        {
            std::lock_guard lock(mu_);
            prepare_threads_.push_back(std::this_thread::get_id());
        }
        if (p.text.find("BIG") != std::string::npos) {
            std::unique_lock lock(mu_);
            big_waited_ = cv_.wait_for(lock, std::chrono::seconds(30), [&] { return small_answered_; });
        }
        return inner_.prepare(p, c);
    }
    bool start(Submission s, Ticket* ticket) override {
        {
            std::lock_guard lock(mu_);
            engine_thread_ = std::this_thread::get_id();
            if (!s.prepared) ++unprepared_starts_;
        }
        return inner_.start(std::move(s), ticket);
    }
    bool step() override { return inner_.step(); }
    bool cancel(Ticket t) override { return inner_.cancel(t); }
    void reset() override { inner_.reset(); }
    int problems_in_flight() const override { return inner_.problems_in_flight(); }
    const ProblemRun* problem(Ticket t) const override { return inner_.problem(t); }
    std::string_view sampled_so_far(Ticket t, int path) const override { return inner_.sampled_so_far(t, path); }
    int path_capacity() const override { return inner_.path_capacity(); }
    int free_path_capacity() const override { return inner_.free_path_capacity(); }
    int n_ctx_per_path() const override { return inner_.n_ctx_per_path(); }
    const PromptSet& prompts() const override { return inner_.prompts(); }
    const RunDefaults& run_defaults() const override { return inner_.run_defaults(); }
    std::optional<KvUsage> kv_usage() const override { return inner_.kv_usage(); }
    const EngineStats& stats() const override { return inner_.stats(); }
    json stats_json() const override { return inner_.stats_json(); }

    void small_answered() {
        std::lock_guard lock(mu_);
        small_answered_ = true;
        cv_.notify_all();
    }
    LlamaEngine& inner_;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    mutable std::vector<std::thread::id> prepare_threads_;
    mutable bool big_waited_ = false;
    bool small_answered_ = false;
    std::thread::id engine_thread_;
    int unprepared_starts_ = 0;
};

TEST(ServeHttp, ALargePromptIsTokenizedOnItsOwnThreadNotTheEngines) {
    static const PromptSet prompts = PromptSet::builtin();
    EngineOptions eo;
    eo.threads = 1;
    eo.flash_attn = 0;
    eo.sampling.temperature = 0;
    eo.n_sequences = 4;
    eo.n_ctx_per_path = 2048;
    LlamaEngine engine(model(), eo, defaults_config(), prompts);
    SlowPreparingBackend backend(engine);
    server::RequestDefaults d;
    d.config = defaults_config();
    d.sampling = eo.sampling;
    d.max_paths = engine.n_sequences();
    d.ctx_per_path = engine.n_ctx_per_path();
    server::ServerOptions so;
    so.port = 0;
    so.model_name = "tiny";
    so.log_requests = false;
    server::LeapServer http(backend, d, so);
    http.bind();
    std::thread serving([&] { http.listen(); });
    auto client = [&] {
        httplib::Client c("127.0.0.1", http.port());
        c.set_read_timeout(std::chrono::seconds(120));
        return c;
    };

    int big_status = 0;
    std::thread big([&] {
        auto res = client().Post("/v1/chat/completions", chat_body("BIG: what is 3+4?"), "application/json");
        if (res) big_status = res->status;
    });
    // The big request is being prepared before the small one is sent.
    for (int i = 0; i < 300; ++i) {
        {
            std::lock_guard lock(backend.mu_);
            if (!backend.prepare_threads_.empty()) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto small = client().Post("/v1/chat/completions", chat_body("What is 1+1?"), "application/json");
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 200) << small->body.substr(0, 300);
    backend.small_answered();
    big.join();
    http.stop();
    serving.join();

    EXPECT_EQ(big_status, 200);
    EXPECT_TRUE(backend.big_waited_) << "the small request was not answered while the big one was being prepared";
    EXPECT_EQ(backend.unprepared_starts_, 0) << "the engine thread tokenized a prompt";
    ASSERT_EQ(backend.prepare_threads_.size(), 2u);
    for (const auto& t : backend.prepare_threads_) EXPECT_NE(t, backend.engine_thread_);
}
