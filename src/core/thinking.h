#pragma once
// The thinking section of a reasoning model's chat format: how it opens, what ends it, and what
// the template writes between the reasoning and the answer. LeaP lives inside this section (the
// prefill, every segment, every block), so leap must know it for the model at hand, not assume
// R1's "<think> ... </think>". The backend detects it from the model's chat template through
// llama.cpp's own chat code (backends/llama/model.cpp); derive_thinking_format() below turns what
// the template renders into the format, so it can be checked without a model.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leap {

struct ThinkingFormat {
    // What opens the section (e.g. "<think>", gpt-oss's "<|channel|>analysis<|message|>"); may be
    // empty when only the end is known (a prompt set's marker, --end-of-thinking).
    std::string start;
    // What the model writes to end its thinking: a segment stops at any of them. Never empty.
    std::vector<std::string> ends = {"</think>"};
    // What the template writes between a reasoning and its answer ("</think>", "\n</think>\n\n",
    // gpt-oss's "<|end|><|start|>assistant<|channel|>final<|message|>"): what leap writes when it
    // ends a path's thinking itself (the prompt set's {eot}, without its outer whitespace).
    std::string close = "</think>";
    // Whether the template's generation prompt already opens the section (R1, QwQ), or the backend
    // opens it after the generation prompt the way the template continues a reasoning (Qwen3,
    // Seed-OSS, gpt-oss, Ministral).
    bool template_opens = true;
    // Where it came from, for `leap info` and traces: "chat template", "prompt set", ...
    std::string source = "prompt set";
    // Whether the model's template has a thinking section at all (false: the prompt set's marker
    // is used and nothing is opened).
    bool from_template = false;

    // close without its leading and trailing whitespace: the marker that fills {eot}.
    std::string marker() const;
    // After a path ended its thinking with `end` (one of `ends`): the rest of the close sequence
    // that leap writes so the answer starts where the template puts it (gpt-oss: the switch to the
    // final channel after "<|end|>"); "" when `end` already completes it.
    std::string after_end(std::string_view end) const;
    // Where the answer part of `text` begins: after the last complete close marker, else after the
    // last end marker; npos when the text never left its thinking.
    size_t answer_start(std::string_view text) const;
    // The format that uses one marker as both end and close (a prompt set's, --end-of-thinking).
    static ThinkingFormat single_marker(std::string marker, std::string source);
};

// A text split at the end of its thinking, as `leap serve` reports a path (reasoning_content and
// content of an OpenAI message).
struct ThinkingSplit {
    std::string reasoning;  // everything before the end marker (the marker itself dropped)
    std::string content;    // the answer after it ("" when thinking never ended)
};
ThinkingSplit split_thinking(std::string_view text, const ThinkingFormat& format);

// What a chat template renders for three conversations, with sentinel texts in place of the
// user's message, a reasoning and an answer. The backend fills it from its template engine.
struct TemplateRenders {
    std::string user_sentinel, reasoning_sentinel, content_sentinel;
    // [user] with the generation prompt, as a chat request is rendered.
    std::string plain;
    // [user, assistant(reasoning)] continued inside the reasoning (ends with reasoning_sentinel),
    // or "" when the template engine cannot continue a reasoning.
    std::string in_reasoning;
    // [user, assistant(reasoning, answer)] continued inside the answer (ends with content_sentinel).
    std::string in_content;
    // What the template engine reports on its own (llama.cpp's common_chat_params), when known.
    bool supports_thinking = false;
    std::string start_tag;
    std::vector<std::string> end_tags;
};

// The thinking format those renderings show, or nullopt with `why` set when they show none (a
// template without a thinking section). Rules (docs/models.md):
// - close: what the template writes between the reasoning and the answer sentinels;
// - ends: the engine's end tags that begin the close (tool-call tags that also end a reasoning are
//   left out: a LeaP run offers no tools); without any, the close itself;
// - template_opens: the plain rendering already ends inside an open section; otherwise the
//   backend renders every prompt continued inside the reasoning.
std::optional<ThinkingFormat> derive_thinking_format(const TemplateRenders& r, std::string* why);

}  // namespace leap
