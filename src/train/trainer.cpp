#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "backends/llama/model.h"
#include "core/error.h"
#include "core/rng.h"
#include "ggml-opt.h"
#include "gguf.h"
#include "llama.h"

namespace leap::train {

namespace {
constexpr double kPi = 3.14159265358979323846;

// The optimizer asks for its parameters before every step; the schedule counts the steps.
struct Schedule {
    int64_t step = 0, total = 1;
    float lr = 1e-3f, lr_min = 1e-4f, warmup = 0.03f, wd = 0.0f;
};

ggml_opt_optimizer_params schedule_params(void* ud) {
    auto* s = static_cast<Schedule*>(ud);
    ggml_opt_optimizer_params p = ggml_opt_get_default_optimizer_params(nullptr);
    const double t = (double)s->step / (double)std::max<int64_t>(1, s->total);
    const double warm = std::max(1e-9, (double)s->warmup);
    double lr;
    if (t < warm) {
        lr = s->lr * (t / warm + 1.0 / (double)std::max<int64_t>(1, s->total));
    } else {
        const double u = std::min(1.0, (t - warm) / std::max(1e-9, 1.0 - warm));
        lr = s->lr_min + 0.5 * (s->lr - s->lr_min) * (1.0 + std::cos(kPi * u));
    }
    p.adamw.alpha = (float)lr;
    p.adamw.wd = s->wd;
    p.sgd.alpha = (float)lr;
    p.sgd.wd = s->wd;
    ++s->step;
    return p;
}

// llama_opt_epoch's callbacks take no user data: the running progress lives here.
struct LiveProgress {
    const std::function<void(const Progress&)>* report = nullptr;
    Progress p;
    int64_t done_before = 0;   // examples before this chunk
    int n_ctx = 0;
    std::chrono::steady_clock::time_point t0;
    int64_t tokens_before = 0;
    double labelled = 1;  // share of the chunk's positions with a label (the rest are masked)
    std::chrono::steady_clock::time_point last;
};
thread_local LiveProgress* g_live = nullptr;

void on_batch(bool train, ggml_opt_context_t, ggml_opt_dataset_t, ggml_opt_result_t result, int64_t ibatch,
              int64_t ibatch_max, int64_t) {
    if (!train || !g_live || !g_live->report || !*g_live->report) return;
    LiveProgress& L = *g_live;
    const auto now = std::chrono::steady_clock::now();
    if (ibatch != ibatch_max && now - L.last < std::chrono::milliseconds(500)) return;
    L.last = now;
    double loss = 0, unc = 0;
    ggml_opt_result_loss(result, &loss, &unc);
    L.p.done = std::min(L.p.total, L.done_before + ibatch);  // a ubatch is one example
    L.p.loss = loss / L.labelled;
    const double secs = std::chrono::duration<double>(now - L.t0).count();
    const double tokens = (double)L.p.done * L.n_ctx;
    L.p.tok_per_s = secs > 0 ? tokens / secs : 0;
    L.p.eta_s = L.p.done > 0 ? secs * (double)(L.p.total - L.p.done) / (double)L.p.done : 0;
    L.p.chunk_end = false;
    (*L.report)(L.p);
}

// ggml's loss averages over every position, masked ones included (zero loss): divided by the
// share of labelled positions it is per labelled token.
double labelled_share(const std::vector<Example>& ex, size_t from, size_t to) {
    int64_t all = 0, labelled = 0;
    for (size_t i = from; i < to; ++i) {
        all += (int64_t)ex[i].labels.size();
        for (int32_t l : ex[i].labels) labelled += l >= 0;
    }
    return labelled > 0 ? (double)labelled / (double)all : 1.0;
}

// Sequences a training context allows (separate_examples): more examples than fit in one.
constexpr int kMaxExamplesPerSequence = 64;

// Datapoints of `pack` examples each; a last, partial datapoint is filled up from the chunk's start.
ggml_opt_dataset_t make_dataset(const std::vector<Example>& ex, size_t from, size_t to, int n_ctx, int pack) {
    const size_t n = to - from;
    const size_t ndata = (n + pack - 1) / pack;
    const int64_t len = (int64_t)n_ctx * pack;
    ggml_opt_dataset_t ds = ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, len, len, (int64_t)ndata, 1);
    auto* data = (int32_t*)ggml_opt_dataset_data(ds)->data;
    auto* labels = (int32_t*)ggml_opt_dataset_labels(ds)->data;
    for (size_t slot = 0; slot < ndata * pack; ++slot) {
        const Example& e = ex[from + slot % n];
        std::copy(e.tokens.begin(), e.tokens.end(), data + slot * n_ctx);
        std::copy(e.labels.begin(), e.labels.end(), labels + slot * n_ctx);
    }
    return ds;
}
}  // namespace

