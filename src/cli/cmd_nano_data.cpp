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
        bool simulate = false;
        int segment_tokens = 6, segments = 4;  // the protocol of scripts/nano-compare.sh
    };
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("nano-data", "Write problems of the LeaP-T nano task (docs/nano.md) as a dataset file");
    cmd->add_option("-s,--seed", a->seed, "problem stream (training uses other streams)")->capture_default_str();
    cmd->add_option("--count", a->count, "number of problems")->capture_default_str();
    cmd->add_option("--steps", a->steps, "steps after the key (1..5)")->capture_default_str();
    cmd->add_option("-o,--out,--output", a->out, "output file (.jsonl); not with --simulate");
    cmd->add_flag("--simulate", a->simulate,
                  "print the Pass@1 that a model reproducing the training traces exactly would reach on these "
                  "problems: independent vs LeaP-T (N=4 and N=8, k=2, dispersed), -T and --segments as in leap eval");
    cmd->add_option("-T,--segment-tokens", a->segment_tokens, "with --simulate: tokens per segment")->capture_default_str();
    cmd->add_option("--segments", a->segments, "with --simulate: segments")->capture_default_str();
    cmd->add_flag("--traces", a->traces,
                  "write the simulated training traces of these problems instead (one JSON line per path, "
                  "the assistant text with the engine's injected pieces marked)");
    cmd->callback([a] {
        if (a->count < 1) throw Error("nano-data: --count must be >= 1");
        nano::TaskSpec spec;
        spec.steps = a->steps;
        const auto problems = nano::make_problems(a->seed, a->count, spec);
        if (a->simulate) {
            const PromptSet prompts = PromptSet::builtin();
            std::printf("idealised Pass@1 (slip %.2f per computation, %d steps, T=%d, %d segments, %d problems)\n",
                        spec.slip, spec.steps, a->segment_tokens, a->segments, a->count);
            for (int n : {4, 8}) {
                for (bool leap : {false, true}) {
                    nano::TraceOptions o;
                    o.spec = spec;
                    o.n_paths = {n};
                    o.fixed_k = o.max_k;  // the largest k the traces train, at N = 4 and 8 alike
                    o.fixed_router = 0;
                    o.fixed_segment_tokens = a->segment_tokens;
                    o.fixed_segments = a->segments;
                    o.fixed_independent = leap ? 0 : 1;
                    int ok = 0, found = 0, all = 0;
                    for (size_t i = 0; i < problems.size(); ++i)
                        for (const auto& t : nano::simulate_run(problems[i], mix_seed({a->seed, (uint64_t)i, 7u}), o, prompts)) {
                            ok += t.correct;
                            found += t.found;
                            ++all;
                        }
                    std::printf("  N=%d %-12s Pass@1 %.3f  (key found by %.3f of paths)\n", n,
                                leap ? "LeaP-T" : "independent", (double)ok / all, (double)found / all);
                }
            }
            return;
        }
        if (a->out.empty()) throw Error("nano-data: -o FILE is required");
        std::ofstream f(a->out, std::ios::binary);
        if (!f) throw Error("nano-data: cannot write " + a->out);
        if (a->traces) {
            const PromptSet prompts = PromptSet::builtin();
            for (size_t i = 0; i < problems.size(); ++i)
                for (const auto& t : nano::simulate_run(problems[i], mix_seed({a->seed, (uint64_t)i}), {}, prompts)) {
                    nlohmann::json pieces = nlohmann::json::array();
                    for (const auto& p : t.pieces)
                        pieces.push_back({{"text", p.text}, {"injected", p.injected}, {"alt", p.alt}});
                    f << nlohmann::json{{"id", t.problem_id}, {"n", t.n_paths}, {"k", t.k}, {"T", t.segment_tokens},
                                        {"segments", t.segments}, {"blocks", t.blocks}, {"correct", t.correct},
                                        {"user", t.user_message}, {"pieces", pieces}}
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
