#include "backends/llama/engine.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <cstdio>
#include <thread>

#include "backends/llama/batch_plan.h"
#include "backends/llama/path_sequence.h"
#include "core/confidence.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/generation.h"

namespace leap {

using Clock = std::chrono::steady_clock;

namespace {
// llama.cpp's KV cache types (its -ctk/-ctv), by ggml's name for each.
ggml_type kv_cache_type(const std::string& name, const char* flag) {
    static const ggml_type kTypes[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16,   GGML_TYPE_Q8_0, GGML_TYPE_Q4_0,
                                       GGML_TYPE_Q4_1, GGML_TYPE_IQ4_NL, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1};
    std::string known;
    for (ggml_type t : kTypes) {
        if (name == ggml_type_name(t)) return t;
        known += (known.empty() ? "" : ", ") + std::string(ggml_type_name(t));
    }
    throw Error(std::string(flag) + ": unknown KV cache type '" + name + "' (one of " + known + ")");
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

int max_threads() {
    const int hw = (int)std::thread::hardware_concurrency();
    return std::min(512, std::max(16, 4 * hw));
}

void EngineOptions::validate() const {
    auto need = [](bool ok, const std::string& what) {
        if (!ok) throw Error(what);
    };
    need(parallel_problems >= 1, "--parallel-problems must be at least 1, got " + std::to_string(parallel_problems));
    need(n_batch >= 1, "batch size (-b/--batch-size) must be at least 1, got " + std::to_string(n_batch));
    need(n_ubatch >= 0, "physical batch size (-ub/--ubatch-size) must not be negative (0: automatic), got " +
                            std::to_string(n_ubatch));
    need(n_sequences >= 0, "the number of KV sequences must not be negative, got " + std::to_string(n_sequences));
    need(n_ctx_per_path >= 0,
         "context size (-c/--ctx-size) must not be negative (0: from the budgets), got " + std::to_string(n_ctx_per_path));
    need(longest_prompt >= 0, "the longest prompt must not be negative, got " + std::to_string(longest_prompt));
    need(kv_size >= 0, "--kv-size must not be negative (0: paths x context per path), got " + std::to_string(kv_size));
    need(kv_size == 0 || kv_unified, "--kv-size applies to a unified KV cache only (--kv-unified)");
    need(flash_attn >= -1 && flash_attn <= 1,
         "flash attention (-fa/--flash-attn) must be -1 (auto), 0 (off) or 1 (on), got " + std::to_string(flash_attn));
    need(threads >= 0 && threads <= max_threads(),
         "threads (-t/--threads) must be between 0 (all hardware threads) and " + std::to_string(max_threads()) +
             " (4x this machine's " + std::to_string(std::thread::hardware_concurrency()) +
             " hardware threads, at most 512), got " + std::to_string(threads));
    validate_sampling(sampling);
}

void warn_if_no_thinking(const LlamaModel& model, const PromptSet& prompts) {
    if (model.thinking_format() || prompts.end_of_thinking_fixed) return;
    static std::once_flag once;  // one warning per process, not one per engine
    std::call_once(once, [&] {
        std::fprintf(stderr, "leap: warning: %s shows no thinking section (%s); paths end their thinking with the "
                             "prompt set's marker '%s' and nothing opens it (--end-of-thinking sets another)\n",
                     model.template_origin().c_str(), model.thinking_note().c_str(), prompts.thinking.marker().c_str());
    });
}

struct LlamaEngine::PathState {
    PathSequence seq;
    SamplerPtr sampler;   // made anew for each request (request_seed)
    int requests = 0;     // generation requests started
    bool active = false;  // a request is in flight
    Generation gen;       // the request in flight
    int row = -1;         // batch row whose logits this path samples from next
    double done_at = -1;
    std::vector<llama_token_data> candidates;  // the sampler's working array, reused
};

struct LlamaEngine::Slot {
    Ticket ticket = 0;
    std::unique_ptr<ProblemRun> run;
    RunConfig config;
    SamplingOptions sampling;
    std::function<void(ProblemRun&, nlohmann::json)> on_done;
    std::function<void(const ProblemRun&, int)> on_request_done;
    std::vector<llama_seq_id> seqs;           // one per path; seqs[0] evaluates the prompt
    std::vector<PathState> paths;
    std::vector<llama_token> prompt;          // rendered prompt + prefill, evaluated once
    std::vector<llama_token> prefill_tokens;  // the prefill's tokens (the tail of `prompt`)
    int n_rendered = 0;
    int prompt_fed = 0;
    bool prompt_done = false;
    int prompt_row = -1;
    std::vector<GenerateRequest> first_requests;
    Clock::time_point t0;
};

LlamaEngine::LlamaEngine(const LlamaModel& model, const EngineOptions& opt, const RunConfig& config,
                         const PromptSet& prompts)
    : model_(model), opt_(opt), config_(config), prompts_(prompts.with_model_thinking(model.thinking_format())) {
    config_.validate();
    opt_.validate();
    warn_if_no_thinking(model, prompts_);
    for (llama_token t = 0; t < llama_vocab_n_tokens(model_.vocab()); ++t)
        max_piece_bytes_ = std::max(max_piece_bytes_, model_.piece(t).size());
    // P is a throughput knob: when P x N would pass llama.cpp's limit on sequences per context
    // (a compute-matched baseline multiplies N), fewer problems run at once instead of failing.
    const int max_seq = (int)llama_max_parallel_sequences();
    if (opt_.n_sequences <= 0 && config_.n_paths <= max_seq && config_.n_paths * opt_.parallel_problems > max_seq) {
        const int lowered = max_seq / config_.n_paths;
        std::fprintf(stderr, "leap: --parallel-problems %d lowered to %d: %d paths x %d problems would exceed llama.cpp's %d sequences per context\n",
                     opt_.parallel_problems, lowered, config_.n_paths, opt_.parallel_problems, max_seq);
        opt_.parallel_problems = lowered;
    }
    defaults_.config = config_;
    defaults_.sampling = opt_.sampling;
    defaults_.parallel_problems = opt_.parallel_problems;
    const int n_seq = opt_.n_sequences > 0 ? opt_.n_sequences : config_.n_paths * opt_.parallel_problems;
    if (n_seq > max_seq)
        throw Error("paths x parallel problems = " + std::to_string(n_seq) + " exceeds llama.cpp's " +
                    std::to_string(max_seq) + " sequences per context");
    if (n_seq < config_.n_paths)
        throw Error(std::to_string(n_seq) + " KV sequences cannot hold a problem of " + std::to_string(config_.n_paths) +
                    " paths");
    // Every decode step may feed one token to each sequence, and llama.cpp keeps outputs for at
    // most a batch of tokens (n_outputs_max): a smaller batch aborts inside llama_decode.
    if (opt_.n_batch < n_seq)
        throw Error("batch size (-b/--batch-size) " + std::to_string(opt_.n_batch) + " cannot hold one token for each of the " +
                    std::to_string(n_seq) + " KV sequences (paths x parallel problems, or the sequences asked for): use a "
                    "batch of at least " + std::to_string(n_seq));
    int per_path = opt_.n_ctx_per_path;
    if (per_path <= 0) {
        const RunConfig& c = config_;
        // A write-up after a natural end of thinking may take its whole budget near the end.
        const long want = std::max(1024L, (long)opt_.longest_prompt) + (long)c.segments * c.segment_tokens +
                          (long)(c.segments - 1) * (c.summary_tokens * (c.router.k + 1) + 24L * c.router.k + 256) +
                          std::max<long>(answer_reserve(c), c.write_up_tokens) + 64;
        per_path = (int)std::min<long>(want, std::max(model_.n_ctx_train(), 512));
    }
    if (per_path <= answer_reserve(config_) + 64)
        throw Error("context per path (--ctx-size " + std::to_string(per_path) + ") is too small for an answer budget of " +
                    std::to_string(config_.answer_tokens) + " tokens");
    if (opt_.kv_unified && opt_.kv_size > 0 && opt_.kv_size <= answer_reserve(config_) + 64)
        throw Error("--kv-size " + std::to_string(opt_.kv_size) + " is too small: the unified KV cache must hold at least one "
                    "path's prompt and answer budget of " + std::to_string(config_.answer_tokens) + " tokens (more than " +
                    std::to_string(answer_reserve(config_) + 64) + " cells)");

    llama_context_params cp = llama_context_default_params();
    cp.n_seq_max = n_seq;
    cp.kv_unified = opt_.kv_unified;
    cp.n_ctx = (uint32_t)per_path * n_seq;
    if (opt_.kv_unified && opt_.kv_size > 0) cp.n_ctx = (uint32_t)opt_.kv_size;
    // Unified: one cache of the same total size; the prompt's cells are shared, not copied.
    cp.n_batch = opt_.n_batch;
    cp.n_ubatch = std::min(opt_.n_ubatch > 0 ? opt_.n_ubatch : (opt_.kv_unified ? 512 : opt_.n_batch), opt_.n_batch);
    const int threads = opt_.threads > 0 ? opt_.threads : (int)std::max(1u, std::thread::hardware_concurrency());
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.no_perf = true;
    cp.flash_attn_type = (llama_flash_attn_type)opt_.flash_attn;
    cp.type_k = kv_cache_type(opt_.cache_type_k, "--cache-type-k");
    cp.type_v = kv_cache_type(opt_.cache_type_v, "--cache-type-v");
    // llama.cpp caps the batch at the context's size (a small unified --kv-size) and reserves
    // outputs for that many tokens: fewer than the sequences aborts while making the context.
    if ((long)std::min<uint32_t>(cp.n_ctx, cp.n_batch) < n_seq)
        throw Error("a KV cache of " + std::to_string(cp.n_ctx) + " cells caps the batch at " + std::to_string(cp.n_ctx) +
                    " tokens, less than one token for each of the " + std::to_string(n_seq) +
                    " KV sequences: raise --kv-size or -c/--ctx-size");
    if (opt_.backend_sampling && candidates_needed(opt_.sampling, llama_vocab_n_tokens(model_.vocab())) <= 0)
        throw Error("--backend-sampling needs top-k sampling (or greedy): the device sends back only each path's "
                    "top-k candidates; set --top-k");
    ctx_ = llama_init_from_model(model_.get(), cp);
    if (!ctx_)
        throw Error("llama.cpp could not create a context of " + std::to_string(cp.n_ctx) + " tokens for " +
                    std::to_string(n_seq) + " sequences (out of memory? lower --ctx-size or paths)");
    // The destructor does not run for a constructor that throws: what was made is freed here
    // (found by the sanitizer build: a refused --backend-sampling kept its whole context).
    try {
        finish_construction(n_seq, per_path, threads);
    } catch (...) {
        llama_batch_free(batch_);
        llama_free(ctx_);
        ctx_ = nullptr;
        throw;
    }
}

void LlamaEngine::finish_construction(int n_seq, int per_path, int threads) {
    mem_ = llama_get_memory(ctx_);
    // Feeding more than llama.cpp's capped batch aborts in llama_decode: the engine's batch
    // follows the cap (checked above to hold a token of every sequence).
    opt_.n_batch = std::min(opt_.n_batch, (int)llama_n_batch(ctx_));
    n_ctx_seq_ = (int)llama_n_ctx_seq(ctx_);
    if (opt_.kv_unified) n_ctx_seq_ = std::min(n_ctx_seq_, per_path);
    batch_ = llama_batch_init(opt_.n_batch, 0, 1);
    sampling_threads_ = threads;
    seq_free_.assign(n_seq, 1);
    const int n_vocab = llama_vocab_n_tokens(model_.vocab());
    eog_.assign(n_vocab, 0);
    for (llama_token t = 0; t < n_vocab; ++t) eog_[t] = llama_vocab_is_eog(model_.vocab(), t) ? 1 : 0;
    if (opt_.backend_sampling) attach_device_samplers(n_seq);
}

void LlamaEngine::attach_device_samplers(int n_seq) {
    const int n_vocab = llama_vocab_n_tokens(model_.vocab());
    device_k_max_ = candidates_needed(opt_.sampling, n_vocab);
    if (device_k_max_ <= 0)
        throw Error("--backend-sampling needs top-k sampling (or greedy): the device sends back only each path's "
                    "top-k candidates; set --top-k");
    // Every end-of-generation token too: they may be banned after the device's cut.
    const int device_k = std::min(n_vocab, device_k_max_ + (int)std::count(eog_.begin(), eog_.end(), 1));
    for (int s = 0; s < n_seq; ++s) {
        llama_sampler_chain_params p = llama_sampler_chain_default_params();
        p.no_perf = true;
        SamplerPtr chain(llama_sampler_chain_init(p));
        llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(device_k));
        if (!llama_set_sampler(ctx_, s, chain.get())) {
            // The device cannot run it: every sequence samples on the host as without the option.
            for (int r = 0; r < s; ++r) llama_set_sampler(ctx_, r, nullptr);
            device_samplers_.clear();
            std::fprintf(stderr, "leap: --backend-sampling: llama.cpp cannot run top-k on this model's device; "
                                 "sampling on the host\n");
            return;
        }
        device_samplers_.push_back(std::move(chain));
    }
}

LlamaEngine::~LlamaEngine() {
    llama_batch_free(batch_);
    if (ctx_) llama_free(ctx_);
}

int LlamaEngine::sequences_in_use() const {
    int n = 0;
    for (int s = 0; s < (int)llama_n_seq_max(ctx_); ++s)
        if (llama_memory_seq_pos_max(mem_, s) >= 0) ++n;
    return n;
}

long LlamaEngine::cells_in_use() const {
    long n = 0;
    for (int s = 0; s < (int)llama_n_seq_max(ctx_); ++s) {
        const llama_pos lo = llama_memory_seq_pos_min(mem_, s), hi = llama_memory_seq_pos_max(mem_, s);
        if (hi >= 0) n += hi - lo + 1;
    }
    return n;
}

std::optional<KvUsage> LlamaEngine::kv_usage() const {
    KvUsage u;
    u.sequences_in_use = sequences_in_use();
    u.cells_in_use = cells_in_use();
    u.cells_total = (long)llama_n_ctx(ctx_);
    return u;
}

int LlamaEngine::free_sequences() const { return (int)std::count(seq_free_.begin(), seq_free_.end(), 1); }

int LlamaEngine::problems_in_flight() const {
    return (int)std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->run != nullptr; });
}

