// leap solve: one problem, N paths, the LeaP method (in-process llama.cpp, or --backend openai).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <regex>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/usage.h"
#include "cli/output_file.h"
#include "core/run_problems.h"
#include "core/error.h"
#include "core/vote.h"
#include "eval/outcome.h"

namespace leap::cli {

namespace {

// A small AIME-style problem for `make run` and smoke tests (answer: 1).
constexpr const char* kSampleProblem =
    "Find the remainder when $7^{2024}$ is divided by $100$.";

struct SolveFlags {
    EngineFlags engine;
    std::string prompt, problem_file, choices, trace;
    bool sample = false, json = false;
};

// An answer shown on one line: control characters become spaces, long ones are cut.
std::string one_line(const std::string& s, size_t max_bytes = 32) {
    std::string out;
    for (char c : s) out += (unsigned char)c < 0x20 ? ' ' : c;
    if (out.size() > max_bytes) {
        size_t cut = max_bytes;
        while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
        out = out.substr(0, cut) + "...";
    }
    return out;
}

Choices parse_choices(const std::string& s) {
    // "A=text,B=text,...": split at commas followed by "<Letter>=".
    Choices out;
    static const std::regex item(R"(([A-Z])=((?:[^,]|,(?![A-Z]=))*))");
    for (auto it = std::sregex_iterator(s.begin(), s.end(), item); it != std::sregex_iterator(); ++it)
        out[(*it)[1].str()] = (*it)[2].str();
    if (out.size() < 2) throw Error("--choices '" + s + "': expected at least two options like A=..,B=..");
    return out;
}

void solve(const SolveFlags& f) {
    f.engine.check_backend_flags();  // e.g. -t with --backend openai: refused, not ignored
    Problem problem;
    problem.id = "problem";
    const RunConfig config = f.engine.run_config();
    if (f.engine.print_config) {
        std::printf("%s\n", dump_json(f.engine.resolved_json(config), 2).c_str());
        return;
    }
    int sources = (int)!f.prompt.empty() + (int)!f.problem_file.empty() + (int)f.sample;
    if (sources != 1) throw UsageError("give exactly one of -p TEXT, -f/--problem-file FILE, --sample");
    if (!f.trace.empty()) check_output_file(f.trace, "--trace");  // before any model time is spent
    if (f.sample) {
        problem.id = "sample";
        problem.text = kSampleProblem;
    } else if (!f.prompt.empty()) {
        problem.text = f.prompt;
    } else {
        problem.text = read_file(f.problem_file, "problem file");
        problem.id = f.problem_file;
        while (!problem.text.empty() && (problem.text.back() == '\n' || problem.text.back() == ' ')) problem.text.pop_back();
        if (problem.text.empty()) throw Error("problem file '" + f.problem_file + "' is empty");
    }
    if (!f.choices.empty()) problem.choices = parse_choices(f.choices);

    const PromptSet prompts = f.engine.prompt_set();
    BackendHandle backend = f.engine.make_backend(config, prompts);
    Backend* engine = backend.engine.get();

    nlohmann::json trace_problem;
    std::vector<std::string> answers;
    std::vector<std::string> finishes;
    VoteResult vote;
    // Progress on stderr: a live line on a terminal, a plain line every 10 s in logs. The
    // budget is the most the run can sample, so the ETA is an upper bound.
    const bool tty = ::isatty(STDERR_FILENO);
    const long budget = token_budget(config);
    double last_line = 0;
    auto progress = [&](const Progress& p) {
        if (!tty && p.seconds - last_line < 10) return;
        last_line = p.seconds;
        const double rate = p.seconds > 0 ? p.tokens_sampled / p.seconds : 0;
        const double eta = rate > 0 ? std::max(0.0, (budget - p.tokens_sampled) / rate) : 0;
        std::fprintf(stderr, tty ? "\rsolve: %ld tokens (budget %ld), %.0f tok/s, ETA <= %.0f s   " :
                                   "solve: %ld tokens (budget %ld), %.0f tok/s, ETA <= %.0f s\n",
                     p.tokens_sampled, budget, rate, eta);
    };
    run_problems(*engine,
        {problem}, {},
        [&](ProblemRun& run, nlohmann::json timings) {
            trace_problem = run.trace();
            trace_problem["timings"] = timings;
            answers = extracted_answers(run);
            vote = vote_paths(run, answers);
            for (const Path& p : run.paths()) finishes.emplace_back(to_string(p.finish));
        },
        progress);
    if (tty && last_line > 0) std::fprintf(stderr, "\n");
    trace_problem["answers"] = answers;
    trace_problem["vote"] = {{"answer", vote.answer}, {"votes", vote.votes}, {"voters", vote.voters},
                             {"majority", vote.majority}};

    const nlohmann::json stats = engine->stats_json();
    if (!f.trace.empty()) {
        nlohmann::json trace = {{"leap_version", LEAP_VERSION},
                                {"model", f.engine.model_name()},
                                {"config", config_json(config, f.engine.engine)},
                                {"problems", nlohmann::json::array({trace_problem})},
                                {"stats", stats}};
        write_output_file(f.trace, dump_json(trace, 2) + "\n", "--trace");
    }
    if (f.json) {
        nlohmann::json out = {{"problem", problem.text},
                              {"answers", answers},
                              {"finish", finishes},
                              {"vote", trace_problem["vote"]},
                              {"stats", stats}};
        std::printf("%s\n", dump_json(out).c_str());
        return;
    }
    std::printf("problem: %s\n", problem.text.c_str());
    std::printf("method %s, %d paths, T=%d, %d segments, router %s, %d peers\n", std::string(to_string(config.method)).c_str(),
                config.n_paths, config.segment_tokens, config.segments,
                std::string(to_string(config.router.kind)).c_str(), config.router.k);
    const auto& paths = trace_problem["paths"];
    for (size_t i = 0; i < answers.size(); ++i) {
        const auto& tk = paths[i]["tokens"];
        std::printf("  path %zu: answer %-12s (%s; reasoning %ld, summary %ld, injected %ld, answer %ld tokens; %zu blocks)\n",
                    i, answers[i].empty() ? "(none)" : one_line(answers[i]).c_str(), finishes[i].c_str(),
                    tk["reasoning"].get<long>(), tk["summary"].get<long>(), tk["injected"].get<long>(),
                    tk["answer"].get<long>(), paths[i]["blocks"].size());
    }
    // Who heard whom at each block, with similarity.
    for (size_t b = 0;; ++b) {
        std::string line;
        for (size_t i = 0; i < answers.size(); ++i) {
            const auto& blocks = paths[i]["blocks"];
            if (b >= blocks.size()) continue;
            line += "  path " + std::to_string(i) + " <-";
            for (const auto& peer : blocks[b]["peers"]) {
                char buf[48];
                std::snprintf(buf, sizeof buf, " %d (%.2f)", peer["peer"].get<int>(), peer["score"].get<double>());
                line += buf;
            }
            if (blocks[b]["peers"].empty()) line += " (no peers)";
            line += ";";
        }
        if (line.empty()) break;
        std::printf("block %zu:%s\n", b + 1, line.c_str());
    }
    std::printf("vote: %s (%d of %d paths)\n", vote.answer.empty() ? "(no answer)" : one_line(vote.answer).c_str(), vote.votes,
                config.n_paths);
    const EngineStats& s = engine->stats();
    std::printf("tokens: prompt %ld (evaluated once), sampled %ld, refed %ld, history re-evaluated %ld; "
                "%.1f s, %.1f sampled tok/s, mean batch %.1f\n",
                s.prompt_tokens_evaluated, s.sampled, s.refed, s.history_reevaluated, s.seconds,
                s.seconds > 0 ? s.sampled / s.seconds : 0.0,
                s.mean_batch());
    if (f.engine.remote()) {
        const nlohmann::json& h = stats["http"];
        std::printf("http: %ld requests, %ld attempts retried; of %ld context tokens sent, the servers took %ld from "
                    "their prefix caches\n",
                    h["requests"].get<long>(), h["attempts_failed"].get<long>(), h["prompt_tokens_sent"].get<long>(),
                    h["server_prompt_cached"].get<long>());
    }
    if (!f.trace.empty()) std::printf("trace: %s\n", f.trace.c_str());
}

}  // namespace

void register_solve(CLI::App& app) {
    auto f = std::make_shared<SolveFlags>();
    CLI::App* cmd = app.add_subcommand("solve", "solve one problem with N peer paths");
    f->engine.add_to(cmd);
    cmd->add_option("-p,--problem,--prompt", f->prompt, "the problem text");
    cmd->add_option("-f,--problem-file,--file", f->problem_file, "a file holding the problem text");
    cmd->add_flag("--sample", f->sample, "use a built-in sample problem");
    cmd->add_option("--choices", f->choices, "multiple choice: A=..,B=..,C=..,D=..");
    cmd->add_option("--trace", f->trace, "write the full trace (JSON, docs/trace.md) here");
    cmd->add_flag("--json", f->json, "print a machine-readable result");
    cmd->callback([f] { solve(*f); });
}

}  // namespace leap::cli
