// The thinking format of reasoning models: what leap reads from a chat template (through
// llama.cpp's chat code), what it does with it (segment stops, the opening of the section, the
// answer after it, forced answers that stop once complete), and a matrix over every chat template
// llama.cpp ships, each run on a generated model.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "backends/llama/engine.h"
#include "backends/llama/model.h"
#include "core/run_problems.h"
#include "core/answer.h"
#include "core/thinking.h"
#include "eval/grader.h"
#include "model/make_model.h"
#include "scripted_backend.h"

namespace {

using namespace leap;
namespace fs = std::filesystem;
using leap_test::kEos;
using leap_test::ScriptCall;
using leap_test::ScriptedBackend;

// ---- derive_thinking_format on renderings written by hand ------------------------------------

TemplateRenders renders(std::string plain, std::string in_reasoning, std::string in_content, std::string start,
                        std::vector<std::string> ends) {
    TemplateRenders r;
    r.user_sentinel = "U";
    r.reasoning_sentinel = "R";
    r.content_sentinel = "C";
    r.plain = std::move(plain);
    r.in_reasoning = std::move(in_reasoning);
    r.in_content = std::move(in_content);
    r.supports_thinking = true;
    r.start_tag = std::move(start);
    r.end_tags = std::move(ends);
    return r;
}

TEST(ThinkingFormat, R1OpensItsOwnSection) {
    const auto f = derive_thinking_format(
        renders("<|User|>U<|Assistant|><think>\n", "<|User|>U<|Assistant|><think>R", "<|User|>U<|Assistant|><think>R</think>C",
                "<think>", {"</think>"}),
        nullptr);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->template_opens);
    EXPECT_EQ(f->ends, std::vector<std::string>{"</think>"});
    EXPECT_EQ(f->close, "</think>");
    EXPECT_EQ(f->marker(), "</think>");
    EXPECT_EQ(f->after_end("</think>"), "");
}

TEST(ThinkingFormat, Qwen3LeavesItClosedAndWritesWhitespaceAroundTheEnd) {
    const auto f = derive_thinking_format(
        renders("<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n",
                "<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<think>\nR",
                "<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<think>\nR\n</think>\n\nC", "<think>", {"</think>"}),
        nullptr);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->template_opens);
    EXPECT_EQ(f->close, "\n</think>\n\n");
    EXPECT_EQ(f->marker(), "</think>");
}

TEST(ThinkingFormat, GptOssAnswersInItsFinalChannel) {
    const auto f = derive_thinking_format(
        renders("<|start|>user<|message|>U<|end|><|start|>assistant",
                "<|start|>user<|message|>U<|end|><|start|>assistant<|channel|>analysis<|message|>R",
                "<|start|>user<|message|>U<|end|><|start|>assistant<|channel|>analysis<|message|>R<|end|><|start|>"
                "assistant<|channel|>final<|message|>C",
                "<|channel|>analysis<|message|>", {"<|end|>"}),
        nullptr);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->template_opens);
    EXPECT_EQ(f->ends, std::vector<std::string>{"<|end|>"});
    EXPECT_EQ(f->after_end("<|end|>"), "<|start|>assistant<|channel|>final<|message|>");
    const std::string text = "think<|end|><|start|>assistant<|channel|>final<|message|>The answer is 4.";
    EXPECT_EQ(text.substr(f->answer_start(text)), "The answer is 4.");
    const ThinkingSplit s = split_thinking(text, *f);
    EXPECT_EQ(s.reasoning, "think");
    EXPECT_EQ(s.content, "The answer is 4.");
}

TEST(ThinkingFormat, AClosedEmptySectionInTheGenerationPromptIsNotOpen) {
    // Hy3's generation prompt writes an empty, closed section; the reasoning continues inside one.
    const auto f = derive_thinking_format(
        renders("U<A><t></t>", "U<A><t>R", "U<A><t>R</t>C", "<t>", {"</t>"}), nullptr);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->template_opens);
}

TEST(ThinkingFormat, AnOpenSectionFollowedByTemplateTextIsOpen) {
    // Apriel: the start tag, then "Here are my reasoning steps:" in the generation prompt.
    const auto f = derive_thinking_format(
        renders("U\n<ba>\nHere are my steps:\n", "U\n<ba>\nR", "U\n<ba>\nR\n[FINAL]\nC", "<ba>", {"[FINAL]"}), nullptr);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->template_opens);
    EXPECT_EQ(f->marker(), "[FINAL]");
}