int prompt_tokens(const LlamaModel& model, const PromptSet& prompts, const RunConfig& config, const Problem& problem) {
    // As the engine will prepare it (its prompt set follows the model's thinking format).
    return (int)prepare_prompt(model, problem, config, prompts.with_model_thinking(model.thinking_format()), {})->n_tokens();
}

int LlamaEngine::prompt_limit() const { return n_ctx_seq_ - answer_reserve(config_) - 1; }

const ProblemRun* LlamaEngine::problem(Ticket ticket) const {
    for (const auto& sp : slots_)
        if (sp->run && sp->ticket == ticket) return sp->run.get();
    return nullptr;
}

std::string_view LlamaEngine::sampled_so_far(Ticket ticket, int path) const {
    for (const auto& sp : slots_)
        if (sp->run && sp->ticket == ticket) {
            if (path < 0 || path >= (int)sp->paths.size() || !sp->paths[path].active) return {};
            return sp->paths[path].gen.text;
        }
    return {};
}

std::shared_ptr<const PreparedPrompt> LlamaEngine::prepare(const Problem& problem, const RunConfig& config) const {
    // Reads only what the constructor fixed (model, prompt set, context size), so it is safe on
    // any thread: llama_tokenize and the chat templates are const on the model.
    return prepare_prompt(model_, problem, config, prompts_, {n_ctx_seq_, max_piece_bytes_, "--ctx-size"});
}

