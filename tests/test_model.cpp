// Random-weight qwen2 models (leap::make_model) load and run in llama.cpp; GGUF validation and info.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gguf.h"
#include "llama.h"
#include "model/gguf_file.h"
#include "model/make_model.h"

namespace fs = std::filesystem;

namespace {

std::string tmp_dir() {
    const fs::path d = fs::path(LEAP_TEST_TMP) / "model";
    fs::create_directories(d);
    return d.string();
}

// A file name unique to the running test (and process).
std::string tmp_path(const std::string& tag) {
    const auto* ti = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(ti->test_suite_name()) + "." + ti->name() + "." + tag + "." +
                       std::to_string(::getpid()) + ".gguf";
    std::replace(name.begin(), name.end(), '/', '_');
    return (fs::path(tmp_dir()) / name).string();
}

std::string vocab_path() { return leap::default_vocab_path(LEAP_LLAMA_DIR); }

std::string r1_template_path() {
    return (fs::path(LEAP_LLAMA_DIR) / "models" / "templates" / "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja").string();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), (std::streamsize)bytes.size());
}

leap::MakeModelOptions tiny_opts(const std::string& out, uint64_t seed = 1) {
    leap::MakeModelOptions o;
    o.out_path = out;
    o.preset = "tiny";
    o.seed = seed;
    o.vocab_path = vocab_path();
    o.n_threads = 2;
    return o;
}

// llama.cpp's log only lets warnings and errors through while a test of this file runs.
void quiet_log(ggml_log_level level, const char* text, void*) {
    static ggml_log_level last = GGML_LOG_LEVEL_INFO;
    if (level != GGML_LOG_LEVEL_CONT) last = level;
    if (last >= GGML_LOG_LEVEL_WARN) std::fputs(text, stderr);
}

class LlamaQuiet : public ::testing::Test {
protected:
    void SetUp() override {
        static std::once_flag once;
        std::call_once(once, [] { llama_backend_init(); });
        llama_log_get(&prev_cb_, &prev_ud_);
        llama_log_set(quiet_log, nullptr);
    }
    void TearDown() override { llama_log_set(prev_cb_, prev_ud_); }

private:
    ggml_log_callback prev_cb_ = nullptr;
    void* prev_ud_ = nullptr;
};

struct LoadedModel {
    llama_model* model = nullptr;
    llama_context* ctx = nullptr;
    const llama_vocab* vocab = nullptr;
    int n_vocab = 0;
    explicit LoadedModel(const std::string& path, bool vocab_only = false) {
        llama_model_params mp = llama_model_default_params();
        mp.vocab_only = vocab_only;
        model = llama_model_load_from_file(path.c_str(), mp);
        if (!model) return;
        vocab = llama_model_get_vocab(model);
        n_vocab = llama_vocab_n_tokens(vocab);
        if (vocab_only) return;
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 256;
        cp.n_batch = 256;
        cp.n_ubatch = 256;
        cp.n_threads = 2;
        cp.n_threads_batch = 2;
        ctx = llama_init_from_model(model, cp);
    }
    ~LoadedModel() {
        if (ctx) llama_free(ctx);
        if (model) llama_model_free(model);
    }
    LoadedModel(const LoadedModel&) = delete;
    LoadedModel& operator=(const LoadedModel&) = delete;

    std::vector<llama_token> tokenize(const std::string& text) const {
        std::vector<llama_token> toks(text.size() + 8);
        int n = llama_tokenize(vocab, text.c_str(), (int32_t)text.size(), toks.data(), (int32_t)toks.size(), true, true);
        if (n < 0) {
            toks.resize((size_t)-n);
            n = llama_tokenize(vocab, text.c_str(), (int32_t)text.size(), toks.data(), (int32_t)toks.size(), true, true);
        }
        toks.resize((size_t)std::max(n, 0));
        return toks;
    }
};