struct Trainer::Impl {
    std::string in_path;
    TrainConfig cfg;
    llama_model* model = nullptr;
    llama_context* ctx = nullptr;
    Schedule schedule;
    // The file's tokenizer and chat template, read as the engine reads them (vocabulary only:
    // the weights above are the ones being trained).
    std::unique_ptr<LlamaModel> text;
};

Trainer::Trainer(const std::string& model_path, const TrainConfig& config) : impl_(std::make_unique<Impl>()) {
    Impl& I = *impl_;
    I.in_path = model_path;
    I.cfg = config;
    if (config.n_ctx < 8) throw Error("train: n_ctx must be >= 8");
    if (config.pack < 1) throw Error("train: pack must be >= 1");
    const uint32_t seq = (uint32_t)(config.n_ctx * config.pack);
    init_llama_logging();  // llama.cpp logs errors only, as in the engine (LEAP_LLAMA_LOG=1: all)
    llama_model_params mp = llama_model_default_params();
    mp.load_mode = LLAMA_LOAD_MODE_NONE;  // the optimizer writes into the weights
    mp.use_extra_bufts = false;           // repacked weights have no backward pass
    I.model = llama_model_load_from_file(model_path.c_str(), mp);
    if (!I.model) throw Error("train: cannot load model " + model_path);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = seq;
    cp.n_batch = seq;
    // One example per ubatch: llama.cpp accumulates the gradients of a sequence's ubatches and
    // steps the optimizer once per sequence (opt_period = n_batch / n_ubatch), so `pack` examples
    // make one optimizer step, and attention is computed ubatch by ubatch (a ubatch attends to
    // the earlier examples of its sequence through the KV cache).
    cp.n_ubatch = (uint32_t)config.n_ctx;
    cp.n_threads = config.threads;
    cp.n_threads_batch = config.threads;
    cp.type_k = GGML_TYPE_F32;  // OUT_PROD (backward) has no F16 path
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    if (config.separate_examples) {
        cp.kv_unified = true;
        cp.n_seq_max = kMaxExamplesPerSequence;
    }
    I.ctx = llama_init_from_model(I.model, cp);
    if (!I.ctx) throw Error("train: cannot create a context for " + model_path);
    I.schedule.lr = config.lr;
    I.schedule.lr_min = config.lr_min;
    I.schedule.warmup = config.warmup;
    I.schedule.wd = config.weight_decay;
    llama_opt_params op{};
    op.n_ctx_train = seq;
    op.param_filter = llama_opt_param_filter_all;
    op.param_filter_ud = nullptr;
    op.get_opt_pars = schedule_params;
    op.get_opt_pars_ud = &I.schedule;
    op.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    llama_opt_init(I.ctx, I.model, op);
    ModelOptions text;
    text.path = model_path;
    text.vocab_only = true;
    text.n_gpu_layers = 0;
    I.text = std::make_unique<LlamaModel>(text);
}

Trainer::~Trainer() {
    if (impl_->ctx) llama_free(impl_->ctx);
    if (impl_->model) llama_model_free(impl_->model);
}

int32_t Trainer::eos() const { return llama_vocab_eos(llama_model_get_vocab(impl_->model)); }
int Trainer::n_vocab() const { return llama_vocab_n_tokens(llama_model_get_vocab(impl_->model)); }