bool LlamaEngine::start(Submission sub, Ticket* ticket) {
    sub.config.validate();
    validate_sampling(sub.sampling);
    if (!device_samplers_.empty()) {
        const int k = candidates_needed(sub.sampling, llama_vocab_n_tokens(model_.vocab()));
        if (k <= 0 || k > device_k_max_)
            throw Error("problem '" + sub.problem.id + "': with --backend-sampling a problem's sampling must keep at most the " +
                        std::to_string(device_k_max_) + " candidates the engine was started with (top-k " +
                        (k <= 0 ? std::string("off") : std::to_string(k)) + " asked)");
    }
    const int n_paths = sub.config.n_paths;
    if (n_paths > n_sequences())
        throw Error(std::to_string(n_paths) + " paths do not fit in the engine's " + std::to_string(n_sequences()) +
                    " KV sequences");
    if (free_sequences() < n_paths) return false;
    // Prepared on the submitter's thread (leap serve), or now.
    const std::shared_ptr<const PreparedPrompt> prepared = sub.prepared ? sub.prepared : prepare(sub.problem, sub.config);

    Slot* free_slot = nullptr;
    for (auto& sp : slots_)
        if (!sp->run) {
            free_slot = sp.get();
            break;
        }
    if (!free_slot) free_slot = slots_.emplace_back(std::make_unique<Slot>()).get();
    Slot& slot = *free_slot;
    slot.ticket = next_ticket_++;
    if (ticket) *ticket = slot.ticket;
    slot.config = sub.config;
    slot.sampling = sub.sampling;
    slot.on_done = std::move(sub.on_done);
    slot.on_request_done = std::move(sub.on_request_done);
    slot.seqs.clear();
    for (int s = 0; s < (int)seq_free_.size() && (int)slot.seqs.size() < n_paths; ++s)
        if (seq_free_[s]) {
            seq_free_[s] = 0;
            slot.seqs.push_back(s);
        }
    slot.run = std::make_unique<ProblemRun>(sub.index, std::move(sub.problem), slot.config, prompts_);
    slot.prompt = prepared->rendered;
    slot.prompt.insert(slot.prompt.end(), prepared->prefill_tokens.begin(), prepared->prefill_tokens.end());
    slot.n_rendered = (int)prepared->rendered.size();
    slot.prefill_tokens = prepared->prefill_tokens;
    slot.run->set_prompt_tokens((long)slot.prompt.size());
    slot.run->set_prompt_tail(prepared->tail);
    slot.prompt_fed = 0;
    slot.prompt_done = false;
    slot.prompt_row = -1;
    slot.paths.clear();
    slot.paths.resize(n_paths);
    slot.first_requests = slot.run->take_requests();
    slot.t0 = Clock::now();
    return true;
}