// Checks a logits row: n_vocab finite values, not all (nearly) equal. Returns argmax.
llama_token check_logits(const float* logits, int n_vocab) {
    EXPECT_NE(logits, nullptr);
    if (!logits) return 0;
    double sum = 0, sum2 = 0;
    float mn = logits[0], mx = logits[0];
    int n_finite = 0;
    llama_token best = 0;
    for (int i = 0; i < n_vocab; ++i) {
        const float v = logits[i];
        if (std::isfinite(v)) ++n_finite;
        sum += v;
        sum2 += (double)v * v;
        mn = std::min(mn, v);
        if (v > mx) {
            mx = v;
            best = i;
        }
    }
    EXPECT_EQ(n_finite, n_vocab);
    const double mean = sum / n_vocab;
    const double sd = std::sqrt(std::max(0.0, sum2 / n_vocab - mean * mean));
    EXPECT_GT(mx - mn, 1.0f) << "logits are all (nearly) equal";
    EXPECT_GT(sd, 0.1) << "logits have almost no spread";
    return best;
}

// Decodes a prompt and then greedily `n_gen` tokens; returns the generated tokens.
std::vector<llama_token> greedy(LoadedModel& m, const std::string& prompt, int n_gen) {
    std::vector<llama_token> toks = m.tokenize(prompt);
    EXPECT_GT(toks.size(), 1u);
    std::vector<llama_token> out;
    if (toks.empty()) return out;
    EXPECT_EQ(llama_decode(m.ctx, llama_batch_get_one(toks.data(), (int32_t)toks.size())), 0);
    for (int i = 0; i < n_gen; ++i) {
        llama_token t = check_logits(llama_get_logits_ith(m.ctx, -1), m.n_vocab);
        out.push_back(t);
        if (i + 1 < n_gen) {
            if (llama_decode(m.ctx, llama_batch_get_one(&t, 1)) != 0) {
                ADD_FAILURE() << "llama_decode failed at step " << i;
                break;
            }
        }
    }
    return out;
}

uint64_t sum_tensor_elements(const std::string& path) {
    gguf_context* c = gguf_init_from_file(path.c_str(), gguf_init_params{true, nullptr});
    if (!c) return 0;
    uint64_t total = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(c); ++i) {
        const int64_t* ne = gguf_get_tensor_ne(c, i);
        uint64_t n = 1;
        for (int d = 0; d < GGML_MAX_DIMS; ++d) n *= (uint64_t)ne[d];
        total += n;
    }
    gguf_free(c);
    return total;
}

// Expects `fn` to throw leap::Error whose message contains `path` (and `needle`, if given).
template <class F>
void expect_error(F fn, const std::string& path, const std::string& needle = "") {
    try {
        fn();
        ADD_FAILURE() << "no leap::Error thrown for " << path;
    } catch (const leap::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
        if (!needle.empty()) {
            EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
        }
    }
}

}  // namespace

// ---- make_model --------------------------------------------------------------------------------

using MakeModel = LlamaQuiet;

// Files named after `path` plus a suffix (make_model's per-process temporaries).
int temporaries_beside(const std::string& path) {
    const fs::path p(path);
    int n = 0;
    for (const auto& e : fs::directory_iterator(p.parent_path()))
        if (e.path().filename().string().rfind(p.filename().string() + ".", 0) == 0) ++n;
    return n;
}

TEST_F(MakeModel, TwoProcessesMakingOneFileLeaveAWholeModel) {
    // Parallel test processes make the same fixture model: each writes its own temporary.
    const std::string path = tmp_path("race");
    fs::remove(path);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        try {
            leap::make_model(tiny_opts(path, 7));
        } catch (...) {
            _exit(1);
        }
        _exit(0);
    }
    leap::make_model(tiny_opts(path, 7));
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(temporaries_beside(path), 0);
    LoadedModel m(path);
    EXPECT_NE(m.model, nullptr);
}

TEST_F(MakeModel, TinyLoadsDecodesAndGeneratesVariedText) {
    const std::string path = tmp_path("tiny");
    const leap::MakeModelResult r = leap::make_model(tiny_opts(path, 7));
    EXPECT_EQ(r.path, path);
    EXPECT_EQ(r.name, "leap-random-tiny");
    EXPECT_EQ(r.n_vocab, 151936);
    EXPECT_GT(r.file_size, 0u);
    ASSERT_TRUE(fs::exists(path));
    EXPECT_EQ(temporaries_beside(path), 0);

    LoadedModel m(path);
    ASSERT_NE(m.model, nullptr);
    ASSERT_NE(m.ctx, nullptr);
    EXPECT_EQ(m.n_vocab, 151936);
    EXPECT_EQ(llama_model_n_embd(m.model), 64);
    EXPECT_EQ(llama_model_n_layer(m.model), 2);
    EXPECT_EQ(llama_model_n_head(m.model), 4);
    EXPECT_EQ(llama_model_n_head_kv(m.model), 2);
    EXPECT_EQ(llama_model_n_ctx_train(m.model), 4096);
    char desc[256];
    llama_model_desc(m.model, desc, sizeof desc);
    EXPECT_NE(std::string(desc).find("qwen2"), std::string::npos) << desc;

    const std::vector<llama_token> gen = greedy(m, "The quick brown fox jumps over the lazy dog. Then", 16);
    ASSERT_EQ(gen.size(), 16u);
    const std::set<llama_token> distinct(gen.begin(), gen.end());
    EXPECT_GE(distinct.size(), 8u) << "greedy continuation is degenerate (repeats)";
    fs::remove(path);
}

