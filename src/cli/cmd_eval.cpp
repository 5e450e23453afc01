// leap eval: run a method over benchmarks, one graded JSON line per problem, resumable.
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/usage.h"
#include "core/run_problems.h"
#include "core/error.h"
#include "eval/dataset.h"
#include "eval/outcome.h"
#include "eval/results.h"

namespace leap::cli {

namespace {

namespace fs = std::filesystem;

struct EvalFlags {
    EngineFlags engine;
    std::string benches, data_dir, out;
    bool json = false, no_shuffle = false, force = false;
    uint64_t shuffle_seed = 0;
    int limit = 0;
    int bootstrap = 2000;
    DatasetFields fields;
};

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        const size_t comma = s.find(',', start);
        const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// The key a benchmark's results file is named by: the name, or a dataset file's stem.
std::string bench_key(const std::string& bench) {
    return is_benchmark_name(bench) ? bench : fs::path(bench).stem().string();
}

std::string format_duration(double s) {
    char buf[32];
    if (s < 0 || s > 1e7) return "?";
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else std::snprintf(buf, sizeof buf, "%.0fs", s);
    return buf;
}

// What must match for a rerun to resume rather than mix two different runs in one folder.
nlohmann::json run_identity(const EvalFlags& f, const RunConfig& c) {
    nlohmann::json cfg = config_json(c, f.engine.engine);
    for (const char* runtime : {"parallel_problems", "batch_size", "kv_unified"}) cfg.erase(runtime);
    if (f.engine.remote()) cfg["backend"] = f.engine.backend;  // server-side sampling seeds differ
    return {{"model", fs::path(f.engine.model_name()).filename().string()},
            {"config", cfg},
            {"prompts", f.engine.prompts_file.empty() ? "builtin" : f.engine.prompts_file},
            {"shuffle_options", !f.no_shuffle},
            {"shuffle_seed", f.shuffle_seed},
            {"limit", f.limit}};
}

// A run.json written before the flags took llama.cpp's names: its config said "top_k" for the
// peers a path hears (sampling.top_k was, and is, the sampling cut).
nlohmann::json with_current_keys(nlohmann::json identity) {
    if (identity.is_object() && identity.contains("config") && identity["config"].is_object()) {
        nlohmann::json& cfg = identity["config"];
        if (cfg.contains("top_k") && !cfg.contains("peers")) {
            cfg["peers"] = cfg["top_k"];
            cfg.erase("top_k");
        }
    }
    return identity;
}

void check_or_write_identity(const EvalFlags& f, const nlohmann::json& identity) {
    const std::string path = f.out + "/run.json";
    if (fs::exists(path) && !f.force) {
        nlohmann::json before;
        try {
            before = nlohmann::json::parse(read_file(path, "run description"));
        } catch (const nlohmann::json::exception& e) {
            throw Error("'" + path + "' is not JSON (" + e.what() + "); it describes the run in '" + f.out +
                        "': restore it, or use another --out");
        }
        if (!before.is_object())
            throw Error("'" + path + "' is not a run description (a JSON object, docs/results.md); restore it, or use another --out");
        if (before.contains("identity")) before["identity"] = with_current_keys(before["identity"]);
        if (before.value("identity", nlohmann::json()) != identity) {
            const nlohmann::json diff = nlohmann::json::diff(before.value("identity", nlohmann::json()), identity);
            throw Error("'" + f.out + "' holds results of a run with other settings (" + dump_json(diff) +
                        "); use another --out, or --force to add to it anyway");
        }
        return;
    }
    write_file_atomic(path, dump_json({{"identity", identity}, {"leap_version", LEAP_VERSION}, {"model_path", f.engine.model_name()}}, 2) + "\n");
}

// Pass@1 / Cons@N as "55.0/60.0", or "-" when the results lack them.
std::string pair_cell(const std::optional<Interval>& p1, const std::optional<Interval>& cn) {
    if (!p1 || !cn) return "-";
    char b[40];
    std::snprintf(b, sizeof b, "%.1f/%.1f", 100 * p1->mean, 100 * cn->mean);
    return b;
}

void print_table(const std::vector<std::pair<std::string, Summary>>& rows) {
    bool representatives = false;
    for (const auto& [_, s] : rows) representatives = representatives || s.pass1_representatives.has_value();
    std::printf("\n%-14s %5s %4s  %-22s %-22s %-13s", "bench", "n", "N", "Pass@1 [95% CI]", "Cons@N [95% CI]",
                "reference P/C");
    if (representatives) std::printf(" %-13s", "represent. P/C");
    std::printf(" %12s %9s\n", "tok/problem", "tok/s");
    for (const auto& [bench, s] : rows) {
        char p1[40], cn[40];
        std::snprintf(p1, sizeof p1, "%5.1f [%5.1f, %5.1f]", 100 * s.pass1.mean, 100 * s.pass1.lo, 100 * s.pass1.hi);
        std::snprintf(cn, sizeof cn, "%5.1f [%5.1f, %5.1f]", 100 * s.cons.mean, 100 * s.cons.lo, 100 * s.cons.hi);
        const nlohmann::json j = s.to_json();
        std::printf("%-14s %5d %4d  %-22s %-22s %-13s", bench.c_str(), s.n, s.paths, p1, cn,
                    pair_cell(s.pass1_reference, s.cons_reference).c_str());
        if (representatives)
            std::printf(" %-13s", pair_cell(s.pass1_representatives, s.cons_representatives).c_str());
        std::printf(" %12.0f %9.1f\n", j["tokens_per_problem"].value("total", 0.0), s.tokens_per_s);
    }
    std::printf("reference P/C: Pass@1/Cons@N by the reference implementation's check (docs/grading.md)\n");
    if (representatives) std::printf("represent. P/C: LeaP-S, each group's continuing path only\n");
}

// The in-process engine, its context sized from the longest prompt of the whole run: every
// benchmark and every problem, done or not, so a resumed run gets the context an uninterrupted
// one had. prompt_lengths[b][i]: the prompt tokens of datasets[b].items[i].
BackendHandle sized_backend(const EvalFlags& f, const RunConfig& config, const PromptSet& prompts,
                            const std::vector<Dataset>& datasets, std::vector<std::vector<int>>& prompt_lengths,
                            const LlamaEngine*& llama) {
    if (f.engine.remote()) return f.engine.make_backend(config, prompts);
    BackendHandle h;
    h.model = std::make_unique<LlamaModel>(f.engine.model_options());
    EngineOptions eo = f.engine.engine;
    for (const Dataset& d : datasets) {
        std::vector<int>& lengths = prompt_lengths.emplace_back();
        for (const Item& item : d.items) {
            lengths.push_back(prompt_tokens(*h.model, prompts, config, item.problem));
            eo.longest_prompt = std::max(eo.longest_prompt, lengths.back());
        }
    }
    auto engine = std::make_unique<LlamaEngine>(*h.model, eo, config, prompts);
    llama = engine.get();
    h.engine = std::move(engine);
    return h;
}

void eval(const EvalFlags& f) {
    f.engine.check_backend_flags();  // e.g. -t with --backend openai: refused, not ignored
    const RunConfig config = f.engine.run_config();
    if (f.engine.print_config) {
        std::printf("%s\n", dump_json(f.engine.resolved_json(config), 2).c_str());
        return;
    }
    const std::vector<std::string> benches = split_list(f.benches);
    if (benches.empty())
        throw UsageError("--bench is required: a comma list of aime24, aime25, aimo25, gpqa or dataset files");
    if (f.out.empty())
        throw UsageError("-o/--out DIR is required: the folder the results are written to (a rerun with the same "
                         "flags resumes there), e.g. -o results/my-run");
    if (f.limit < 0) throw UsageError("--limit must be >= 0");
    const PromptSet prompts = f.engine.prompt_set();

    DatasetOptions dopt;
    dopt.data_dir = f.data_dir;
    dopt.fields = f.fields;
    dopt.shuffle_options = !f.no_shuffle;
    dopt.shuffle_seed = f.shuffle_seed;
    std::vector<Dataset> datasets;  // load all first: a bad file fails before any model time is spent
    for (const std::string& b : benches) {
        Dataset d = load_dataset(b, dopt);
        if (f.limit > 0 && (int)d.items.size() > f.limit) d.items.resize(f.limit);
        datasets.push_back(std::move(d));
    }
    fs::create_directories(f.out);
    // One writer per results folder: two runs appending to the same files would repeat problems.
    const std::string lock_path = f.out + "/.lock";
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
        throw Error("another leap eval is writing to '" + f.out + "' (lock " + lock_path + ")");
    check_or_write_identity(f, run_identity(f, config));

    std::vector<std::vector<int>> prompt_lengths;
    const LlamaEngine* llama = nullptr;
    BackendHandle backend = sized_backend(f, config, prompts, datasets, prompt_lengths, llama);
    Backend* engine = backend.engine.get();
    // Every problem is checked before the first one runs: one whose prompt leaves no room in a
    // path's context is recorded as unfit (with its reason) instead of stopping the run.
    int unfit_total = 0;
    const bool tty = ::isatty(STDERR_FILENO);
    std::vector<std::pair<std::string, Summary>> rows;
    nlohmann::json metrics = nlohmann::json::object();

    for (size_t bi = 0; bi < benches.size(); ++bi) {
        const Dataset& d = datasets[bi];
        const std::string key = bench_key(benches[bi]);
        ResultsFile results(f.out + "/" + key + ".jsonl");
        if (results.dropped_partial_line())
            std::fprintf(stderr, "%s: dropped a partly written last line (the run was killed mid-write)\n", key.c_str());
        std::vector<Problem> todo;
        std::vector<int> indices;
        std::map<int, const Item*> by_index;
        int already = 0, unfit_here = 0;
        for (size_t i = 0; i < d.items.size(); ++i) {
            if (results.has(d.items[i].problem.id)) {
                ++already;
                continue;
            }
            if (llama && prompt_lengths[bi][i] > llama->prompt_limit()) {
                const std::string why = "its prompt takes " + std::to_string(prompt_lengths[bi][i]) +
                                        " tokens, which leaves no room for an answer in a context of " +
                                        std::to_string(llama->n_ctx_per_path()) + " tokens per path (" +
                                        (f.engine.engine.n_ctx_per_path > 0 ? "-c/--ctx-size" : "the model's own context") + ")";
                std::fprintf(stderr, "leap: warning: %s, problem '%s': %s; recorded as unfit (counted as wrong)\n",
                             d.path.c_str(), d.items[i].problem.id.c_str(), why.c_str());
                results.append(unfit_line(d.items[i], key, (int)i, config.n_paths, prompt_lengths[bi][i], why));
                ++unfit_total;
                ++unfit_here;
                continue;
            }
            todo.push_back(d.items[i].problem);
            indices.push_back((int)i);
            by_index[(int)i] = &d.items[i];
        }
        const int total = (int)d.items.size();
        if (already > 0) std::fprintf(stderr, "%s: %d of %d problems already done in %s, resuming\n", key.c_str(), already, total, results.path().c_str());
        already += unfit_here;  // from here on: the problems not left to run
        int done = already;
        const auto t0 = std::chrono::steady_clock::now();
        // Each line records the wall time since the previous line (or since this bench started):
        // summed over a results file they give its real elapsed time, across resumed runs, which
        // per-problem wall times (problems overlap) do not.
        auto last_done = t0;
        auto report = [&](const Progress& p, bool final_line) {
            const double rate = p.seconds > 0 ? p.tokens_sampled / p.seconds : 0;
            const int left = total - done;
            const int done_now = done - already;
            const double eta = done_now > 0 ? p.seconds / done_now * left : -1;
            if (tty) {
                const int width = 24, filled = total ? width * done / total : width;
                std::fprintf(stderr, "\r%s [%s%s] %d/%d problems, %.0f tok/s, ETA %s   ", key.c_str(),
                             std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done, total,
                             rate, format_duration(eta).c_str());
                if (final_line) std::fprintf(stderr, "\n");
            } else {
                std::fprintf(stderr, "%s: %d/%d problems, %.0f tok/s, ETA %s\n", key.c_str(), done, total, rate,
                             format_duration(eta).c_str());
            }
        };
        Progress last;
        if (!todo.empty())
            run_problems(*engine,
                todo, indices,
                [&](ProblemRun& run, nlohmann::json timings) {
                    const auto now = std::chrono::steady_clock::now();
                    timings["elapsed_s"] = std::chrono::duration<double>(now - last_done).count();
                    last_done = now;
                    results.append(graded_line(run, *by_index.at(run.index()), key, timings));
                    ++done;
                },
                [&](const Progress& p) {
                    last = p;
                    if (tty || p.problems_done > 0) report(p, false);
                });
        if (!todo.empty() && tty) {
            last.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            report(last, true);
        }

        std::set<std::string> dataset_ids;
        for (const Item& item : d.items) dataset_ids.insert(item.problem.id);
        std::vector<std::string> warnings;
        const std::vector<ProblemOutcome> outcomes = dataset_outcomes(results, dataset_ids, warnings);
        for (const std::string& w : warnings) std::fprintf(stderr, "leap: warning: %s\n", w.c_str());
        if (outcomes.empty()) continue;
        MetricsOptions mo;
        mo.bootstrap = f.bootstrap;
        const Summary s = summarize(outcomes, mo);
        rows.emplace_back(key, s);
        metrics[key] = s.to_json();
    }
    if (unfit_total > 0)
        std::fprintf(stderr, "leap: %d problem(s) did not fit in the context and count as wrong (\"unfit\" in the results)\n",
                     unfit_total);
    if (f.json) {
        std::printf("%s\n", dump_json(metrics).c_str());
    } else {
        print_table(rows);
        std::printf("results: %s\n", f.out.c_str());
    }
}

}  // namespace

void register_eval(CLI::App& app) {
    auto f = std::make_shared<EvalFlags>();
    CLI::App* cmd = app.add_subcommand("eval", "run a method over benchmarks; resumable results, metrics");
    f->engine.add_to(cmd);
    cmd->add_option("--bench", f->benches, "comma list: aime24, aime25, aimo25, gpqa, or dataset files (.json/.jsonl)");
    cmd->add_option("--data-dir", f->data_dir, "folder holding the reference benchmark files (aime.json, ...)");
    cmd->add_option("-o,--out,--output", f->out, "results folder: one <bench>.jsonl per benchmark; rerun to resume");
    cmd->add_option("--limit", f->limit, "only the first N problems of each benchmark (0: all)")->capture_default_str();
    cmd->add_flag("--no-shuffle", f->no_shuffle, "keep multiple-choice options in file order (reference parity)");
    cmd->add_option("--shuffle-seed", f->shuffle_seed, "seed of the per-question option shuffle")->capture_default_str();
    cmd->add_option("--problem-field", f->fields.problem, "dataset field holding the problem")->capture_default_str();
    cmd->add_option("--answer-field", f->fields.answer, "dataset field holding the gold answer")->capture_default_str();
    cmd->add_option("--options-field", f->fields.options, "dataset field holding multiple-choice options")
        ->capture_default_str();
    cmd->add_option("--id-field", f->fields.id, "dataset field holding a problem id (default: <bench>-<index>)");
    cmd->add_option("--bootstrap", f->bootstrap, "bootstrap replicates for the intervals")->capture_default_str();
    cmd->add_flag("--force", f->force, "write into --out even if it holds a run with other settings");
    cmd->add_flag("--json", f->json, "print the metrics as JSON on stdout");
    cmd->callback([f] { eval(*f); });
}

}  // namespace leap::cli
