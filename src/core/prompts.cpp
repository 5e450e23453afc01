#include "core/prompts.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace leap {

namespace {

std::string required_string(const nlohmann::json& j, const char* key, const std::string& origin) {
    if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty())
        throw Error("prompt set " + origin + ": \"" + key + "\" must be a non-empty string");
    return j[key].get<std::string>();
}

std::vector<std::string> required_list(const nlohmann::json& j, const char* key,
                                       const std::string& origin) {
    if (!j.contains(key) || !j[key].is_array() || j[key].empty())
        throw Error("prompt set " + origin + ": \"" + key + "\" must be a non-empty array of strings");
    std::vector<std::string> out;
    for (const auto& v : j[key]) {
        if (!v.is_string() || v.get<std::string>().empty())
            throw Error("prompt set " + origin + ": \"" + key + "\" must hold non-empty strings");
        out.push_back(v.get<std::string>());
    }
    return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
        s.replace(pos, from.size(), to);
}

}  // namespace

std::string default_moa_aggregate(bool multiple_choice) {
    // Written in the model's own voice: it sits at the start of the assistant's reasoning.
    const std::string head =
        "Before I start, I have been shown how several other solvers answered this question. For each "
        "response I see its final answer and the end of its reasoning:\n\n{responses}\n\n"
        "Some of these responses may be wrong, and agreement between them does not make an answer right. "
        "I will check their reasoning critically, keep what holds up, fix what does not, and work the "
        "problem through myself";
    return head + (multiple_choice ? " before I commit to one option letter.\n\n"
                                   : " before I give my own final answer.\n\n");
}

std::string default_moa_user(bool multiple_choice) {
    // A user message (the reference's layout): the problem, the numbered responses, then the
    // plain prompt's instruction, so the answer comes in the format the grader reads.
    const std::string head = multiple_choice ? "{problem}\n\n{options}\n\n" : "{problem}\n\n";
    return head +
           "Other solvers answered this question independently; their responses follow. Some of them may "
           "be wrong, and agreement between them does not make an answer right.\n\n{responses}\n\n"
           "Check these responses critically and solve the problem yourself. " +
           (multiple_choice ? "Please reason step by step, and end your response with a line of the form "
                              "ANSWER: X, where X is one of the option letters."
                            : "Please reason step by step, and put your final answer within \\boxed{}.");
}

PromptSet PromptSet::from_json(std::string_view json_text, const std::string& origin) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error("prompt set " + origin + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw Error("prompt set " + origin + ": expected a JSON object");
    PromptSet p;
    p.name = j.value("name", origin);
    p.end_of_thinking = required_string(j, "end_of_thinking", origin);
    p.thinking = ThinkingFormat::single_marker(p.end_of_thinking, "prompt set " + origin);
    p.leap_user_math = required_string(j, "leap_user_math", origin);
    p.leap_user_choice = required_string(j, "leap_user_choice", origin);
    p.leap_prefill = required_string(j, "leap_prefill", origin);
    p.leap_prefill_math = j.contains("leap_prefill_math") ? required_string(j, "leap_prefill_math", origin) : p.leap_prefill;
    p.leap_prefill_choice =
        j.contains("leap_prefill_choice") ? required_string(j, "leap_prefill_choice", origin) : p.leap_prefill;
    p.plain_user_math = required_string(j, "plain_user_math", origin);
    p.plain_user_choice = required_string(j, "plain_user_choice", origin);
    p.triggers = required_list(j, "triggers", origin);
    p.openers = required_list(j, "openers", origin);
    p.comment_cue = required_string(j, "comment_cue", origin);
    p.no_comment_text = required_string(j, "no_comment_text", origin);
    p.no_comment_cue = required_string(j, "no_comment_cue", origin);
    p.answer_opener_math = required_string(j, "answer_opener_math", origin);
    p.answer_opener_choice = required_string(j, "answer_opener_choice", origin);
    for (const char* key : {"moa_aggregate_math", "moa_aggregate_choice"}) {
        if (!j.contains(key)) continue;  // optional: the built-in wording
        std::string v = required_string(j, key, origin);
        if (v.find("{responses}") == std::string::npos)
            throw Error("prompt set " + origin + ": \"" + key + "\" must contain {responses}");
        (std::string_view(key) == "moa_aggregate_math" ? p.moa_aggregate_math : p.moa_aggregate_choice) = std::move(v);
    }
    for (const char* key : {"moa_user_math", "moa_user_choice"}) {
        if (!j.contains(key)) continue;
        std::string v = required_string(j, key, origin);
        if (v.find("{responses}") == std::string::npos || v.find("{problem}") == std::string::npos)
            throw Error("prompt set " + origin + ": \"" + key + "\" must contain {problem} and {responses}");
        (std::string_view(key) == "moa_user_math" ? p.moa_user_math : p.moa_user_choice) = std::move(v);
    }
    for (const auto* t : {&p.leap_user_math, &p.plain_user_math})
        if (t->find("{problem}") == std::string::npos)
            throw Error("prompt set " + origin + ": user templates must contain {problem}");
    return p;
}

PromptSet PromptSet::builtin() { return from_json(default_prompts_json(), "builtin leap-default"); }

void PromptSet::fix_end_of_thinking(const std::string& marker) {
    if (marker.empty()) throw Error("--end-of-thinking must not be empty");
    thinking.ends = {marker};
    thinking.close = marker;
    thinking.source = "--end-of-thinking";
    end_of_thinking_fixed = true;
}

PromptSet PromptSet::with_model_thinking(const std::optional<ThinkingFormat>& detected) const {
    PromptSet p = *this;
    if (!detected) return p;
    p.thinking = *detected;
    if (end_of_thinking_fixed) {
        // The template still opens the section; the user's marker ends and closes it.
        p.thinking.ends = thinking.ends;
        p.thinking.close = thinking.close;
        p.thinking.source = detected->source + ", end marker from --end-of-thinking";
    }
    return p;
}

std::string format_options(const Choices& choices) {
    std::string out;
    for (const auto& [letter, text] : choices) {
        if (!out.empty()) out += "\n";
        out += letter + ") " + text;
    }
    return out;
}

std::string fill_template(std::string_view tmpl, std::string_view problem, const Choices& choices,
                          std::string_view eot) {
    std::string out(tmpl);
    // {options} and {eot} first: the problem text itself may contain braces.
    replace_all(out, "{options}", format_options(choices));
    replace_all(out, "{eot}", eot);
    const size_t at = out.find("{problem}");
    if (at != std::string::npos) out.replace(at, 9, problem);
    return out;
}

}  // namespace leap