TEST_F(MakeModel, SameSeedSameBytesDifferentSeedDifferentBytes) {
    const std::string a = tmp_path("a"), b = tmp_path("b"), c = tmp_path("c");
    auto opts = [](const std::string& p, uint64_t seed) {
        auto o = tiny_opts(p, seed);
        o.n_layer = 1;
        return o;
    };
    leap::make_model(opts(a, 42));
    auto ob = opts(b, 42);
    ob.n_threads = 1;  // thread count must not change the bytes
    leap::make_model(ob);
    leap::make_model(opts(c, 43));
    const std::string ba = read_file(a), bb = read_file(b), bc = read_file(c);
    ASSERT_GT(ba.size(), 1000000u);
    EXPECT_TRUE(ba == bb) << "same seed gave different files";
    EXPECT_EQ(ba.size(), bc.size());
    EXPECT_FALSE(ba == bc) << "different seeds gave the same file";
    for (const auto& p : {a, b, c}) fs::remove(p);
}

// Every weight type loads and decodes. Width 256 keeps every row a multiple of Q4_K's 256-block.
class MakeModelTypes : public LlamaQuiet, public ::testing::WithParamInterface<std::string> {};

TEST_P(MakeModelTypes, LoadsAndDecodes) {
    const std::string type = GetParam();
    const std::string path = tmp_path(type);
    auto o = tiny_opts(path, 3);
    o.type = leap::parse_weight_type(type);
    o.n_embd = 256;
    o.n_ff = 256;
    o.n_head = 4;
    o.n_head_kv = 2;
    o.n_layer = 1;
    const leap::MakeModelResult r = leap::make_model(o);
    EXPECT_EQ(r.name, "leap-random-tiny-custom");
    EXPECT_EQ(temporaries_beside(path), 0) << "a temporary (.part.PID, .f16.tmp.PID) left behind";

    const leap::GgufInfo info = leap::read_gguf_info(path);
    EXPECT_EQ(info.n_embd, 256);
    const auto has = [&](const char* t) { return info.tensor_types.count(t) > 0; };
    if (type == "f32") {
        EXPECT_EQ(info.file_type, 0);
        EXPECT_EQ(info.tensor_types.size(), 1u);
    } else if (type == "f16") {
        EXPECT_EQ(info.file_type, 1);
        EXPECT_TRUE(has("f16"));
    } else if (type == "q8_0") {
        EXPECT_EQ(info.file_type, 7);
        EXPECT_TRUE(has("q8_0"));
    } else {
        EXPECT_EQ(info.file_type, 15);  // Q4_K_M
        EXPECT_TRUE(has("q4_K"));
    }
    EXPECT_TRUE(has("f32"));  // norms and biases stay f32
    EXPECT_EQ(info.n_params, sum_tensor_elements(path));

    LoadedModel m(path);
    ASSERT_NE(m.model, nullptr);
    ASSERT_NE(m.ctx, nullptr);
    const std::vector<llama_token> toks = m.tokenize("Hello world, this is a test");
    ASSERT_GT(toks.size(), 1u);
    ASSERT_EQ(llama_decode(m.ctx, llama_batch_get_one(const_cast<llama_token*>(toks.data()), (int32_t)toks.size())), 0);
    check_logits(llama_get_logits_ith(m.ctx, -1), m.n_vocab);
    fs::remove(path);
}

INSTANTIATE_TEST_SUITE_P(MakeModel, MakeModelTypes, ::testing::Values("f32", "f16", "q8_0", "q4_k"),
                         [](const auto& info) { return info.param; });

