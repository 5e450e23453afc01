#pragma once
// The prompt set: every piece of text the method adds to a path. Our wording ships in
// prompts/leap-default.json (compiled in); --prompts FILE loads another one with the same keys.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace leap {

// The built-in wording of the Mixture-of-Agents aggregation text (a prompt file may omit the
// moa_* keys: these are used then). Placeholder: {responses}.
std::string default_moa_aggregate(bool multiple_choice);

struct PromptSet {
    std::string name;
    std::string end_of_thinking = "</think>";
    std::string leap_user_math, leap_user_choice;    // LeaP: protocol instruction + problem
    std::string leap_prefill;                        // LeaP: the model's acknowledgement, prefilled
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

    // Parses a prompt file's JSON text; `origin` names it in errors. Missing or empty keys,
    // or an empty trigger/opener list, are errors, except the optional moa_* keys (which must
    // contain {responses} when given).
    static PromptSet from_json(std::string_view json_text, const std::string& origin);
    static PromptSet builtin();  // prompts/leap-default.json as compiled in
};

// Multiple-choice options, keyed by letter ("A".."D"); empty for a math problem.
using Choices = std::map<std::string, std::string>;

std::string format_options(const Choices& choices);  // "A) ...\nB) ..."
// Replaces {problem}, {options}, {eot} in a template.
std::string fill_template(std::string_view tmpl, std::string_view problem, const Choices& choices,
                          std::string_view eot);

std::string_view default_prompts_json();  // generated from prompts/leap-default.json

}  // namespace leap
