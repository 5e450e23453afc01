// Hostile settings and damaged files (issue 29, docs/reliability.md): each gets a clear
// leap::Error naming the culprit, never an abort inside llama.cpp, and nothing is counted that
// should not be.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "backends/llama/engine.h"
#include "backends/llama/model.h"
#include "core/error.h"
#include "core/seed_text.h"
#include "eval/dataset.h"
#include "eval/metrics.h"
#include "eval/outcome.h"
#include "eval/results.h"
#include "fixtures.h"
#include "gguf.h"
#include "model/gguf_file.h"

namespace {

using namespace leap;
namespace fs = std::filesystem;

std::string tmp_path(const std::string& name) {
    const fs::path d = fs::path(LEAP_TEST_TMP) / "reliability";
    fs::create_directories(d);
    return (d / name).string();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// The message of the leap::Error `f` throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

#define EXPECT_ERROR_HAS(expr, text)                                           \
    do {                                                                       \
        const std::string msg_ = error_of([&] { (void)(expr); });              \
        EXPECT_NE(msg_.find(text), std::string::npos) << "error: '" << msg_ << "'"; \
    } while (0)

const std::string& tiny_path() {
    static const std::string path = test::make_tiny_f32_model("reliability-tiny-f32.gguf", 11);
    return path;
}

LlamaModel& tiny_model() {
    static LlamaModel model([] {
        ModelOptions mo;
        mo.path = tiny_path();
        mo.n_gpu_layers = 0;
        return mo;
    }());
    return model;
}

RunConfig small_config(int n_paths) {
    RunConfig c;
    c.n_paths = n_paths;
    c.segment_tokens = 12;
    c.segments = 2;
    c.summary_tokens = 8;
    c.answer_tokens = 8;
    c.write_up_tokens = 16;
    return c;
}

// --- engine settings (item 3) --------------------------------------------------------------

TEST(EngineSettings, ValuesLlamaCppWouldAbortOnOrTakeSilentlyAreRefused) {
    EngineOptions ok;
    EXPECT_EQ(error_of([&] { ok.validate(); }), "");
    for (int fa : {2, 5, -2}) {
        EngineOptions o;
        o.flash_attn = fa;
        EXPECT_ERROR_HAS(o.validate(), "--flash-attn");
    }
    for (int t : {10000, -1, max_threads() + 1}) {
        EngineOptions o;
        o.threads = t;
        EXPECT_ERROR_HAS(o.validate(), "--threads");
    }
    {
        EngineOptions o;
        o.threads = max_threads();
        EXPECT_EQ(error_of([&] { o.validate(); }), "");
    }
    EXPECT_LE(max_threads(), 512);
    EngineOptions o;
    o.sampling.temperature = std::nanf("");
    EXPECT_ERROR_HAS(o.validate(), "--temp");
    o = EngineOptions();
    o.sampling.temperature = INFINITY;
    EXPECT_ERROR_HAS(o.validate(), "--temp");
    o = EngineOptions();
    o.sampling.top_p = 2;
    EXPECT_ERROR_HAS(o.validate(), "--top-p");
    o = EngineOptions();
    o.sampling.min_p = -1;
    EXPECT_ERROR_HAS(o.validate(), "--min-p");
    o = EngineOptions();
    o.sampling.top_p = std::nanf("");
    EXPECT_ERROR_HAS(o.validate(), "--top-p");
    o = EngineOptions();
    o.kv_size = 64;  // without --kv-unified it would be ignored
    EXPECT_ERROR_HAS(o.validate(), "--kv-unified");
}

// A chat template that loops, recurses or builds a huge value: llama.cpp's Jinja engine had no
// bound (patches/llama.cpp-jinja-bounds.patch), so loading the model or rendering a problem hung,
// crashed (stack overflow) or ran out of memory. Each now ends with an error naming the template
// and the bound it passed.
TEST(EngineSettings, ALoopingChatTemplateEndsWithAnErrorNotAHang) {
    const std::string user = "{{ messages[0]['content'] }}";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{% for i in range(1000000000000) %}x{% endfor %}" + user, "range() of more than"},
        {"{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}" + user,
         "steps (a loop that does not end?)"},
        {"{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}" + user, "nested more than"},
        {"{% set ns = namespace(s='abcd') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
         "{{ ns.s }}" + user,
         "a string longer than"},
        {"{{ 'abcd' * 100000000000 }}" + user, "a string longer than"},
    };
    int k = 0;
    for (const auto& [text, bound] : cases) {
        SCOPED_TRACE(text);
        const std::string file = tmp_path("looping-" + std::to_string(k++) + ".jinja");
        write_text(file, text);
        ModelOptions mo;
        mo.path = tiny_path();
        mo.n_gpu_layers = 0;
        mo.chat_template_file = file;
        std::string msg = error_of([&] {
            LlamaModel model(mo);
            (void)model.render_prompt("What is 1+1?");
        });
        EXPECT_NE(msg.find(file), std::string::npos) << msg;
        EXPECT_NE(msg.find(bound), std::string::npos) << msg;
    }
}

TEST(EngineSettings, SeedsOutsideTheRangeAreRefusedNotWrapped) {
    for (const char* bad : {"-1", "18446744073709551616", "1e23", "", "0x10", "+5", "1.5", "99999999999999999999999"}) {
        EXPECT_NE(seed_problem(bad), "") << bad;
        EXPECT_FALSE(parse_seed(bad).has_value()) << bad;
    }
    EXPECT_NE(seed_problem("-1").find("random"), std::string::npos);  // says why -1 is not llama.cpp's
    EXPECT_EQ(seed_problem("0"), "");
    EXPECT_EQ(parse_seed("18446744073709551615").value(), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(parse_seed("42").value(), 42u);
}

TEST(EngineSettings, BatchSmallerThanTheSequencesIsRefusedBeforeAContext) {
    const PromptSet prompts = PromptSet::builtin();
    {  // -b 3 with 4 paths: llama.cpp aborted in llama_decode (n_outputs_max)
        EngineOptions eo;
        eo.n_batch = 3;
        eo.threads = 1;
        EXPECT_ERROR_HAS(LlamaEngine(tiny_model(), eo, small_config(4), prompts), "--batch-size");
    }
    {  // leap serve -n 2 -b 2 --kv-sequences 8
        EngineOptions eo;
        eo.n_batch = 2;
        eo.n_sequences = 8;
        eo.threads = 1;
        EXPECT_ERROR_HAS(LlamaEngine(tiny_model(), eo, small_config(2), prompts), "at least 8");
    }
    {  // the same batch is fine when it holds a token of every sequence
        EngineOptions eo;
        eo.n_batch = 4;
        eo.threads = 1;
        EXPECT_EQ(error_of([&] { LlamaEngine(tiny_model(), eo, small_config(4), prompts); }), "");
    }
}

TEST(EngineSettings, UnifiedKvSizeTooSmallForAnAnswerIsRefused) {
    const PromptSet prompts = PromptSet::builtin();
    for (int kv : {1, 2, 8, 16}) {
        EngineOptions eo;
        eo.kv_unified = true;
        eo.kv_size = kv;
        eo.threads = 1;
        EXPECT_ERROR_HAS(LlamaEngine(tiny_model(), eo, small_config(4), prompts), "--kv-size");
    }
    // Room for an answer but fewer cells than sequences: llama.cpp caps its batch at the cache's
    // size and aborted making the context (n_outputs_max).
    EngineOptions eo;
    eo.kv_unified = true;
    eo.kv_size = 250;
    eo.n_sequences = 256;
    eo.threads = 1;
    EXPECT_ERROR_HAS(LlamaEngine(tiny_model(), eo, small_config(4), prompts), "caps the batch");
}

// --- context from the longest prompt (item 7) -----------------------------------------------

TEST(EngineContext, SizedFromTheLongestPromptOfTheRun) {
    const PromptSet prompts = PromptSet::builtin();
    const RunConfig c = small_config(2);
    Problem long_problem;
    long_problem.id = "long";
    for (int i = 0; i < 800; ++i) long_problem.text += "word" + std::to_string(i) + " ";
    const int n = prompt_tokens(tiny_model(), prompts, c, long_problem);
    // Longer than the 1,024 tokens the budgets assume for a prompt, shorter than the model's 4,096.
    ASSERT_GT(n, 1800);
    ASSERT_LT(n, 3500);
    EngineOptions plain;
    plain.threads = 1;
    LlamaEngine without(tiny_model(), plain, c, prompts);
    EngineOptions sized = plain;
    sized.longest_prompt = n;
    LlamaEngine with(tiny_model(), sized, c, prompts);
    EXPECT_LT(without.prompt_limit(), n) << "the test needs a prompt the old sizing could not hold";
    EXPECT_GE(with.prompt_limit(), n);
    EXPECT_LE(with.n_ctx_per_path(), std::max(tiny_model().n_ctx_train(), 512) + 255);  // capped (padded to 256)
}

// --- corrupt GGUF metadata (item 4) ---------------------------------------------------------

// A copy of the tiny model with `edit` applied to its metadata: the edited header, then the
// original tensor data (its offsets are relative to the data section, so they stay valid).
template <class Edit>
std::string corrupt_copy(const std::string& name, Edit&& edit) {
    gguf_context* g = gguf_init_from_file(tiny_path().c_str(), gguf_init_params{true, nullptr});
    EXPECT_NE(g, nullptr);
    const size_t data_offset = gguf_get_data_offset(g);
    edit(g);
    const std::string out = tmp_path(name);
    EXPECT_TRUE(gguf_write_to_file(g, out.c_str(), /*only_meta=*/true));
    gguf_free(g);
    std::ifstream in(tiny_path(), std::ios::binary);
    in.seekg((std::streamoff)data_offset);
    std::ofstream(out, std::ios::binary | std::ios::app) << in.rdbuf();
    return out;
}

void expect_refused(const std::string& path, const std::string& field) {
    const std::string info = error_of([&] { read_gguf_info(path); });
    EXPECT_NE(info.find(path), std::string::npos) << info;
    EXPECT_NE(info.find(field), std::string::npos) << info;
    // What `leap solve` loads: the same message, before llama.cpp's loader could abort.
    ModelOptions mo;
    mo.path = path;
    mo.n_gpu_layers = 0;
    EXPECT_EQ(error_of([&] { LlamaModel m(mo); }), info);
}

TEST(GgufMetadata, WhatTheLoaderAssertsOnIsRefusedByInfoAndLoad) {
    expect_refused(corrupt_copy("layers0.gguf", [](gguf_context* g) { gguf_set_val_u32(g, "qwen2.block_count", 0); }),
                   "qwen2.block_count");
    expect_refused(corrupt_copy("layers600.gguf", [](gguf_context* g) { gguf_set_val_u32(g, "qwen2.block_count", 600); }),
                   "qwen2.block_count");
    expect_refused(corrupt_copy("eps-nan.gguf",
                                [](gguf_context* g) {
                                    gguf_set_val_f32(g, "qwen2.attention.layer_norm_rms_epsilon", std::nanf(""));
                                }),
                   "layer_norm_rms_epsilon");
    expect_refused(corrupt_copy("eps-neg.gguf",
                                [](gguf_context* g) { gguf_set_val_f32(g, "qwen2.attention.layer_norm_rms_epsilon", -1e-6f); }),
                   "layer_norm_rms_epsilon");
    expect_refused(corrupt_copy("heads0.gguf", [](gguf_context* g) { gguf_set_val_u32(g, "qwen2.attention.head_count", 0); }),
                   "qwen2.attention.head_count");
    expect_refused(corrupt_copy("rope-base-neg.gguf", [](gguf_context* g) { gguf_set_val_f32(g, "qwen2.rope.freq_base", -1.0f); }),
                   "qwen2.rope.freq_base");
    expect_refused(corrupt_copy("rope-base-inf.gguf",
                                [](gguf_context* g) {
                                    gguf_set_val_f32(g, "qwen2.rope.freq_base", std::numeric_limits<float>::infinity());
                                }),
                   "qwen2.rope.freq_base");
    expect_refused(corrupt_copy("experts.gguf", [](gguf_context* g) { gguf_set_val_u32(g, "qwen2.expert_used_count", 2); }),
                   "qwen2.expert_used_count");
    expect_refused(corrupt_copy("dup-token.gguf",
                                [](gguf_context* g) {
                                    const int64_t id = gguf_find_key(g, "tokenizer.ggml.tokens");
                                    const size_t n = gguf_get_arr_n(g, id);
                                    std::vector<std::string> texts(n);
                                    for (size_t i = 0; i < n; ++i) texts[i] = gguf_get_arr_str(g, id, i);
                                    texts[n - 1] = texts[n - 2];  // a flipped bit made two strings equal
                                    std::vector<const char*> ptrs;
                                    for (const auto& t : texts) ptrs.push_back(t.c_str());
                                    gguf_set_arr_str(g, "tokenizer.ggml.tokens", ptrs.data(), (int)n);
                                }),
                   "tokenizer.ggml.tokens");
    // The untouched model passes the same checks.
    EXPECT_EQ(error_of([] { read_gguf_info(tiny_path()); }), "");
}

// --- results files (item 6) -----------------------------------------------------------------

nlohmann::json result_line(const std::string& id, std::vector<bool> correct, bool vote) {
    nlohmann::json paths = nlohmann::json::array();
    for (bool c : correct) paths.push_back({{"answer", c ? "1" : "2"}, {"correct", c}});
    return {{"id", id},
            {"paths", paths},
            {"vote", {{"correct", vote}}},
            {"shortest_majority", {{"correct", vote}}},
            {"tokens", {{"reasoning", 10}}}};
}

TEST(ResultsOutcomes, ALineOfAnotherProblemIsNotCountedAndNamedWithFileAndLine) {
    const std::string path = tmp_path("foreign.jsonl");
    write_text(path, result_line("a-0", {true, false}, true).dump() + "\n" + result_line("zz-9", {true, true}, true).dump() +
                         "\n" + result_line("a-1", {false, false}, false).dump() + "\n");
    ResultsFile results(path);
    std::vector<std::string> warnings;
    const auto outcomes = dataset_outcomes(results, {"a-0", "a-1"}, warnings);
    EXPECT_EQ(outcomes.size(), 2u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find(path), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("line 2"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("zz-9"), std::string::npos) << warnings[0];
}

TEST(ResultsOutcomes, AWrongFieldTypeNamesFileAndLine) {
    const std::string path = tmp_path("wrong-type.jsonl");
    nlohmann::json bad = result_line("a-1", {true}, true);
    bad["paths"] = "not a list";
    write_text(path, result_line("a-0", {true}, true).dump() + "\n" + bad.dump() + "\n");
    ResultsFile results(path);
    std::vector<std::string> warnings;
    const std::string msg = error_of([&] { dataset_outcomes(results, {"a-0", "a-1"}, warnings); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
}

// Found by fuzz/fuzz_results.cpp (fuzz/corpus/results/regress-token-count-1e42.jsonl): a count
// too large for a long was converted anyway (undefined behaviour), and a negative n_paths of an
// unfit line sized a vector of 2^64 entries.
TEST(ResultsOutcomes, ACountOutOfRangeNamesFileAndLine) {
    for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
             {"tokens", {{"reasoning", 7.7e41}}}, {"tokens", {{"reasoning", -3}}}, {"tokens", {{"reasoning", "9"}}},
             {"n_paths", -1}, {"n_paths", 1e30}}) {
        const std::string path = tmp_path("count.jsonl");
        nlohmann::json bad = result_line("a-1", {true}, true);
        if (field == "n_paths") {
            bad = {{"id", "a-1"}, {"unfit", "too long"}, {"n_paths", value}, {"paths", nlohmann::json::array()},
                   {"tokens", {{"prompt", 9000}}}};
        } else {
            bad[field] = value;
        }
        write_text(path, result_line("a-0", {true}, true).dump() + "\n" + bad.dump() + "\n");
        ResultsFile results(path);
        std::vector<std::string> warnings;
        const std::string msg = error_of([&] { dataset_outcomes(results, {"a-0", "a-1"}, warnings); });
        EXPECT_NE(msg.find(path), std::string::npos) << value << ": " << msg;
        EXPECT_NE(msg.find("line 2"), std::string::npos) << value << ": " << msg;
        EXPECT_NE(msg.find(field), std::string::npos) << value << ": " << msg;
    }
}

TEST(ResultsOutcomes, TheBootstrapDoesNotDependOnLineOrder) {
    std::vector<nlohmann::json> lines;
    std::set<std::string> ids;
    for (int i = 0; i < 40; ++i) {
        const std::string id = "p-" + std::to_string(i);
        ids.insert(id);
        lines.push_back(result_line(id, {i % 3 == 0, i % 5 == 0, i % 2 == 0}, i % 2 == 0));
    }
    auto summary_of = [&](const std::string& name, const std::vector<nlohmann::json>& order) {
        const std::string path = tmp_path(name);
        std::string text;
        for (const auto& l : order) text += l.dump() + "\n";
        write_text(path, text);
        ResultsFile results(path);
        std::vector<std::string> warnings;
        return summarize(dataset_outcomes(results, ids, warnings), {});
    };
    const Summary a = summary_of("order-a.jsonl", lines);
    std::vector<nlohmann::json> shuffled = lines;
    for (size_t i = 0; i < shuffled.size(); ++i) std::swap(shuffled[i], shuffled[(i * 7 + 3) % shuffled.size()]);
    const Summary b = summary_of("order-b.jsonl", shuffled);
    EXPECT_EQ(a.pass1.lo, b.pass1.lo);
    EXPECT_EQ(a.pass1.hi, b.pass1.hi);
    EXPECT_EQ(a.cons.lo, b.cons.lo);
    EXPECT_EQ(a.cons.hi, b.cons.hi);
}

TEST(ResultsOutcomes, AnUnfitProblemCountsAsAllPathsWrong) {
    Item item;
    item.problem.id = "big";
    item.answer = "7";
    const nlohmann::json line = unfit_line(item, "b", 3, 4, 5000, "its prompt takes 5000 tokens");
    const ProblemOutcome o = outcome_of(line);
    EXPECT_EQ(o.correct, std::vector<bool>(4, false));
    EXPECT_FALSE(o.consensus_correct);
    EXPECT_EQ(o.tokens.at("prompt"), 5000);
    EXPECT_EQ(line.at("unfit"), "its prompt takes 5000 tokens");
}

// --- datasets (item 7) ----------------------------------------------------------------------

TEST(DatasetFiles, AnOutOfRangeNumberNamesTheFile) {
    const std::string arr = tmp_path("overflow.json");
    write_text(arr, R"([{"problem": "x", "answer": 1e400}])");
    EXPECT_ERROR_HAS(load_dataset(arr), arr);
    const std::string lines = tmp_path("overflow.jsonl");
    write_text(lines, "{\"problem\": \"x\", \"answer\": 1}\n{\"problem\": \"y\", \"answer\": 1e400}\n");
    EXPECT_ERROR_HAS(load_dataset(lines), lines + ":2");
}

TEST(DatasetFiles, AFifoIsRefusedWithoutBlocking) {
    const std::string fifo = tmp_path("bench.fifo");
    fs::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
    EXPECT_ERROR_HAS(load_dataset(fifo), "not a regular file");  // before: the read waited for a writer
    fs::remove(fifo);
}

TEST(DatasetFiles, AHugeProblemFailsFastNamingFileAndItem) {
    const std::string path = tmp_path("huge.jsonl");
    const std::string big(2u << 20, 'x');
    write_text(path, "{\"problem\": \"small\", \"answer\": 1}\n{\"problem\": \"" + big + "\", \"answer\": 1}\n");
    const auto t0 = std::chrono::steady_clock::now();
    const std::string msg = error_of([&] { load_dataset(path); });
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
    EXPECT_NE(msg.find(path + ":2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at most"), std::string::npos) << msg;
}

}  // namespace
