// `leap train`: trains a model with llama.cpp's training API.
//   leap train --nano --seed S -o assets/leap-nano.gguf   a new small qwen2 model on nano traces
//   leap train --from-results RUN/bench.jsonl -m base.gguf -o out.gguf   LeaP-T fine-tuning of any GGUF
// (docs/nano.md): --nano writes the nano vocabulary, a random-weight model of the given shape
// (leap make-model's writer), then trains it, with a progress line and a checkpoint per chunk.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/prompts.h"
#include "core/rng.h"
#include "model/make_model.h"
#include "nano/task.h"
#include "nano/vocab.h"
#include "train/examples.h"
#include "train/from_results.h"
#include "train/trainer.h"

namespace leap::cli {

namespace {

struct TrainArgs {
    bool nano = false;
    uint64_t seed = 1;
    std::string out;
    std::string init;  // continue from this GGUF instead of a fresh model
    int runs = 6000;   // simulated runs (each gives N traces)
    int steps = nano::TaskSpec{}.steps;
    double slip = nano::TaskSpec{}.slip;
    int64_t n_embd = 128, n_layer = 4, n_head = 4, n_ff = 384;
    double k_bias_std = 1.0;
    double number_embeddings = 0.5;
    double kind_embeddings = 0;
    bool structured_output = false;
    double given_key_share = 0;
    bool no_pack = false;  // one example per sequence, padded
    train::TrainConfig cfg;
    bool keep_temp = false;
    std::vector<std::string> results;  // --from-results: leap eval results files
    std::string base;                  // -m: the model to fine-tune on them
    int max_summary_tokens = 256;
    std::string command_line;  // stored in the model (leap.training)
};

std::string hms(double s) {
    if (!(s >= 0) || s > 1e7) return "?";
    char b[32];
    const long t = (long)std::lround(s);
    std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
    return b;
}

// The settings that made the weights, stored in the model file (leap.training).
std::string describe(const TrainArgs& a) {
    char b[1024];
    if (a.nano)
        std::snprintf(b, sizeof b,
                      "leap train --nano --seed %llu --runs %d --steps %d --slip %g --n-embd %lld --n-layer %lld "
                      "--n-head %lld --n-ff %lld --k-bias-std %g --number-embeddings %g --kind-embeddings %g%s --given-key-share %g --n-ctx %d --pack %d --epochs %d --lr %g --lr-min %g --warmup %g --weight-decay %g%s%s%s",
                      (unsigned long long)a.seed, a.runs, a.steps, a.slip, (long long)a.n_embd, (long long)a.n_layer,
                      (long long)a.n_head, (long long)a.n_ff, a.k_bias_std, a.number_embeddings, a.kind_embeddings,
                      a.structured_output ? " --structured-output" : "", a.given_key_share, a.cfg.n_ctx, a.cfg.pack, a.cfg.epochs, a.cfg.lr, a.cfg.lr_min,
                      a.cfg.warmup, a.cfg.weight_decay, a.no_pack ? " --no-pack" : "", a.init.empty() ? "" : " --init ", a.init.c_str());
    else
        std::snprintf(b, sizeof b, "leap train --from-results (%zu files) -m %s --seed %llu --n-ctx %d --epochs %d --lr %g",
                      a.results.size(), a.base.c_str(), (unsigned long long)a.seed, a.cfg.n_ctx, a.cfg.epochs, a.cfg.lr);
    return b;
}

void run_nano(TrainArgs& a) {
    const auto t0 = std::chrono::steady_clock::now();
    const PromptSet prompts = PromptSet::builtin();
    std::string model_in = a.init;
    std::vector<std::string> temps;
    if (model_in.empty()) {
        const std::string vocab = a.out + ".vocab.tmp.gguf";
        const std::string init = a.out + ".init.tmp.gguf";
        temps = {vocab, init};
        const auto vi = nano::write_vocab_gguf(vocab, nano::vocabulary_words(prompts));
        MakeModelOptions mo;
        mo.out_path = init;
        mo.preset = "tiny";
        mo.type = WeightType::F32;
        mo.seed = a.seed;
        mo.vocab_path = vocab;
        mo.n_embd = a.n_embd;
        mo.n_layer = a.n_layer;
        mo.n_head = a.n_head;
        mo.n_head_kv = a.n_head;
        mo.n_ff = a.n_ff;
        mo.k_bias_std = a.k_bias_std;
        mo.number_embeddings = a.number_embeddings;
        mo.kind_embeddings = a.kind_embeddings;
        mo.structured_output = a.structured_output;
        mo.for_training = true;
        mo.n_ctx = a.cfg.n_ctx;
        mo.rope_base = 10000.0f;  // short contexts: keep positions distinguishable in more dimensions
        mo.tied = false;  // llama.cpp's trainer leaves token_embd frozen: the output layer must be its own
        mo.n_threads = a.cfg.threads;
        const MakeModelResult r = make_model(mo);
        std::fprintf(stderr, "train: vocabulary %d tokens (%d bytes, %d words, %d control); model %s, %.2fM parameters\n",
                     vi.n_tokens, vi.n_bytes, vi.n_user_defined, vi.n_control, r.name.c_str(), r.n_params / 1e6);
        model_in = init;
    }
    a.cfg.separate_examples = !a.no_pack;  // packed examples must not see each other
    train::Trainer trainer(model_in, a.cfg);

    // Training problems come from a stream no `leap nano-data --seed` produces.
    nano::TraceOptions to;
    to.spec.steps = a.steps;
    to.spec.slip = a.slip;
    to.given_key_share = a.given_key_share;
    const uint64_t stream = mix_seed({a.seed, 0x747261696eu});
    std::vector<train::Example> train_set, val_set;
    int too_long = 0, traces = 0, correct = 0, longest = 0;
    int64_t tokens = 0;
    for (int i = 0; i < a.runs; ++i) {
        const nano::NanoProblem p = nano::make_problem(stream, i, to.spec);
        const bool val = i % 50 == 49;  // 2% held out for the validation loss
        std::vector<int32_t> prompt_tokens;
        for (const auto& t : nano::simulate_run(p, mix_seed({stream, (uint64_t)i}), to, prompts)) {
            ++traces;
            correct += t.correct;
            if (prompt_tokens.empty()) prompt_tokens = trainer.tokenize(trainer.render_prompt(t.user_message));
            auto e = train::make_example(trainer, prompt_tokens, t.pieces, a.cfg.n_ctx);
            if (!e) {
                ++too_long;
                continue;
            }
            tokens += e->length;
            longest = std::max(longest, e->length);
            (val ? val_set : train_set).push_back(std::move(*e));
        }
    }
    std::fprintf(stderr, "train: %d runs, %d traces (%.1f%% end correct), %zu train / %zu validation examples, "
                         "%d longer than n_ctx %d (dropped); mean length %.0f, longest %d tokens\n",
                 a.runs, traces, 100.0 * correct / std::max(1, traces), train_set.size(), val_set.size(), too_long,
                 a.cfg.n_ctx, (double)tokens / std::max<size_t>(1, train_set.size() + val_set.size()), longest);
    if (!a.no_pack) {
        const size_t n_train = train_set.size();
        train_set = train::pack_examples(std::move(train_set), a.cfg.n_ctx, trainer.eos(), a.seed);
        val_set = train::pack_examples(std::move(val_set), a.cfg.n_ctx, trainer.eos(), a.seed + 1);
        std::fprintf(stderr, "train: %zu examples packed back to back into %zu sequences of %d tokens\n", n_train,
                     train_set.size(), a.cfg.n_ctx);
    }
    double acc_before = 0;
    const double val_before = trainer.evaluate(val_set, &acc_before);
    std::fprintf(stderr, "train: validation loss before training %.4f, next-token accuracy %.3f\n", val_before, acc_before);

    const bool tty = isatty(fileno(stderr)) != 0;
    const double val_after = trainer.train(std::move(train_set), val_set, [&](const train::Progress& p) {
        if (!tty && !p.chunk_end) return;
        std::fprintf(stderr, "%strain: epoch %d/%d  %lld/%lld sequences  loss %.4f  %.0f tok/s  ETA %s%s",
                     tty ? "\r" : "", p.epoch, p.epochs, (long long)p.done, (long long)p.total, p.loss,
                     p.tok_per_s, hms(p.eta_s).c_str(), p.chunk_end ? (a.cfg.checkpoint.empty() ? "\n" : "  (checkpoint)\n") : "");
        std::fflush(stderr);
    });
    trainer.save(a.out, "leap-nano", a.command_line);
    if (!a.keep_temp)
        for (const auto& t : temps) std::filesystem::remove(t);
    const double acc_after = trainer.decoded_accuracy(val_set);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "train: validation loss %.4f -> %.4f, next-token accuracy %.3f -> %.3f; wrote %s (%.1f MB) in %s\n",
                 val_before, val_after, acc_before, acc_after, a.out.c_str(), std::filesystem::file_size(a.out) / 1e6,
                 hms(secs).c_str());
}

void run_from_results(TrainArgs& a) {
    const auto t0 = std::chrono::steady_clock::now();
    if (a.base.empty()) throw Error("train: --from-results needs -m MODEL (the GGUF to fine-tune)");
    train::Trainer trainer(a.base, a.cfg);
    const PromptSet prompts = PromptSet::builtin();
    std::vector<train::Example> set;
    int too_long = 0;
    for (const auto& file : a.results) {
        train::ResultsSelection st;
        const auto traces = train::traces_from_results(
            file, [&](const std::string& s) { return (int)trainer.tokenize(s).size(); }, prompts.answer_opener_math,
            a.max_summary_tokens, st);
        for (const auto& t : traces) {
            auto e = train::make_example(trainer, t.user_message, t.pieces, a.cfg.n_ctx);
            if (e) set.push_back(std::move(*e));
            else ++too_long;
        }
        std::fprintf(stderr, "train: %s: %d problems, %d paths, %d correct, %d with a summary of >= %d tokens, %d kept\n",
                     file.c_str(), st.problems, st.paths, st.correct, st.long_summary, a.max_summary_tokens, st.kept);
    }
    if (too_long) std::fprintf(stderr, "train: %d paths longer than --n-ctx %d dropped\n", too_long, a.cfg.n_ctx);
    if (set.empty()) throw Error("train: no path of the results qualifies (correct, every summary under the limit)");
    // 2% (at least one when there are 50) for the validation loss.
    std::vector<train::Example> val;
    for (size_t i = 49; i < set.size(); i += 50) val.push_back(set[i]);
    const double before = trainer.evaluate(val);
    const bool tty = isatty(fileno(stderr)) != 0;
    const double after = trainer.train(std::move(set), val, [&](const train::Progress& p) {
        if (!tty && !p.chunk_end) return;
        std::fprintf(stderr, "%strain: epoch %d/%d  %lld/%lld sequences  loss %.4f  %.0f tok/s  ETA %s%s", tty ? "\r" : "",
                     p.epoch, p.epochs, (long long)p.done, (long long)p.total, p.loss, p.tok_per_s, hms(p.eta_s).c_str(),
                     p.chunk_end ? "\n" : "");
    });
    trainer.save(a.out, "", a.command_line);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "train: validation loss %.4f -> %.4f; wrote %s in %s\n", before, after, a.out.c_str(),
                 hms(secs).c_str());
}

}  // namespace

