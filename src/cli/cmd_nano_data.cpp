// `leap nano-data --seed S --count N -o FILE`: writes N problems of the LeaP-T nano task
// (docs/nano.md) as a JSON Lines dataset that `leap eval --bench FILE` reads and grades.
#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/prompts.h"
#include "core/rng.h"

#include <nlohmann/json.hpp>
#include "nano/task.h"

namespace leap::cli {

void register_nano_data(CLI::App& app) {
    struct Args {
        uint64_t seed = 1;
        int count = 300;
        int steps = nano::TaskSpec{}.steps;
        std::string out;
        bool traces = false;
    };
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("nano-data", "Write problems of the LeaP-T nano task (docs/nano.md) as a dataset file");
    cmd->add_option("--seed", a->seed, "problem stream (training uses other streams)")->capture_default_str();
    cmd->add_option("--count", a->count, "number of problems")->capture_default_str();
    cmd->add_option("--steps", a->steps, "operations per problem")->capture_default_str();
    cmd->add_option("-o,--out", a->out, "output file (.jsonl)")->required();
    cmd->add_flag("--traces", a->traces,
                  "write the simulated training traces of these problems instead (one JSON line per path, "
                  "the assistant text with the engine's injected pieces marked)");
    cmd->callback([a] {
        if (a->count < 1) throw Error("nano-data: --count must be >= 1");
        nano::TaskSpec spec;
        spec.steps = a->steps;
        const auto problems = nano::make_problems(a->seed, a->count, spec);
        std::ofstream f(a->out, std::ios::binary);
        if (!f) throw Error("nano-data: cannot write " + a->out);
        if (a->traces) {
            const PromptSet prompts = PromptSet::builtin();
            for (size_t i = 0; i < problems.size(); ++i)
                for (const auto& t : nano::simulate_run(problems[i], mix_seed({a->seed, (uint64_t)i}), {}, prompts)) {
                    nlohmann::json pieces = nlohmann::json::array();
                    for (const auto& p : t.pieces)
                        pieces.push_back({{"text", p.text}, {"injected", p.injected}, {"alt", p.alt}});
                    f << nlohmann::json{{"id", t.problem_id}, {"n", t.n_paths}, {"k", t.k}, {"blocks", t.blocks},
                                        {"correct", t.correct}, {"user", t.user_message}, {"pieces", pieces}}
                             .dump()
                      << "\n";
                }
        } else {
            f << nano::to_jsonl(problems);
        }
        if (!f.flush()) throw Error("nano-data: cannot write " + a->out);
        std::fprintf(stderr, "nano-data: %d problems (seed %llu, %d steps) -> %s\n", a->count,
                     (unsigned long long)a->seed, a->steps, a->out.c_str());
    });
}

}  // namespace leap::cli
