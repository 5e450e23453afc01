#include "eval/outcome.h"

#include "core/answer.h"
#include "core/early_exit.h"
#include "core/vote.h"
#include "eval/grader.h"
#include "eval/reference_grade.h"

namespace leap {

std::vector<std::string> extracted_answers(const ProblemRun& run) {
    const Problem& problem = run.problem();
    std::vector<std::string> letters;
    for (const auto& [letter, _] : problem.choices) letters.push_back(letter);
    std::vector<std::string> answers;
    for (const Path& p : run.paths())
        answers.push_back(p.stopped() ? std::string()  // stopped early: no answer (docs/adaptive.md)
                          : problem.multiple_choice() ? extract_choice_answer(p.text, letters) : extract_math_answer(p.text));
    return answers;
}

AnswerEquivalence grader_equivalence(bool multiple_choice) {
    if (multiple_choice) return [](const std::string& a, const std::string& b) { return a == b; };
    return [](const std::string& a, const std::string& b) { return math_equivalent(a, b); };
}

void install_grader_judge() {
    set_answer_judge({[](std::string_view text, bool mc) {
                          // Letters as the grader reads them: any "ANSWER: X" (no list of choices here).
                          return mc ? choice_letter(text) : extract_math_answer(text);
                      },
                      [](const std::string& a, const std::string& b, bool mc) {
                          return mc ? a == b : math_equivalent(a, b);
                      }});
}

VoteResult vote_paths(const ProblemRun& run, const std::vector<std::string>& answers) {
    return majority_vote(answers, nullptr, grader_equivalence(run.problem().multiple_choice()));
}

nlohmann::json graded_line(const ProblemRun& run, const Item& item, const std::string& bench,
                           const nlohmann::json& timings) {
    const bool mc = item.problem.multiple_choice();
    std::vector<std::string> letters;
    for (const auto& [letter, _] : item.problem.choices) letters.push_back(letter);

    const bool leap_s = run.config().method == Method::LeapS;
    std::vector<std::string> answers, reference_answers, representative_answers;
    std::vector<long> lengths;
    std::vector<double> weights;  // each path's confidence, for the confidence-weighted vote
    nlohmann::json paths = nlohmann::json::array();
    std::map<std::string, long> tokens;
    for (const Path& p : run.paths()) {
        Grade g = mc ? grade_choice(p.text, item.answer, letters) : grade_math(p.text, item.answer);
        // A path stopped early (--early-exit-quorum, --prune-share) has no answer: it does not
        // vote and the metrics leave it out (docs/adaptive.md).
        if (p.stopped()) g = Grade{};
        answers.push_back(g.extracted);
        weights.push_back(p.confidence.lowest_group());
        long total = 0;
        nlohmann::json tk = nlohmann::json::object();
        for (size_t k = (size_t)TokenKind::Reasoning; k < (size_t)TokenKind::Count; ++k) {
            tk[std::string(to_string((TokenKind)k))] = p.tokens[k];
            tokens[std::string(to_string((TokenKind)k))] += p.tokens[k];
            total += p.tokens[k];
        }
        lengths.push_back(total);
        // The reference's check of the same text, reported beside ours (reference_grade.h).
        const std::string ref = reference_extract(p.text, mc);
        reference_answers.push_back(ref);
        nlohmann::json pj = {{"answer", g.extracted},
                             {"correct", g.correct},
                             {"answer_reference", ref},
                             {"correct_reference", reference_correct(ref, item.answer)},
                             {"finish", to_string(p.finish)},
                             {"tokens", tk}};
        if (p.stopped()) pj["stopped"] = true;
        if (run.config().needs_confidence())
            pj["confidence"] = {{"mean", p.confidence.total().mean()},
                                {"lowest_group", p.confidence.lowest_group()},
                                {"tail_group", p.confidence.group()}};
        // LeaP-S: the reference scores only each group's continuing path.
        if (leap_s) {
            pj["representative"] = !run.pruned(p.index);
            if (!run.pruned(p.index)) representative_answers.push_back(g.extracted);
        }
        paths.push_back(std::move(pj));
    }
    tokens["prompt"] = run.prompt_tokens();
    const AnswerEquivalence same = grader_equivalence(mc);
    auto vote_json = [&](const VoteResult& v) {
        const bool correct = !v.answer.empty() && (mc ? v.answer == item.answer : math_equivalent(v.answer, item.answer));
        return nlohmann::json{{"answer", v.answer}, {"votes", v.votes}, {"voters", v.voters}, {"correct", correct}};
    };
    // The reference votes over its own extractions as strings.
    const VoteResult ref_vote =
        majority_vote(reference_answers, nullptr, [](const std::string& a, const std::string& b) { return a == b; });
    nlohmann::json line = {{"id", item.problem.id},
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
    line["vote_reference"] = {{"answer", ref_vote.answer},
                              {"votes", ref_vote.votes},
                              {"correct", reference_correct(ref_vote.answer, item.answer)}};
    if (run.config().needs_confidence()) line["vote_confidence"] = vote_json(weighted_vote(answers, weights, same));
    if (leap_s) line["vote_representatives"] = vote_json(majority_vote(representative_answers, nullptr, same));
    return line;
}

nlohmann::json unfit_line(const Item& item, const std::string& bench, int index, int n_paths, int prompt_tokens,
                          const std::string& reason) {
    return {{"id", item.problem.id},
            {"bench", bench},
            {"index", index},
            {"gold", item.answer},
            {"multiple_choice", item.problem.multiple_choice()},
            {"option_order", item.option_order},
            {"unfit", reason},
            {"n_paths", n_paths},
            {"paths", nlohmann::json::array()},
            {"tokens", {{"prompt", prompt_tokens}}}};
}

namespace {

// A count in a results line (paths, tokens): a number from 0 to `max`. nlohmann's get<long>
// converts any number, and a float past the range of long (1e42, found by fuzz/fuzz_results.cpp)
// is undefined behaviour; a negative path count would size a vector of 2^64 entries. Errors are
// json exceptions, so the callers name the file and line as for any other wrong field.
long count_in(const nlohmann::json& v, const std::string& field, double max) {
    if (!v.is_number())
        throw nlohmann::json::type_error::create(302, field + " must be a number, got " + std::string(v.type_name()), &v);
    const double d = v.get<double>();
    if (!(d >= 0 && d <= max))
        throw nlohmann::json::out_of_range::create(406, field + " is " + v.dump() + ", not a count from 0 to " +
                                                            nlohmann::json(max).dump(), &v);
    return v.is_number_float() ? (long)d : v.get<long>();
}

constexpr double kMaxPaths = 1 << 16;
constexpr double kMaxTokens = 1e15;

}  // namespace

ProblemOutcome outcome_of(const nlohmann::json& line) {
    ProblemOutcome o;
    if (line.contains("unfit")) {  // not run: every path counts as wrong, the votes too
        const int n = (int)count_in(line.at("n_paths"), "n_paths", kMaxPaths);
        o.correct.assign(n, false);
        o.correct_reference.assign(n, false);
        o.tokens["prompt"] = count_in(line.at("tokens").at("prompt"), "tokens.prompt", kMaxTokens);
        return o;
    }
    bool reference = line.contains("vote_reference");  // lines written before it lack the fields
    for (const auto& p : line.at("paths")) {
        if (p.value("stopped", false)) {  // stopped early: no answer, left out (docs/adaptive.md)
            ++o.stopped;
            continue;
        }
        o.correct.push_back(p.at("correct").get<bool>());
        if (p.contains("confidence")) o.path_confidence.push_back(p["confidence"].at("lowest_group").get<double>());
        reference = reference && p.contains("correct_reference");
        if (p.contains("representative") && p.at("representative").get<bool>())
            o.representative_correct.push_back(p.at("correct").get<bool>());
    }
    if (reference) {
        for (const auto& p : line.at("paths"))
            if (!p.value("stopped", false)) o.correct_reference.push_back(p.at("correct_reference").get<bool>());
        o.consensus_reference_correct = line.at("vote_reference").at("correct").get<bool>();
    }
    if (line.contains("vote_representatives"))
        o.consensus_representatives_correct = line.at("vote_representatives").at("correct").get<bool>();
    o.consensus_correct = line.at("vote").at("correct").get<bool>();
    if (line.contains("vote_confidence")) o.confidence_vote_correct = line["vote_confidence"].at("correct").get<bool>() ? 1 : 0;
    o.shortest_majority_correct = line.at("shortest_majority").at("correct").get<bool>();
    for (const auto& [k, v] : line.at("tokens").items()) o.tokens[k] = count_in(v, "tokens." + k, kMaxTokens);
    if (line.contains("timings") && line["timings"].contains("wall_s")) o.wall_s = line["timings"]["wall_s"].get<double>();
    if (line.contains("timings") && line["timings"].contains("elapsed_s"))
        o.elapsed_s = line["timings"]["elapsed_s"].get<double>();
    return o;
}

}  // namespace leap