void LlamaEngine::release(Slot& slot) {
    for (llama_seq_id seq : slot.seqs) {
        llama_memory_seq_rm(mem_, seq, -1, -1);
        seq_free_[seq] = 1;
    }
    slot.seqs.clear();
    slot.paths.clear();
    slot.first_requests.clear();
    slot.on_done = nullptr;
    slot.on_request_done = nullptr;
    slot.run.reset();
}

bool LlamaEngine::cancel(Ticket ticket) {
    for (auto& sp : slots_)
        if (sp->run && sp->ticket == ticket) {
            release(*sp);
            return true;
        }
    return false;
}

void LlamaEngine::reset() {
    for (auto& sp : slots_)
        if (sp->run) release(*sp);
    llama_memory_clear(mem_, true);
}

void LlamaEngine::start_requests(Slot& slot) {
    for (GenerateRequest& req : slot.run->take_requests()) {
        PathState& ps = slot.paths[req.path];
        int fresh_prompt = 0;
        if (!req.new_conversation.empty()) {
            // A new conversation (MoA, reference layout): the path's cache starts over on it.
            const std::vector<llama_token> prompt =
                model_.tokenize(model_.render_prompt(req.new_conversation, slot.run->problem().earlier_turns), true);
            stats_.rolled_back += ps.seq.n_fed();
            ps.seq.restart(prompt, model_, mem_);
            fresh_prompt = (int)prompt.size();
            stats_.tokens[(size_t)TokenKind::Injected] += fresh_prompt;
        }
        const auto e = ps.seq.edit(req.keep, req.append, model_, mem_);
        stats_.rolled_back += e.rolled_back;
        stats_.refed += e.refed;
        stats_.tokens[(size_t)req.append_kind] += e.appended;
        begin_request(slot, std::move(req), e.appended + fresh_prompt);
        ps.row = -1;
        stats_.refed += ps.seq.ensure_pending(mem_);
        const int limit = ps.gen.req.kind == TokenKind::Answer ? n_ctx_seq_ : n_ctx_seq_ - answer_reserve(slot.config);
        if (ps.seq.end_pos() >= limit) finish_request(slot, ps.gen.req.path, StopReason::ContextFull);
    }
}

