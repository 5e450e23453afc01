// `leap grade --gold G [--choices [A,B,C,D]]`: reads one response on stdin, prints one JSON line
//   {"extracted": "...", "correct": true|false}
// Math by default (eval/grader.h: grade_math); --choices grades multiple choice, with the letters
// given as a comma-separated list (plain --choices: A,B,C,D). Rules: docs/grading.md.
#include "cli/commands.h"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/grader.h"

namespace leap::cli {

namespace {

std::vector<std::string> parse_letters(const std::string& spec) {
    std::vector<std::string> letters;
    size_t start = 0;
    for (;;) {
        const size_t comma = spec.find(',', start);
        std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const size_t b = item.find_first_not_of(" \t");
        const size_t e = item.find_last_not_of(" \t");
        item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
        if (item.empty()) throw Error("grade: --choices takes comma-separated letters such as A,B,C,D, got '" + spec + "'");
        letters.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return letters;  // further checks (alphanumeric, no duplicates) in grade_choice
}

}  // namespace

void register_grade(CLI::App& app) {
    struct Args {
        std::string gold;
        std::string choices;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand(
        "grade",
        "Grade one response (read on stdin) against a gold answer; prints {\"extracted\": ..., \"correct\": ...}");
    CLI::Option* gold = cmd->add_option("--gold", args->gold, "Gold answer (math expression, or the correct letter)");
    CLI::Option* choices =
        cmd->add_option("--choices", args->choices,
                        "Multiple choice; optionally the letters, comma-separated (default A,B,C,D)")
            ->expected(0, 1);
    cmd->callback([args, gold, choices] {
        if (gold->count() == 0) throw Error("grade: --gold is required");
        if (args->gold.find_first_not_of(" \t\r\n") == std::string::npos) throw Error("grade: --gold is empty");
        const bool multiple_choice = choices->count() > 0;
        std::vector<std::string> letters = {"A", "B", "C", "D"};
        if (multiple_choice && !args->choices.empty()) letters = parse_letters(args->choices);
        const std::string response((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        const Grade g = multiple_choice ? grade_choice(response, args->gold, letters) : grade_math(response, args->gold);
        const std::string extracted =
            nlohmann::json(g.extracted).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::printf("{\"extracted\": %s, \"correct\": %s}\n", extracted.c_str(), g.correct ? "true" : "false");
    });
}

}  // namespace leap::cli
