#include "eval/outcome.h"

#include "core/vote.h"
#include "eval/grader.h"

namespace leap {

std::vector<std::string> extracted_answers(const ProblemRun& run) {
    const Problem& problem = run.problem();
    std::vector<std::string> letters;
    for (const auto& [letter, _] : problem.choices) letters.push_back(letter);
    std::vector<std::string> answers;
    for (const Path& p : run.paths())
        answers.push_back(problem.multiple_choice() ? extract_choice_answer(p.text, letters) : extract_math_answer(p.text));
    return answers;
}

AnswerEquivalence grader_equivalence(bool multiple_choice) {
    if (multiple_choice) return [](const std::string& a, const std::string& b) { return a == b; };
    return [](const std::string& a, const std::string& b) { return math_equivalent(a, b); };
}

VoteResult vote_paths(const ProblemRun& run, const std::vector<std::string>& answers) {
    return majority_vote(answers, nullptr, grader_equivalence(run.problem().multiple_choice()));
}

nlohmann::json graded_line(const ProblemRun& run, const Item& item, const std::string& bench,
                           const nlohmann::json& timings) {
    const bool mc = item.problem.multiple_choice();
    std::vector<std::string> letters;
    for (const auto& [letter, _] : item.problem.choices) letters.push_back(letter);

    std::vector<std::string> answers;
    std::vector<long> lengths;
    nlohmann::json paths = nlohmann::json::array();
    std::map<std::string, long> tokens;
    for (const Path& p : run.paths()) {
        const Grade g = mc ? grade_choice(p.text, item.answer, letters) : grade_math(p.text, item.answer);
        answers.push_back(g.extracted);
        long total = 0;
        nlohmann::json tk = nlohmann::json::object();
        for (size_t k = (size_t)TokenKind::Reasoning; k < (size_t)TokenKind::Count; ++k) {
            tk[std::string(to_string((TokenKind)k))] = p.tokens[k];
            tokens[std::string(to_string((TokenKind)k))] += p.tokens[k];
            total += p.tokens[k];
        }
        lengths.push_back(total);
        paths.push_back({{"answer", g.extracted}, {"correct", g.correct}, {"finish", to_string(p.finish)}, {"tokens", tk}});
    }
    tokens["prompt"] = run.prompt_tokens();
    const AnswerEquivalence same = grader_equivalence(mc);
    auto vote_json = [&](const VoteResult& v) {
        const bool correct = !v.answer.empty() && (mc ? v.answer == item.answer : math_equivalent(v.answer, item.answer));
        return nlohmann::json{{"answer", v.answer}, {"votes", v.votes}, {"voters", v.voters}, {"correct", correct}};
    };
    nlohmann::json choices = nlohmann::json::object();
    for (const auto& [k, v] : item.problem.choices) choices[k] = v;
    return {{"id", item.problem.id},
            {"bench", bench},
            {"index", run.index()},
            {"gold", item.answer},
            {"multiple_choice", mc},
            {"option_order", item.option_order},
            {"paths", paths},
            {"vote", vote_json(majority_vote(answers, nullptr, same))},
            {"shortest_majority", vote_json(majority_vote(answers, &lengths, same))},
            {"tokens", tokens},
            {"trace", run.trace()},
            {"timings", timings}};
}

ProblemOutcome outcome_of(const nlohmann::json& line) {
    ProblemOutcome o;
    for (const auto& p : line.at("paths")) o.correct.push_back(p.at("correct").get<bool>());
    o.consensus_correct = line.at("vote").at("correct").get<bool>();
    o.shortest_majority_correct = line.at("shortest_majority").at("correct").get<bool>();
    for (const auto& [k, v] : line.at("tokens").items()) o.tokens[k] = v.get<long>();
    if (line.contains("timings") && line["timings"].contains("wall_s")) o.wall_s = line["timings"]["wall_s"].get<double>();
    return o;
}

}  // namespace leap