void LlamaEngine::begin_request(Slot& slot, GenerateRequest req, int appended) {
    PathState& ps = slot.paths[req.path];
    // A fresh generator per request, seeded as the OpenAI backend seeds the same request on a
    // server (core/rng.h request_seed): the two give the same tokens from the same logits.
    ps.sampler = make_sampler(slot.sampling, model_.vocab(),
                              request_seed(slot.config.seed, slot.run->index(), req.path, ps.requests++));
    ps.gen.start(std::move(req), appended);
    ps.active = true;
}

void LlamaEngine::finish_request(Slot& slot, int path, StopReason reason) {
    PathState& ps = slot.paths[path];
    ps.active = false;
    ps.row = -1;
    slot.run->complete(path, ps.gen.finish(reason));
    // Early exit: end the requests the run no longer needs; each reports what it sampled.
    for (int stopped : slot.run->take_stops())
        if (slot.paths[stopped].active) finish_request(slot, stopped, StopReason::Stopped);
    for (int i = 0; i < (int)slot.paths.size(); ++i)
        if (slot.paths[i].done_at < 0 && slot.run->paths()[i].phase == Phase::Done)
            slot.paths[i].done_at = seconds_since(slot.t0);
    if (slot.on_request_done) slot.on_request_done(*slot.run, path);
    start_requests(slot);
}