TEST(ThinkingFormat, ToolCallTagsAreNotEndsOfThinking) {
    const auto f = derive_thinking_format(
        renders("U<a>\n<think>\n", "U<a>\n<think>\nR", "U<a>\n<think>\nR\n</think>\n\nC", "<think>", {"</think>", "<tool_call>"}),
        nullptr);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->ends, std::vector<std::string>{"</think>"});
}

TEST(ThinkingFormat, NoSectionNoFormat) {
    TemplateRenders r = renders("U<a>", "U<a>", "U<a>C", "", {});
    r.supports_thinking = false;
    std::string why;
    EXPECT_FALSE(derive_thinking_format(r, &why));
    EXPECT_NE(why.find("no thinking section"), std::string::npos) << why;
    // A template that drops the reasoning when it renders an answer shows none either.
    r.supports_thinking = true;
    EXPECT_FALSE(derive_thinking_format(r, &why));
}

TEST(ThinkingFormat, WithoutAStartTagTheContinuationDecides) {
    // A server's /apply-template gives the renderings but not llama.cpp's tags.
    auto f = derive_thinking_format(renders("U<a>", "U<a><r>R", "U<a><r>R<e><f>C", "", {}), nullptr);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->template_opens);
    EXPECT_EQ(f->ends, std::vector<std::string>{"<e><f>"});
    f = derive_thinking_format(renders("U<a><r>\n", "U<a><r>R", "U<a><r>R<e>C", "", {}), nullptr);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->template_opens);
}

TEST(ThinkingFormat, PromptSetAdoptsTheModelsFormatUnlessTheMarkerIsFixed) {
    ThinkingFormat detected;
    detected.ends = {"[/THINK]"};
    detected.close = "[/THINK]";
    detected.start = "[THINK]";
    detected.template_opens = false;
    detected.from_template = true;
    detected.source = "chat template";
    PromptSet p = PromptSet::builtin();
    EXPECT_EQ(p.with_model_thinking(detected).thinking.ends, std::vector<std::string>{"[/THINK]"});
    EXPECT_EQ(p.with_model_thinking(std::nullopt).thinking.ends, std::vector<std::string>{"</think>"});
    p.fix_end_of_thinking("<end>");
    const PromptSet q = p.with_model_thinking(detected);
    EXPECT_EQ(q.thinking.ends, std::vector<std::string>{"<end>"});
    EXPECT_EQ(q.thinking.start, "[THINK]");  // still opened as the template does
    EXPECT_FALSE(q.thinking.template_opens);
}

// ---- answer_end: a forced answer stops once it is complete ----------------------------------

TEST(AnswerEnd, MathStopsWhenTheBoxCloses) {
    const std::string op = "**Final Answer** \\boxed{";
    EXPECT_FALSE(answer_end(op, "4", false));
    EXPECT_FALSE(answer_end(op, "\\frac{1}{2", false));
    EXPECT_EQ(answer_end(op, "\\frac{1}{2}} and then", false), std::string("\\frac{1}{2}}").size());
    EXPECT_EQ(answer_end(op, "42}", false), 3u);
    // A box written entirely in the answer counts too; one closed before it does not.
    EXPECT_EQ(answer_end("The answer: ", "\\boxed{7}.", false), 9u);
    EXPECT_FALSE(answer_end("\\boxed{3} so ", "more", false));
}

TEST(AnswerEnd, ChoiceStopsWhenTheLetterIsWritten) {
    const std::string op = "commit now.\n</think>\n\nANSWER:";
    EXPECT_FALSE(answer_end(op, " C", true));  // "C" alone could still become "Carbon"
    EXPECT_EQ(answer_end(op, " C\n", true), 2u);
    EXPECT_EQ(answer_end(op, " (B) because", true), 3u);
    EXPECT_FALSE(answer_end(op, " Carbon is", true));
    EXPECT_EQ(answer_end("pick: ", "\\boxed{D}", true), 9u);
}

// ---- ProblemRun with a model's format (scripted backend) ------------------------------------

ThinkingFormat gpt_oss() {
    ThinkingFormat f;
    f.start = "<|channel|>analysis<|message|>";
    f.ends = {"<|end|>"};
    f.close = "<|end|><|start|>assistant<|channel|>final<|message|>";
    f.template_opens = false;
    f.from_template = true;
    f.source = "chat template";
    return f;
}

