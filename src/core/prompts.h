#pragma once
// The prompt set: every piece of text the method adds to a path. Our wording ships in
// prompts/leap-default.json (compiled in); --prompts FILE loads another one with the same keys.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/thinking.h"

namespace leap {

// The built-in wording of the Mixture-of-Agents aggregation text (a prompt file may omit the
// moa_* keys: these are used then). Placeholder: {responses}.
std::string default_moa_aggregate(bool multiple_choice);
// The built-in user message of a later layer with --moa-layout reference: a new conversation
// that shows the problem and the previous layer's responses. Placeholders: {problem}, {options}
// (multiple choice), {responses}.
std::string default_moa_user(bool multiple_choice);

struct PromptSet {
    std::string name;
    // The file's end-of-thinking marker: used as is when the model's chat template shows no
    // thinking section (and by the nano task, whose traces are written with it).
    std::string end_of_thinking = "</think>";
    // The thinking format a run uses: the file's marker until a backend adopts what the model's
    // chat template shows (with_model_thinking); --end-of-thinking fixes the marker.
    ThinkingFormat thinking = ThinkingFormat::single_marker("</think>", "prompt set");
    bool end_of_thinking_fixed = false;
    std::string leap_user_math, leap_user_choice;    // LeaP: protocol instruction + problem
    std::string leap_prefill;                        // LeaP: the model's acknowledgement, prefilled
    // Per domain (optional keys leap_prefill_math / leap_prefill_choice, as the reference's
    // prefill differs for math and multiple choice); each defaults to leap_prefill.
    std::string leap_prefill_math, leap_prefill_choice;
    std::string plain_user_math, plain_user_choice;  // LeaP-T and independent sampling
    std::vector<std::string> triggers;               // "let me recap"-style sentences
    std::vector<std::string> openers;                // start of the summary, after <summarize>
    std::string comment_cue;                         // after peers' comments
    std::string no_comment_text, no_comment_cue;     // when no peer is left
    std::string answer_opener_math, answer_opener_choice;
    // Mixture-of-Agents: the text a later layer's path starts from; {responses} is replaced by
    // the previous layer's responses. Optional keys (older prompt files load with the defaults).
    std::string moa_aggregate_math = default_moa_aggregate(false);
    std::string moa_aggregate_choice = default_moa_aggregate(true);
    // --moa-layout reference: the user message of a later layer's new conversation ({problem},
    // {options}, {responses}). Optional keys too.
    std::string moa_user_math = default_moa_user(false);
    std::string moa_user_choice = default_moa_user(true);

    // Parses a prompt file's JSON text; `origin` names it in errors. Missing or empty keys,
    // or an empty trigger/opener list, are errors, except the optional moa_* keys (which must
    // contain {responses} when given, and moa_user_* {problem} too).
    static PromptSet from_json(std::string_view json_text, const std::string& origin);
    static PromptSet builtin();  // prompts/leap-default.json as compiled in

    // --end-of-thinking: this marker ends and closes the thinking, whatever the template shows.
    void fix_end_of_thinking(const std::string& marker);
    // The prompt set a backend runs with: the thinking format its model's chat template shows
    // (`detected`; nullopt: none, the file's marker stays), keeping a fixed marker.
    PromptSet with_model_thinking(const std::optional<ThinkingFormat>& detected) const;
};

// Multiple-choice options, keyed by letter ("A".."D"); empty for a math problem.
using Choices = std::map<std::string, std::string>;

std::string format_options(const Choices& choices);  // "A) ...\nB) ..."
// Replaces {problem}, {options}, {eot} in a template.
std::string fill_template(std::string_view tmpl, std::string_view problem, const Choices& choices,
                          std::string_view eot);

std::string_view default_prompts_json();  // generated from prompts/leap-default.json

}  // namespace leap