bool LlamaEngine::build_and_decode() {
    // path -1: the shared prompt; `pad` throwaway tokens follow an append (batch_plan.h)
    struct Entry { Slot* slot; int path; int n; int pad; bool logits; llama_seq_id seq; };
    std::vector<Entry> entries;
    auto add = [&](llama_token t, llama_pos pos, llama_seq_id seq, bool logits) {
        const int i = batch_.n_tokens++;
        batch_.token[i] = t;
        batch_.pos[i] = pos;
        batch_.n_seq_id[i] = 1;
        batch_.seq_id[i][0] = seq;
        batch_.logits[i] = logits;
    };
    auto check_history = [&](llama_seq_id seq, llama_pos pos) {
        if (pos <= llama_memory_seq_pos_max(mem_, seq)) ++stats_.history_reevaluated;
    };

    size_t max_entries = SIZE_MAX;
    for (;;) {
        batch_.n_tokens = 0;
        entries.clear();
        int budget = opt_.n_batch;
        // What goes in: sampling paths first (one token each), then prompts, then longer appends.
        std::vector<AppendDemand> demands;
        std::vector<std::pair<Slot*, int>> appending;
        for (int pass = 0; pass < 3; ++pass) {
            for (auto& sp : slots_) {
                Slot& slot = *sp;
                if (!slot.run) continue;
                if (pass == 1) {
                    if (slot.prompt_done || budget == 0 || entries.size() >= max_entries) continue;
                    const int n = std::min<int>(budget, (int)slot.prompt.size() - slot.prompt_fed);
                    budget -= n;
                    entries.push_back({&slot, -1, n, 0, slot.prompt_fed + n == (int)slot.prompt.size(), slot.seqs[0]});
                    continue;
                }
                if (!slot.prompt_done) continue;
                for (int i = 0; i < (int)slot.paths.size(); ++i) {
                    PathState& ps = slot.paths[i];
                    const int pending = ps.seq.n_pending();
                    if (!ps.active || pending == 0 || budget == 0) continue;
                    if ((pass == 0) != (pending == 1)) continue;
                    if (entries.size() + appending.size() >= max_entries) continue;
                    if (pass == 0) {
                        --budget;
                        entries.push_back({&slot, i, 1, 0, true, ps.seq.seq()});
                    } else {
                        demands.push_back({ps.seq.seq(), pending, n_ctx_seq_ - ps.seq.next_pos()});
                        appending.push_back({&slot, i});
                    }
                }
            }
        }
        const std::vector<AppendFeed> feeds = plan_appends(demands, budget, !opt_.kv_unified);
        for (size_t a = 0; a < feeds.size(); ++a) {
            if (feeds[a].n == 0) continue;
            const auto [slot, i] = appending[a];
            entries.push_back({slot, i, feeds[a].n, feeds[a].pad, feeds[a].n == demands[a].pending, demands[a].seq});
        }
        // Laid out in sequence order: with a KV stream per sequence, llama.cpp splits a batch into
        // micro-batches of consecutive sequence ids, so any other order multiplies them.
        std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
        for (const Entry& e : entries) {
            if (e.path < 0) {
                Slot& slot = *e.slot;
                for (int j = 0; j < e.n; ++j) {
                    const int p = slot.prompt_fed + j;
                    check_history(e.seq, p);
                    add(slot.prompt[p], p, e.seq, j + 1 == e.n && e.logits);
                }
            } else {
                const PathSequence& seq = e.slot->paths[e.path].seq;
                for (int j = 0; j < e.n; ++j) {
                    check_history(e.seq, seq.next_pos() + j);
                    add(seq.pending(j), seq.next_pos() + j, e.seq, j + 1 == e.n && e.logits);
                }
                // Any token will do: nothing reads these positions before they are removed.
                for (int j = 0; j < e.pad; ++j) add(seq.pending(e.n - 1), seq.next_pos() + e.n + j, e.seq, false);
            }
        }
        if (batch_.n_tokens == 0) return false;

        const auto t_decode = Clock::now();
        const int ret = llama_decode(ctx_, batch_);
        llama_synchronize(ctx_);
        const double dt = seconds_since(t_decode);
        stats_.decode_seconds += dt;
        if (ret == 0) {
            if (std::any_of(entries.begin(), entries.end(), [](const Entry& e) { return e.n > 1; })) {
                ++stats_.append_calls;
                stats_.append_seconds += dt;
                stats_.append_call_tokens += batch_.n_tokens;
            }
            break;
        }
        if (ret != 1) throw Error("llama_decode failed with status " + std::to_string(ret));
        // No KV slot for this batch: shrink it; a single path that does not fit must answer now.
        ++stats_.kv_full_events;
        if (entries.size() > 1) {
            max_entries = entries.size() / 2;
            continue;
        }
        const Entry& e = entries.front();
        if (e.path < 0)
            throw Error("problem '" + e.slot->run->problem().id + "': the KV cache has no room for its prompt");
        e.slot->run->add_note(e.path, "KV cache full: the engine could not place this path's tokens");
        finish_request(*e.slot, e.path, StopReason::ContextFull);
        return true;
    }

    ++stats_.decode_calls;
    stats_.batch_tokens += batch_.n_tokens;
    int row = 0;
    for (const Entry& e : entries) {
        row += e.n;
        stats_.padding += e.pad;
        if (e.path < 0) {
            e.slot->prompt_fed += e.n;
            stats_.prompt_tokens_evaluated += e.n;
            stats_.tokens[(size_t)TokenKind::Prompt] += e.n;
            if (e.logits) e.slot->prompt_row = row - 1;
        } else {
            PathState& ps = e.slot->paths[e.path];
            if (e.n == 1 && e.pad == 0) {
                ++stats_.step_tokens;
                stats_.step_depth_sum += ps.seq.next_pos();
            }
            ps.seq.mark_fed(e.n);
            if (e.logits) ps.row = row - 1;
            if (e.pad > 0) llama_memory_seq_rm(mem_, e.seq, ps.seq.next_pos(), -1);
            row += e.pad;
        }
    }
    return true;
}