void register_train(CLI::App& app) {
    auto a = std::make_shared<TrainArgs>();
    CLI::App* cmd = app.add_subcommand("train", "Train a model with llama.cpp's training API (--nano: the LeaP-T nano model, docs/nano.md)");
    cmd->add_flag("--nano", a->nano, "train a new small model on LeaP-T nano traces");
    cmd->add_option("-s,--seed", a->seed, "seed: weights, training problems, traces, order")->capture_default_str();
    cmd->add_option("-o,--out,--output", a->out, "output GGUF")->required();
    cmd->add_option("--init", a->init, "continue training this GGUF instead of a new model");
    cmd->add_option("--runs", a->runs, "simulated runs (problems); each gives N traces")->capture_default_str();
    cmd->add_option("--steps", a->steps, "steps after the key (1..5)")->capture_default_str();
    cmd->add_option("--slip", a->slip, "per-computation slip rate in the traces")->capture_default_str();
    cmd->add_option("--n-embd", a->n_embd, "model width")->capture_default_str();
    cmd->add_option("--n-layer", a->n_layer, "layers")->capture_default_str();
    cmd->add_option("--n-head", a->n_head, "attention heads")->capture_default_str();
    cmd->add_option("--n-ff", a->n_ff, "feed-forward width")->capture_default_str();
    cmd->add_option("--k-bias-std", a->k_bias_std,
                    "std of the new model's key biases (a component all keys share lets queries attend by "
                    "position from the first step; docs/nano.md)")->capture_default_str();
    cmd->add_option("--number-embeddings", a->number_embeddings,
                    "--nano: share of each token embedding shared by the tokens that name the same number "
                    "(llama.cpp never trains embeddings; docs/nano.md)")->capture_default_str();
    cmd->add_option("--kind-embeddings", a->kind_embeddings,
                    "--nano: share of each token embedding shared by the tokens of the same kind (the same text "
                    "but for its numbers); with --number-embeddings below 1")->capture_default_str();
    cmd->add_option("--given-key-share", a->given_key_share,
                    "--nano: share of training runs whose problem gives the key, so paths start at once (a "
                    "warm-up for the start's copy of the shift; docs/nano.md)")->capture_default_str();
    cmd->add_flag("--structured-output", a->structured_output,
                  "--nano: the output layer's rows share the same number and kind components as the embeddings "
                  "(as tied embeddings would; docs/nano.md)");
    cmd->add_option("--n-ctx", a->cfg.n_ctx, "training context (every example is padded to it)")->capture_default_str();
    cmd->add_flag("--no-pack", a->no_pack, "--nano: one example per training sequence, padded to --n-ctx (default: examples back to back)");
    cmd->add_option("--pack", a->cfg.pack, "sequences per optimizer step (gradients accumulated, one ubatch each)")->capture_default_str();
    cmd->add_option("--epochs", a->cfg.epochs, "passes over the examples")->capture_default_str();
    cmd->add_option("--lr", a->cfg.lr, "peak learning rate (AdamW, cosine decay)")->capture_default_str();
    cmd->add_option("--lr-min", a->cfg.lr_min, "final learning rate")->capture_default_str();
    cmd->add_option("--warmup", a->cfg.warmup, "share of steps with warm-up")->capture_default_str();
    cmd->add_option("--weight-decay", a->cfg.weight_decay, "AdamW weight decay")->capture_default_str();
    cmd->add_option("-t,--threads", a->cfg.threads, "CPU threads")->capture_default_str();
    cmd->add_option("--chunk", a->cfg.chunk, "examples between checkpoints and progress lines")->capture_default_str();
    cmd->add_option("--checkpoint", a->cfg.checkpoint, "GGUF rewritten after every chunk (resume with --init)");
    cmd->add_flag("--keep-temp", a->keep_temp, "keep the vocabulary and initial model files");
    cmd->add_option("--from-results", a->results,
                    "fine-tune -m MODEL on LeaP-T traces from leap eval results files (<bench>.jsonl): correct paths "
                    "whose every summary is under --max-summary-tokens");
    cmd->add_option("-m,--model", a->base, "with --from-results: the GGUF to fine-tune");
    cmd->add_option("--max-summary-tokens", a->max_summary_tokens, "with --from-results: longest summary kept")
        ->capture_default_str();
    cmd->callback([a] {
        if (a->nano == !a->results.empty())
            throw Error("train: say what to train on: --nano, or --from-results FILE... with -m MODEL");
        a->cfg.seed = a->seed;
        a->command_line = describe(*a);
        if (a->nano) run_nano(*a);
        else run_from_results(*a);
    });
}

}  // namespace leap::cli