TEST_F(MakeModel, UntiedHasOutputTensorAndRuns) {
    const std::string path = tmp_path("untied");
    auto o = tiny_opts(path, 5);
    o.tied = false;
    leap::make_model(o);
    gguf_context* c = gguf_init_from_file(path.c_str(), gguf_init_params{true, nullptr});
    ASSERT_NE(c, nullptr);
    EXPECT_GE(gguf_find_tensor(c, "output.weight"), 0);
    EXPECT_GE(gguf_find_tensor(c, "blk.1.attn_q.bias"), 0);
    EXPECT_GE(gguf_find_tensor(c, "blk.1.ffn_gate.weight"), 0);
    gguf_free(c);
    LoadedModel m(path);
    ASSERT_NE(m.ctx, nullptr);
    const std::vector<llama_token> gen = greedy(m, "One two three four", 8);
    const std::set<llama_token> distinct(gen.begin(), gen.end());
    EXPECT_GE(distinct.size(), 2u);
    fs::remove(path);
}

TEST_F(MakeModel, ChatTemplateFromVocabAndOverride) {
    const std::string a = tmp_path("vocab-template"), b = tmp_path("r1-template");
    auto oa = tiny_opts(a);
    oa.n_layer = 1;
    const leap::MakeModelResult ra = leap::make_model(oa);
    EXPECT_EQ(ra.chat_template_source, "vocab");
    {
        LoadedModel m(a, /*vocab_only=*/true);
        ASSERT_NE(m.model, nullptr);
        const char* t = llama_model_chat_template(m.model, nullptr);
        ASSERT_NE(t, nullptr);
        EXPECT_NE(std::string(t).find("<|im_start|>"), std::string::npos);  // ggml-vocab-qwen2's ChatML
    }
    auto ob = oa;
    ob.out_path = b;
    ob.chat_template_path = r1_template_path();
    const leap::MakeModelResult rb = leap::make_model(ob);
    EXPECT_EQ(rb.chat_template_source, r1_template_path());
    {
        LoadedModel m(b, /*vocab_only=*/true);
        ASSERT_NE(m.model, nullptr);
        const char* t = llama_model_chat_template(m.model, nullptr);
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(std::string(t), read_file(r1_template_path()));
    }
    const leap::GgufInfo ib = leap::read_gguf_info(b);
    EXPECT_TRUE(ib.has_chat_template);
    EXPECT_EQ(ib.chat_template_name, "deepseek-r1");
    EXPECT_EQ(leap::read_gguf_info(a).chat_template_name, "chatml");
    fs::remove(a);
    fs::remove(b);
}

TEST(MakeModelOptions, PresetsAndValidation) {
    const leap::ModelShape q = leap::preset_shape("qwen2.5-0.5b");
    EXPECT_EQ(q.n_embd, 896);
    EXPECT_EQ(q.n_layer, 24);
    EXPECT_EQ(q.n_head, 14);
    EXPECT_EQ(q.n_head_kv, 2);
    EXPECT_EQ(q.n_ff, 4864);
    EXPECT_EQ(q.n_ctx, 32768);
    EXPECT_FLOAT_EQ(q.rope_base, 1e6f);
    EXPECT_TRUE(q.tied);
    const leap::ModelShape r15 = leap::preset_shape("r1-distill-1.5b");
    EXPECT_EQ(r15.n_embd, 1536);
    EXPECT_EQ(r15.n_layer, 28);
    EXPECT_EQ(r15.n_head, 12);
    EXPECT_EQ(r15.n_ff, 8960);
    EXPECT_EQ(r15.n_ctx, 131072);
    EXPECT_FALSE(r15.tied);
    const leap::ModelShape r7 = leap::preset_shape("r1-distill-7b");
    EXPECT_EQ(r7.n_embd, 3584);
    EXPECT_EQ(r7.n_head, 28);
    EXPECT_EQ(r7.n_head_kv, 4);
    EXPECT_EQ(r7.n_ff, 18944);
    EXPECT_FALSE(r7.tied);
    for (const auto& p : leap::preset_names()) EXPECT_NO_THROW(leap::validate_shape(leap::preset_shape(p))) << p;
    expect_error([] { leap::preset_shape("gpt-5"); }, "gpt-5");
    expect_error([] { leap::parse_weight_type("q3_k"); }, "q3_k");

    leap::ModelShape s = leap::preset_shape("tiny");
    s.n_head = 5;  // 64 % 5 != 0
    expect_error([&] { leap::validate_shape(s); }, "--n-head");
    s = leap::preset_shape("tiny");
    s.n_head_kv = 3;
    expect_error([&] { leap::validate_shape(s); }, "--n-head-kv");
    s = leap::preset_shape("tiny");
    s.n_layer = 0;
    expect_error([&] { leap::validate_shape(s); }, "--n-layer");
}

