// leap prefix-trap: the paper's prefix-dominance-trap experiment. Each problem restarts from the
// first share of a wrong response's tokens; K paths continue it with independent sampling and
// with LeaP, and the Pass@1 gap says how much peers help a path recover from a bad start.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "core/run_problems.h"
#include "core/error.h"
#include "eval/outcome.h"
#include "eval/results.h"

namespace leap::cli {

namespace {

struct TrapFlags {
    EngineFlags engine;
    std::string from, out;
    double share = 0.15;
    int limit = 0;
    bool json = false;
};

struct TrapItem {
    Item item;
    std::string source;  // "<id> path <i>"
};

// Problems whose source run has a wrong path, with that path's first `share` of tokens as prefix.
std::vector<TrapItem> trap_items(const TrapFlags& f, const LlamaModel& model) {
    ResultsFile source(f.from);
    std::vector<TrapItem> out;
    for (const auto& line : source.lines()) {
        const auto& trace = line.at("trace");
        const auto& paths = line.at("paths");
        for (size_t i = 0; i < paths.size(); ++i) {
            if (paths[i].at("correct").get<bool>()) continue;
            std::string text = trace.at("paths").at(i).at("text").get<std::string>();
            const std::string prefill = trace.value("prefill", std::string());
            if (!prefill.empty() && text.rfind(prefill, 0) == 0) text = text.substr(prefill.size());
            const std::vector<llama_token> toks = model.tokenize(text, false);
            if (toks.empty()) continue;
            const size_t keep = std::max<size_t>(1, (size_t)(f.share * (double)toks.size()));
            std::string prefix;
            for (size_t t = 0; t < keep && t < toks.size(); ++t) prefix += model.piece(toks[t]);
            TrapItem ti;
            ti.item.problem.id = line.at("id").get<std::string>();
            ti.item.problem.text = trace.at("problem").get<std::string>();
            for (const auto& [k, v] : trace.at("choices").items()) ti.item.problem.choices[k] = v.get<std::string>();
            ti.item.problem.assistant_prefix = prefix;
            ti.item.answer = line.at("gold").get<std::string>();
            ti.source = ti.item.problem.id + " path " + std::to_string(i);
            out.push_back(std::move(ti));
            break;  // the first wrong path of each problem
        }
        if (f.limit > 0 && (int)out.size() >= f.limit) break;
    }
    return out;
}

Summary run_arm(const TrapFlags& f, const LlamaModel& model, const PromptSet& prompts, RunConfig config,
                const std::vector<TrapItem>& items, const std::string& name) {
    ResultsFile results(f.out + "/" + name + ".jsonl");
    std::vector<Problem> todo;
    std::vector<int> indices;
    for (size_t i = 0; i < items.size(); ++i)
        if (!results.has(items[i].item.problem.id)) {
            todo.push_back(items[i].item.problem);
            indices.push_back((int)i);
        }
    if (!todo.empty()) {
        LlamaEngine engine(model, f.engine.engine, config, prompts);
        run_problems(engine, todo, indices, [&](ProblemRun& run, nlohmann::json timings) {
            nlohmann::json line = graded_line(run, items.at(run.index()).item, name, timings);
            line["prefix_source"] = items.at(run.index()).source;
            results.append(line);
            std::fprintf(stderr, "%s: %zu/%zu problems\n", name.c_str(), results.lines().size(), items.size());
        });
    }
    std::vector<ProblemOutcome> outcomes;
    for (const auto& line : results.lines()) outcomes.push_back(outcome_of(line));
    return summarize(outcomes, {});
}

void prefix_trap(const TrapFlags& f) {
    f.engine.check_backend_flags();  // e.g. -t with --backend openai: refused, not ignored
    if (!(f.share > 0 && f.share < 1)) throw Error("--share must be in (0, 1), got " + std::to_string(f.share));
    if (f.out.empty()) throw Error("--out DIR is required");
    std::filesystem::create_directories(f.out);
    RunConfig leap_config = f.engine.run_config();
    if (leap_config.method == Method::Independent)
        throw Error("--method names the peer method to compare with independent sampling (e.g. leap)");
    RunConfig independent = leap_config;
    independent.method = Method::Independent;
    const PromptSet prompts = f.engine.prompt_set();
    LlamaModel model(f.engine.model_options());
    const std::vector<TrapItem> items = trap_items(f, model);
    if (items.empty()) throw Error("'" + f.from + "' has no problem with a wrong path to start from");
    const Summary ind = run_arm(f, model, prompts, independent, items, "independent");
    const Summary peer = run_arm(f, model, prompts, leap_config, items, std::string(to_string(leap_config.method)));
    const nlohmann::json out = {{"problems", (int)items.size()},
                                {"share", f.share},
                                {"independent", ind.to_json()},
                                {std::string(to_string(leap_config.method)), peer.to_json()},
                                {"pass@1_gap", peer.pass1.mean - ind.pass1.mean}};
    write_file_atomic(f.out + "/summary.json", dump_json(out, 2) + "\n");
    if (f.json) {
        std::printf("%s\n", dump_json(out).c_str());
        return;
    }
    std::printf("prefix trap: %zu problems, each restarted from the first %.0f%% of a wrong response's tokens\n",
                items.size(), 100 * f.share);
    std::printf("  independent  Pass@1 %5.1f [%5.1f, %5.1f]\n", 100 * ind.pass1.mean, 100 * ind.pass1.lo, 100 * ind.pass1.hi);
    std::printf("  %-11s  Pass@1 %5.1f [%5.1f, %5.1f]\n", std::string(to_string(leap_config.method)).c_str(),
                100 * peer.pass1.mean, 100 * peer.pass1.lo, 100 * peer.pass1.hi);
    std::printf("  gap          %+5.1f points\nresults: %s\n", 100 * (peer.pass1.mean - ind.pass1.mean), f.out.c_str());
}

}  // namespace

void register_prefix_trap(CLI::App& app) {
    auto f = std::make_shared<TrapFlags>();
    CLI::App* cmd = app.add_subcommand("prefix-trap", "prefix-dominance-trap experiment: continue wrong starts with and without peers");
    f->engine.add_to(cmd);
    cmd->add_option("--from", f->from, "a results file of leap eval (<bench>.jsonl) to take wrong responses from")->required();
    cmd->add_option("--share", f->share, "share of the wrong response's tokens kept as the prefix")->capture_default_str();
    cmd->add_option("--limit", f->limit, "at most this many problems (0: all with a wrong path)")->capture_default_str();
    cmd->add_option("-o,--out,--output", f->out, "folder for independent.jsonl, <method>.jsonl, summary.json (resumable)")->required();
    cmd->add_flag("--json", f->json, "print the summary as JSON");
    cmd->callback([f] { prefix_trap(*f); });
}

}  // namespace leap::cli