RunConfig small(Method m, int n, int T, int M) {
    RunConfig c;
    c.method = m;
    c.n_paths = n;
    c.segment_tokens = T;
    c.segments = M;
    c.summary_tokens = 4;
    c.answer_tokens = 6;
    c.seed = 1;
    return c;
}

std::vector<ProblemRun> drive(ScriptedBackend& b, ProblemRun run) {
    std::vector<ProblemRun> v;
    v.push_back(std::move(run));
    return b.drive(std::move(v));
}

const Problem kMath{"m", "What is 3 + 4?", {}};
const Problem kChoice{"c", "Which is a noble gas?", {{"A", "Neon"}, {"B", "Oxygen"}, {"C", "Iron"}, {"D", "Tin"}}};

TEST(ThinkingRun, ChannelFormatEndsAtItsMarkerAndAnswersInTheFinalChannel) {
    const PromptSet prompts = PromptSet::builtin().with_model_thinking(gpt_oss());
    ScriptedBackend b([](const ScriptCall& c) -> std::string {
        if (c.kind == TokenKind::Reasoning) return c.sampled == 0 ? "I add them. " : "<|end|>";
        if (c.kind == TokenKind::Answer) return c.sampled == 0 ? "It is \\boxed{7}." : kEos;
        return "x ";
    });
    const auto runs = drive(b, ProblemRun(0, kMath, small(Method::Independent, 1, 8, 1), prompts));
    const Path& p = runs[0].paths()[0];
    EXPECT_EQ(p.finish, FinishReason::EndOfThinking);
    // leap wrote the switch to the final channel after the model's "<|end|>" (as injected text).
    EXPECT_NE(p.text.find("I add them. <|end|><|start|>assistant<|channel|>final<|message|>It is"), std::string::npos)
        << p.text;
    EXPECT_EQ(p.answer, "It is \\boxed{7}.");
    EXPECT_EQ(extract_answer(p.answer, false), "7");
}

TEST(ThinkingRun, ForcedAnswersSwitchToTheFinalChannelAndStopWhenComplete) {
    const PromptSet prompts = PromptSet::builtin().with_model_thinking(gpt_oss());
    for (const Problem& problem : {kMath, kChoice}) {
        SCOPED_TRACE(problem.id);
        ScriptedBackend b([&](const ScriptCall& c) -> std::string {
            if (c.kind != TokenKind::Answer) return "w ";
            if (problem.multiple_choice()) return c.sampled == 0 ? " A" : "\nand more text";
            static const char* toks[] = {"1", "0", "}", " and more"};
            return c.sampled < 4 ? toks[c.sampled] : "z";
        });
        const auto runs = drive(b, ProblemRun(0, problem, small(Method::Independent, 1, 4, 1), prompts));
        const Path& p = runs[0].paths()[0];
        EXPECT_EQ(p.finish, FinishReason::Forced);
        // The answer is in the final channel: the whole close precedes it.
        const size_t close = p.text.rfind(gpt_oss().close);
        ASSERT_NE(close, std::string::npos) << p.text;
        EXPECT_EQ(p.answer, p.text.substr(close + gpt_oss().close.size()));
        if (problem.multiple_choice()) {
            EXPECT_TRUE(p.text.ends_with("ANSWER: A")) << p.text;
            EXPECT_EQ(p.tokens[(size_t)TokenKind::Answer], 2);  // " A", then the token that showed it complete
        } else {
            EXPECT_TRUE(p.text.ends_with("\\boxed{10}")) << p.text;
            EXPECT_EQ(p.tokens[(size_t)TokenKind::Answer], 3);
            EXPECT_EQ(extract_answer(p.answer, false), "10");
        }
    }
}

TEST(ThinkingRun, SummariesLoseEveryEndMarker) {
    const PromptSet prompts = PromptSet::builtin().with_model_thinking(gpt_oss());
    ScriptedBackend b([](const ScriptCall& c) -> std::string {
        if (c.kind == TokenKind::Summary) return c.sampled == 0 ? " x is 4<|end|><|start|>assistant<|channel|>final<|message|>" : "</summarize>";
        return "r ";
    });
    const auto runs = drive(b, ProblemRun(0, kMath, small(Method::Leap, 2, 3, 2), prompts));
    for (const Path& p : runs[0].paths()) {
        ASSERT_EQ(p.blocks.size(), 1u);
        EXPECT_EQ(p.blocks[0].summary.find("<|"), std::string::npos) << p.blocks[0].summary;
    }
}