std::vector<int32_t> Trainer::tokenize(const std::string& text) const { return impl_->text->tokenize(text, false); }

std::string Trainer::render_prompt(const std::string& user_message) const {
    return impl_->text->render_prompt(user_message);
}

llama_model* Trainer::model() const { return impl_->model; }

double Trainer::evaluate(const std::vector<Example>& examples, double* accuracy) {
    if (examples.empty()) return std::nan("");
    Impl& I = *impl_;
    ggml_opt_dataset_t ds = make_dataset(examples, 0, examples.size(), I.cfg.n_ctx, I.cfg.pack);
    ggml_opt_result_t rt = ggml_opt_result_init(), re = ggml_opt_result_init();
    llama_opt_epoch(I.ctx, ds, rt, re, /*idata_split=*/0, nullptr, nullptr);
    double loss = 0, unc = 0;
    ggml_opt_result_loss(re, &loss, &unc);
    loss /= labelled_share(examples, 0, examples.size());
    ggml_opt_result_free(rt);
    ggml_opt_result_free(re);
    ggml_opt_dataset_free(ds);
    if (accuracy) *accuracy = decoded_accuracy(examples);
    return loss;
}

double Trainer::decoded_accuracy(const std::vector<Example>& examples) const {
    const Impl& I = *impl_;
    const int n_ctx = I.cfg.n_ctx;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = (uint32_t)n_ctx;
    cp.n_ubatch = (uint32_t)n_ctx;
    cp.n_threads = I.cfg.threads;
    cp.n_threads_batch = I.cfg.threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.kv_unified = true;
    cp.n_seq_max = kMaxExamplesPerSequence;
    llama_context* ctx = llama_init_from_model(I.model, cp);
    if (!ctx) throw Error("train: cannot create a context to score the model");
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(I.model));
    const llama_token bos = llama_vocab_bos(llama_model_get_vocab(I.model));
    llama_batch b = llama_batch_init(n_ctx, 0, 1);
    int64_t right = 0, labelled = 0;
    for (const auto& e : examples) {
        llama_memory_clear(llama_get_memory(ctx), true);
        b.n_tokens = n_ctx;
        // As the trainer sees it: with separate examples, a BOS starts a new sequence.
        llama_seq_id seq = 0;
        llama_pos pos = 0;
        for (int i = 0; i < n_ctx; ++i) {
            if (I.cfg.separate_examples && e.tokens[i] == bos && pos > 0 && seq + 1 < kMaxExamplesPerSequence) {
                ++seq;
                pos = 0;
            }
            b.token[i] = e.tokens[i];
            b.pos[i] = pos++;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = seq;
            b.logits[i] = e.labels[i] >= 0;
        }
        if (llama_decode(ctx, b) != 0) {
            llama_batch_free(b);
            llama_free(ctx);
            throw Error("train: decoding an example failed while scoring the model");
        }
        for (int i = 0; i < n_ctx; ++i) {
            if (e.labels[i] < 0) continue;
            const float* l = llama_get_logits_ith(ctx, i);
            right += (int)(std::max_element(l, l + n_vocab) - l) == e.labels[i];
            ++labelled;
        }
    }
    llama_batch_free(b);
    llama_free(ctx);
    return labelled > 0 ? (double)right / (double)labelled : std::nan("");
}