TEST(MakeModelOptions, MissingInputsNameTheFile) {
    const std::string out = (fs::path(tmp_dir()) / "never-written.gguf").string();
    auto o = tiny_opts(out);
    o.vocab_path = (fs::path(tmp_dir()) / "no-such-vocab.gguf").string();
    expect_error([&] { leap::make_model(o); }, o.vocab_path);
    o = tiny_opts(out);
    o.chat_template_path = (fs::path(tmp_dir()) / "no-such-template.jinja").string();
    expect_error([&] { leap::make_model(o); }, o.chat_template_path);
    o = tiny_opts((fs::path(tmp_dir()) / "no-such-dir" / "x.gguf").string());
    expect_error([&] { leap::make_model(o); }, "no-such-dir");
    EXPECT_FALSE(fs::exists(out));
}

// ---- gguf_file ---------------------------------------------------------------------------------

class GgufFile : public LlamaQuiet {
protected:
    // One tiny model (f16) shared by the tests of this suite.
    static void SetUpTestSuite() {
        const fs::path d = fs::path(tmp_dir());
        model_ = (d / ("gguf-suite." + std::to_string(::getpid()) + ".gguf")).string();
        auto o = tiny_opts(model_, 11);
        result_ = leap::make_model(o);
    }
    static void TearDownTestSuite() { fs::remove(model_); }
    static std::string model_;
    static leap::MakeModelResult result_;
};
std::string GgufFile::model_;
leap::MakeModelResult GgufFile::result_;

TEST_F(GgufFile, InfoReportsShapeAndParams) {
    const leap::GgufInfo i = leap::read_gguf_info(model_);
    EXPECT_EQ(i.architecture, "qwen2");
    EXPECT_EQ(i.name, "leap-random-tiny");
    EXPECT_EQ(i.n_embd, 64);
    EXPECT_EQ(i.n_layer, 2);
    EXPECT_EQ(i.n_head, 4);
    EXPECT_EQ(i.n_head_kv, 2);
    EXPECT_EQ(i.n_ff, 128);
    EXPECT_EQ(i.n_ctx_train, 4096);
    EXPECT_DOUBLE_EQ(i.rope_freq_base, 1e6);
    EXPECT_EQ(i.n_vocab, 151936);
    EXPECT_EQ(i.tokenizer_model, "gpt2");
    EXPECT_EQ(i.tokenizer_pre, "qwen2");
    EXPECT_TRUE(i.has_chat_template);
    EXPECT_EQ(i.file_type, 1);
    EXPECT_EQ(i.file_type_name, "F16");
    EXPECT_EQ(i.leap_preset, "tiny");
    ASSERT_TRUE(i.leap_seed.has_value());
    EXPECT_EQ(*i.leap_seed, 11u);
    EXPECT_EQ(i.file_size, fs::file_size(model_));

    // Parameter count: the sum of the tensors' element counts, and the qwen2 formula (tied).
    EXPECT_EQ(i.n_params, sum_tensor_elements(model_));
    EXPECT_EQ(i.n_params, result_.n_params);
    const uint64_t E = 64, L = 2, F = 128, KV = 32, V = 151936;
    const uint64_t per_block = E + (E * E + E) + 2 * (E * KV + KV) + E * E + E + 3 * E * F;
    EXPECT_EQ(i.n_params, V * E + L * per_block + E);
    EXPECT_EQ(i.n_tensors, 1 + 12 * 2 + 1);
    EXPECT_EQ(i.tensor_types.at("f16").n_tensors, 1 + 7 * 2);  // token_embd + 7 matrices per block
    EXPECT_EQ(i.tensor_types.at("f32").n_tensors, 5 * 2 + 1);  // 2 norms + 3 biases per block, output_norm

    const std::string text = leap::format_gguf_info(i);
    EXPECT_NE(text.find("qwen2"), std::string::npos);
    EXPECT_NE(text.find("151936"), std::string::npos);
    const nlohmann::json j = leap::gguf_info_json(i);
    EXPECT_EQ(j.at("architecture"), "qwen2");
    EXPECT_EQ(j.at("n_params"), i.n_params);
    EXPECT_EQ(j.at("leap_seed"), 11u);
}