TEST(ThinkingRun, AWriteUpAfterTheEndOfThinkingHasItsOwnBudget) {
    // An R1-style path ends its thinking and writes a 600-token solution ending in \boxed{25}:
    // the forced-answer budget (256) must not cut it.
    ScriptedBackend b([](const ScriptCall& c) -> std::string {
        if (c.kind == TokenKind::Reasoning) return c.sampled < 5 ? "think " : "</think>";
        if (c.kind == TokenKind::Answer) {
            if (c.sampled < 600) return "step ";
            return c.sampled == 600 ? "so \\boxed{25}" : kEos;
        }
        return "s ";
    });
    RunConfig c = small(Method::Independent, 1, 64, 1);
    c.answer_tokens = 256;
    const auto runs = drive(b, ProblemRun(0, kMath, c, PromptSet::builtin()));
    const Path& p = runs[0].paths()[0];
    EXPECT_EQ(p.finish, FinishReason::EndOfThinking);
    EXPECT_EQ(p.tokens[(size_t)TokenKind::Answer], 601);
    EXPECT_TRUE(grade_math(p.answer, "25").correct) << p.answer.substr(p.answer.size() - 40);
    // Its budget is its own flag.
    c.write_up_tokens = 100;
    const auto cut = drive(b, ProblemRun(0, kMath, c, PromptSet::builtin()));
    EXPECT_EQ(cut[0].paths()[0].tokens[(size_t)TokenKind::Answer], 100);
}

// ---- the matrix: every chat template llama.cpp ships, on a generated model --------------------

std::string templates_dir() { return std::string(LEAP_LLAMA_DIR) + "/models/templates"; }

std::vector<std::string> template_names() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(templates_dir()))
        if (e.path().extension() == ".jinja") out.push_back(e.path().stem().string());
    std::sort(out.begin(), out.end());
    return out;
}

// The vocabulary a template's special tokens need (llama.cpp ships these); qwen2 otherwise.
std::string vocab_for(const std::string& name) {
    if (name.find("Qwen3") != std::string::npos) return "qwen35";
    if (name.find("gemma-4") != std::string::npos) return "gemma-4";
    if (name.find("Llama-8B") != std::string::npos) return "llama-bpe";
    return "qwen2";
}

// One random-weight tiny model per vocabulary (the template is given at load time, as with
// --chat-template).
const std::string& model_for_vocab(const std::string& vocab) {
    static std::map<std::string, std::string> made;
    auto it = made.find(vocab);
    if (it != made.end()) return it->second;
    fs::create_directories(LEAP_TEST_TMP);
    MakeModelOptions o;
    o.out_path = std::string(LEAP_TEST_TMP) + "/thinking-tiny-" + vocab + ".gguf";
    o.preset = "tiny";
    o.type = WeightType::F16;
    o.seed = 3;
    o.vocab_path = std::string(LEAP_LLAMA_DIR) + "/models/ggml-vocab-" + vocab + ".gguf";
    o.chat_template_path = templates_dir() + "/" + kFallbackChatTemplate;
    make_model(o);
    return made.emplace(vocab, o.out_path).first->second;
}