void LlamaEngine::share_prompt_if_done(Slot& slot) {
    if (slot.prompt_done || slot.prompt_row < 0) return;
    // The prompt is in path 0's sequence: share it, then every path samples from its logits.
    slot.prompt_done = true;
    for (int i = 0; i < (int)slot.paths.size(); ++i) {
        const llama_seq_id seq = slot.seqs[i];
        if (i > 0) llama_memory_seq_cp(mem_, slot.seqs[0], seq, -1, -1);
        slot.paths[i].seq.reset(seq, slot.n_rendered, slot.prefill_tokens, slot.run->prefill(), model_);
    }
    for (GenerateRequest& req : slot.first_requests) {
        const int path = req.path;
        begin_request(slot, std::move(req), 0);
        slot.paths[path].row = slot.prompt_row;
    }
    slot.first_requests.clear();
}

void LlamaEngine::sample_all() {
    const auto t0 = Clock::now();
    struct Pick {
        Slot* slot;
        int path;
        const float* logits;  // the whole vocabulary's, or the device's candidates' (backend sampling)
        const llama_token* ids = nullptr;  // backend sampling: the candidates
        int n_ids = 0;
        llama_token token = LLAMA_TOKEN_NULL;
        float confidence = 0;  // token confidence (core/confidence.h), when the run needs it
    };
    std::vector<Pick> picks;
    for (auto& sp : slots_) {
        if (!sp->run) continue;
        for (int i = 0; i < (int)sp->paths.size(); ++i) {
            PathState& ps = sp->paths[i];
            if (!ps.active || ps.row < 0) continue;
            // Fetched one by one: the first call synchronizes and puts llama.cpp's outputs in order.
            if (!device_samplers_.empty()) {
                const int n = (int)llama_get_sampled_candidates_count_ith(ctx_, ps.row);
                const llama_token* ids = llama_get_sampled_candidates_ith(ctx_, ps.row);
                const float* l = llama_get_sampled_logits_ith(ctx_, ps.row);
                if (!ids || !l || n <= 0 || (int)llama_get_sampled_logits_count_ith(ctx_, ps.row) != n)
                    throw Error("backend sampling: llama.cpp returned no candidates for a path's step");
                picks.push_back({sp.get(), i, l, ids, n});
            } else {
                picks.push_back({sp.get(), i, llama_get_logits_ith(ctx_, ps.row)});
            }
            ps.row = -1;
        }
    }
    // Each path's sampler chain is its own, and the logits are read-only: the draws run in
    // parallel (the host-side cost of a step with many paths and a large vocabulary).
    const int n_vocab = llama_vocab_n_tokens(model_.vocab());
    const int n = (int)picks.size();
#pragma omp parallel for schedule(dynamic, 1) num_threads(sampling_threads_) if (n > 1)
    for (int k = 0; k < n; ++k) {
        Pick& pk = picks[k];
        PathState& ps = pk.slot->paths[pk.path];
        std::vector<llama_token_data>& cur = ps.candidates;
        const SamplingOptions& so = pk.slot->sampling;
        const int k_needed = candidates_needed(so, n_vocab);
        // DeepConf's token confidence from the model's own distribution: over the whole
        // vocabulary's logits, or over the candidates the device kept (backend sampling).
        if (pk.slot->config.needs_confidence())
            pk.confidence = (float)token_confidence(pk.logits, pk.ids ? pk.n_ids : n_vocab, pk.slot->config.confidence.top_k);
        bool sorted = false;
        if (pk.ids) {
            // The device's top-k, in the host path's order, without banned tokens: the same list.
            device_candidates(pk.ids, pk.logits, pk.n_ids, k_needed, so.ban_end_of_generation ? &eog_ : nullptr, cur);
            sorted = true;
        } else if (k_needed > 0) {
            // Only what the chain can keep (its top-k, or greedy's maximum): same token, one pass.
            top_candidates(pk.logits, n_vocab, k_needed, so.ban_end_of_generation ? &eog_ : nullptr, cur);
            sorted = true;
        } else {
            cur.resize(n_vocab);
            for (llama_token t = 0; t < n_vocab; ++t) cur[t] = llama_token_data{t, pk.logits[t], 0.0f};
        }
        llama_token_data_array arr = {cur.data(), cur.size(), -1, sorted};
        llama_sampler_apply(ps.sampler.get(), &arr);
        pk.token = arr.data[arr.selected].id;
        llama_sampler_accept(ps.sampler.get(), pk.token);
    }
    stats_.sample_seconds += seconds_since(t0);
    if (!device_samplers_.empty()) stats_.device_cut_draws += n;
    for (const Pick& pk : picks) {
        // A path an earlier pick of this step stopped (early exit) has no request any more.
        if (!pk.slot->paths[pk.path].active) continue;
        // One value per token the request counts (end-of-generation is not one of them).
        const bool counted = !model_.is_end_of_generation(pk.token) || opt_.sampling.ban_end_of_generation;
        if (pk.slot->config.needs_confidence() && counted) pk.slot->paths[pk.path].gen.confidence.push_back(pk.confidence);
        accept_token(*pk.slot, pk.path, pk.token);
    }
}