double Trainer::train(std::vector<Example> train, const std::vector<Example>& val,
                      const std::function<void(const Progress&)>& progress) {
    Impl& I = *impl_;
    const int n_ctx = I.cfg.n_ctx;
    for (const std::vector<Example>* set : {(const std::vector<Example>*)&train, &val})
        for (const auto& e : *set)
            if ((int)e.tokens.size() != n_ctx || (int)e.labels.size() != n_ctx)
                throw Error("train: an example is not padded to n_ctx = " + std::to_string(n_ctx));
    if (train.empty()) throw Error("train: no training examples");
    const int epochs = std::max(1, I.cfg.epochs);
    I.schedule.step = 0;
    I.schedule.total = ((int64_t)train.size() + I.cfg.pack - 1) / I.cfg.pack * epochs;

    LiveProgress live;
    live.report = &progress;
    live.p.epochs = epochs;
    live.p.total = (int64_t)train.size() * epochs;
    live.n_ctx = n_ctx;
    live.t0 = std::chrono::steady_clock::now();
    g_live = &live;
    double val_loss = std::nan("");
    Rng rng(mix_seed({I.cfg.seed, 0x545241494eu}));
    const size_t chunk = (size_t)std::max(1, I.cfg.chunk);
    for (int epoch = 0; epoch < epochs; ++epoch) {
        live.p.epoch = epoch + 1;
        for (size_t i = train.size(); i > 1; --i) std::swap(train[i - 1], train[rng.below(i)]);  // Fisher-Yates
        for (size_t from = 0; from < train.size(); from += chunk) {
            const size_t to = std::min(train.size(), from + chunk);
            ggml_opt_dataset_t ds = make_dataset(train, from, to, n_ctx, I.cfg.pack);
            ggml_opt_result_t rt = ggml_opt_result_init(), re = ggml_opt_result_init();
            live.done_before = (int64_t)epoch * (int64_t)train.size() + (int64_t)from;
            live.labelled = labelled_share(train, from, to);
            llama_opt_epoch(I.ctx, ds, rt, re, ggml_opt_dataset_ndata(ds), on_batch, nullptr);
            double loss = 0, unc = 0;
            ggml_opt_result_loss(rt, &loss, &unc);
            ggml_opt_result_free(rt);
            ggml_opt_result_free(re);
            ggml_opt_dataset_free(ds);
            if (!I.cfg.checkpoint.empty()) save(I.cfg.checkpoint);
            live.p.done = live.done_before + (int64_t)(to - from);
            live.p.loss = loss / live.labelled;
            live.p.chunk_end = true;
            if (progress) progress(live.p);
        }
        if (!val.empty()) val_loss = evaluate(val);
    }
    g_live = nullptr;
    return val_loss;
}

void Trainer::save(const std::string& path, const std::string& name, const std::string& training) const {
    // llama_model_save_to_file writes the weights but not every key of the input (the chat
    // template, for one): take its tensors and the input file's metadata.
    const std::string tmp = path + ".weights.tmp";
    llama_model_save_to_file(impl_->model, tmp.c_str());
    ggml_context* tctx = nullptr;
    gguf_init_params tp{/*no_alloc=*/false, &tctx};
    gguf_context* saved = gguf_init_from_file(tmp.c_str(), tp);
    if (!saved) throw Error("train: cannot read back " + tmp);
    gguf_init_params mp{/*no_alloc=*/true, nullptr};
    gguf_context* meta = gguf_init_from_file(impl_->in_path.c_str(), mp);
    if (!meta) {
        gguf_free(saved);
        ggml_free(tctx);
        throw Error("train: cannot read the metadata of " + impl_->in_path);
    }
    gguf_context* out = gguf_init_empty();
    gguf_set_kv(out, meta);
    if (!name.empty()) gguf_set_val_str(out, "general.name", name.c_str());
    if (!training.empty()) {
        for (const char* k : {"leap.preset", "leap.seed", "leap.init_std", "leap.weight_type"}) gguf_remove_key(out, k);
        gguf_set_val_str(out, "leap.training", training.c_str());
    }
    const int64_t n = gguf_get_n_tensors(saved);
    for (int64_t i = 0; i < n; ++i) {
        ggml_tensor* t = ggml_get_tensor(tctx, gguf_get_tensor_name(saved, i));
        if (!t) throw Error("train: tensor missing from " + tmp);
        gguf_add_tensor(out, t);
    }
    const std::string part = path + ".part";
    const bool ok = gguf_write_to_file(out, part.c_str(), false);
    gguf_free(out);
    gguf_free(meta);
    gguf_free(saved);
    ggml_free(tctx);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    if (!ok) throw Error("train: cannot write " + part);
    std::filesystem::rename(part, path, ec);
    if (ec) throw Error("train: cannot rename " + part + " to " + path + ": " + ec.message());
}

}  // namespace leap::train