void check_template(const std::string& name) {
    SCOPED_TRACE("template " + name);
    ModelOptions mo;
    mo.path = model_for_vocab(vocab_for(name));
    mo.chat_template_file = templates_dir() + "/" + name + ".jinja";
    mo.n_gpu_layers = 0;
    const LlamaModel model(mo);
    const auto& format = model.thinking_format();
    const PromptSet prompts = PromptSet::builtin();
    const ThinkingFormat used = prompts.with_model_thinking(format).thinking;

    // A real run: greedy, two paths, one block, a multiple-choice problem (its forced answer
    // writes the end marker, {eot}), then the answer after it.
    EngineOptions eo;
    eo.threads = 2;
    eo.sampling.temperature = 0;
    RunConfig c = small(Method::Leap, 2, 6, 2);
    LlamaEngine engine(model, eo, c, prompts);
    std::vector<nlohmann::json> traces;
    std::vector<Path> paths;
    run_problems(engine, {kChoice}, {}, [&](ProblemRun& run, nlohmann::json) {
        traces.push_back(run.trace());
        paths = run.paths();
    });
    ASSERT_EQ(traces.size(), 1u);
    const std::string tail = traces[0].value("prompt_tail", "");
    if (format && !format->start.empty()) {
        // The prompt ends inside the thinking section: the method's prefill sits in it.
        const size_t start = tail.rfind(format->start);
        ASSERT_NE(start, std::string::npos) << "prompt tail: " << tail;
        for (const std::string& e : format->ends) EXPECT_EQ(tail.find(e, start), std::string::npos) << tail;
    }
    for (const Path& p : paths) {
        SCOPED_TRACE("path " + std::to_string(p.index));
        const size_t answer = used.answer_start(p.text);
        ASSERT_NE(answer, std::string::npos) << "the path never left its thinking: " << p.text;
        EXPECT_EQ(p.answer, p.text.substr(answer));
        // Every block happened inside the thinking, before the end marker.
        for (const BlockRecord& b : p.blocks) {
            const size_t at = p.text.find(b.summary_request);
            ASSERT_NE(at, std::string::npos);
            EXPECT_LT(at, answer);
        }
        if (p.finish == FinishReason::Forced) {
            EXPECT_EQ(p.blocks.size(), 1u);
            EXPECT_EQ(p.answer.find("\n\nANSWER:"), 0u) << p.answer;
        }
    }

    // A scripted path that ends its thinking with the detected marker: its answer is read
    // after it.
    ScriptedBackend b([&](const ScriptCall& call) -> std::string {
        if (call.kind == TokenKind::Reasoning) return call.sampled == 0 ? "Three plus four is seven. " : used.ends.front();
        if (call.kind == TokenKind::Answer) return call.sampled == 0 ? "So \\boxed{7}." : kEos;
        return "s ";
    });
    const auto runs = drive(b, ProblemRun(0, kMath, small(Method::Leap, 1, 8, 1), prompts.with_model_thinking(format)));
    const Path& p = runs[0].paths()[0];
    EXPECT_EQ(p.finish, FinishReason::EndOfThinking);
    EXPECT_EQ(extract_answer(p.answer, false), "7") << p.text;
    EXPECT_EQ(p.answer.find(used.ends.front()), std::string::npos) << p.answer;
    EXPECT_TRUE(grade_math(p.answer, "7").correct);
}

// One process for all of them: the generated models are made once per vocabulary.
TEST(TemplateMatrix, EveryTemplateKeepsTheMethodInsideItsThinkingSection) {
    const std::vector<std::string> names = template_names();
    ASSERT_GE(names.size(), 60u);
    for (const std::string& name : names) check_template(name);
}

// What leap detects for the families the issue names (docs/models.md has the whole table).
TEST(TemplateFormats, TheFamiliesUsersBring) {
    struct Want {
        const char* name;
        const char* end;
        bool template_opens;
    };
    const Want wants[] = {
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "</think>", true},
        {"Qwen-QwQ-32B", "</think>", true},
        {"Qwen3.5-4B", "</think>", true},
        {"GLM-4.7-Flash", "</think>", true},
        {"Kimi-K3", "<|close|>think<|sep|>", true},
        {"Qwen-Qwen3-0.6B", "</think>", false},
        {"HuggingFaceTB-SmolLM3-3B", "</think>", false},
        {"ByteDance-Seed-OSS", "</seed:think>", false},
        {"openai-gpt-oss-120b", "<|end|>", false},
        {"mistralai-Ministral-3-14B-Reasoning-2512", "[/THINK]", false},
    };
    int with_format = 0;
    for (const std::string& name : template_names()) {
        ModelOptions mo;
        mo.path = model_for_vocab(vocab_for(name));
        mo.chat_template_file = templates_dir() + "/" + name + ".jinja";
        mo.vocab_only = true;
        const LlamaModel model(mo);
        if (model.thinking_format()) ++with_format;
        for (const Want& w : wants) {
            if (name != w.name) continue;
            SCOPED_TRACE(name);
            ASSERT_TRUE(model.thinking_format()) << model.thinking_note();
            EXPECT_EQ(model.thinking_format()->ends.front(), w.end);
            EXPECT_EQ(model.thinking_format()->template_opens, w.template_opens);
            // Where the template leaves it closed, the rendered prompt opens it.
            const std::string prompt = model.render_prompt("Hi");
            EXPECT_NE(prompt.substr(prompt.rfind("Hi")).find(model.thinking_format()->start), std::string::npos) << prompt;
        }
    }
    // 45 of the 69 templates at llama.cpp 80fb11a have a thinking section.
    EXPECT_GE(with_format, 40);
}

}  // namespace