void LlamaEngine::accept_token(Slot& slot, int i, llama_token t) {
    PathState& ps = slot.paths[i];
    ++stats_.sampled;
    if (model_.is_end_of_generation(t) && !opt_.sampling.ban_end_of_generation) {
        finish_request(slot, i, StopReason::EndOfSequence);
        return;
    }
    const std::string piece = model_.piece(t);
    ps.seq.push_sampled(t, piece);
    ++stats_.tokens[(size_t)ps.gen.req.kind];
    size_t overshoot = 0;
    if (const auto why = ps.gen.add(piece, overshoot)) {
        if (overshoot > 0) {
            // The token ran past the stop string: keep only the part up to it.
            const auto e = ps.seq.edit(ps.seq.text().size() - overshoot, "", model_, mem_);
            stats_.refed += e.refed;
            stats_.rolled_back += e.rolled_back;
        }
        finish_request(slot, i, *why);
        return;
    }
    const int limit = ps.gen.req.kind == TokenKind::Answer ? n_ctx_seq_ : n_ctx_seq_ - answer_reserve(slot.config);
    if (ps.seq.end_pos() >= limit) {
        slot.run->add_note(i, "reached the context size (" + std::to_string(n_ctx_seq_) + " tokens per path)");
        finish_request(slot, i, StopReason::ContextFull);
    }
}

nlohmann::json LlamaEngine::finish_problem(Slot& slot) {
    nlohmann::json paths_s = nlohmann::json::array();
    for (const PathState& ps : slot.paths) paths_s.push_back(ps.done_at);
    return {{"wall_s", seconds_since(slot.t0)}, {"paths_done_s", paths_s}};
}

bool LlamaEngine::step() {
    if (problems_in_flight() == 0) return false;
    const auto t0 = Clock::now();
    if (!build_and_decode()) throw Error("internal error: unfinished problems but nothing to decode (please report)");
    for (auto& sp : slots_)
        if (sp->run) share_prompt_if_done(*sp);
    sample_all();
    stats_.seconds += seconds_since(t0);
    // Finished problems free their sequences first; callbacks run after the loop, so one may
    // start another problem.
    struct Finished {
        std::function<void(ProblemRun&, nlohmann::json)> on_done;
        std::unique_ptr<ProblemRun> run;
        nlohmann::json timings;
    };
    std::vector<Finished> finished;
    for (auto& sp : slots_) {
        if (!sp->run || !sp->run->done()) continue;
        nlohmann::json timings = finish_problem(*sp);
        finished.push_back({std::move(sp->on_done), std::move(sp->run), std::move(timings)});
        release(*sp);
    }
    for (Finished& f : finished)
        if (f.on_done) f.on_done(*f.run, std::move(f.timings));
    return true;
}

}  // namespace leap