TEST_F(GgufFile, CheckAcceptsGoodFiles) {
    EXPECT_NO_THROW(leap::check_gguf_file(model_));
    EXPECT_NO_THROW(leap::check_gguf_file(vocab_path()));  // vocab-only: no tensors
}

TEST_F(GgufFile, CheckRejectsMissingDirectoryEmptyAndNonGguf) {
    const std::string missing = (fs::path(tmp_dir()) / "does-not-exist.gguf").string();
    expect_error([&] { leap::check_gguf_file(missing); }, missing, "not found");

    const std::string dir = (fs::path(tmp_dir()) / "a-directory.gguf").string();
    fs::create_directories(dir);
    expect_error([&] { leap::check_gguf_file(dir); }, dir, "directory");

    const std::string empty = tmp_path("empty");
    write_file(empty, "");
    expect_error([&] { leap::check_gguf_file(empty); }, empty, "empty");

    const std::string text = tmp_path("text");
    write_file(text, "this is not a model\n");
    expect_error([&] { leap::check_gguf_file(text); }, text, "not a GGUF file");

    const std::string short_file = tmp_path("short");
    write_file(short_file, "GG");
    expect_error([&] { leap::check_gguf_file(short_file); }, short_file, "not a GGUF file");
    expect_error([&] { leap::read_gguf_info(text); }, text, "not a GGUF file");
    for (const auto& p : {empty, text, short_file}) fs::remove(p);
    std::error_code ec;
    fs::remove(dir, ec);  // another process may be using it (ctest -j)
}

TEST_F(GgufFile, CheckRejectsTruncatedFiles) {
    const std::string bytes = read_file(model_);
    const leap::GgufInfo info = leap::read_gguf_info(model_);
    ASSERT_GT(bytes.size(), info.data_offset);

    // Cut inside the tensor data: the header is intact, the data is not.
    const std::string half = tmp_path("half");
    const size_t cut = info.data_offset + (bytes.size() - info.data_offset) / 2;
    write_file(half, bytes.substr(0, cut));
    expect_error([&] { leap::check_gguf_file(half); }, half, "truncated");
    expect_error([&] { leap::read_gguf_info(half); }, half, "truncated");

    // The first half of the bytes, whatever that cuts.
    const std::string first_half = tmp_path("first-half");
    write_file(first_half, bytes.substr(0, bytes.size() / 2));
    expect_error([&] { leap::check_gguf_file(first_half); }, first_half);

    // Cut inside the header (in the tokenizer's KV arrays): ggml's reader fails.
    const std::string in_header = tmp_path("in-header");
    write_file(in_header, bytes.substr(0, 100000));
    expect_error([&] { leap::check_gguf_file(in_header); }, in_header, "header");

    // One byte short.
    const std::string one_short = tmp_path("one-short");
    write_file(one_short, bytes.substr(0, bytes.size() - 1));
    expect_error([&] { leap::check_gguf_file(one_short); }, one_short, "truncated");
    for (const auto& p : {half, first_half, in_header, one_short}) fs::remove(p);
}

TEST(GgufFormat, ChatTemplateNames) {
    EXPECT_EQ(leap::describe_chat_template("{{ '<|im_start|>' }}"), "chatml");
    EXPECT_EQ(leap::describe_chat_template("{{ '<|im_start|>' }}<think>"), "chatml+think (qwq/qwen3 style)");
    EXPECT_EQ(leap::describe_chat_template(read_file(r1_template_path())), "deepseek-r1");
    EXPECT_EQ(leap::describe_chat_template("\n\nhello {{ x }}\nmore"), "unrecognised, starts with: hello {{ x }}");
    EXPECT_EQ(leap::ftype_name(15), "Q4_K - Medium");
    EXPECT_EQ(leap::format_bytes(3 << 20), "3.0 MiB");
    EXPECT_EQ(leap::format_count(494032768), "494.0M");
}
