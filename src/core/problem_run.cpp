#include "core/problem_run.h"

#include <algorithm>

#include "core/block.h"
#include "core/error.h"
#include "core/rng.h"

namespace leap {

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
    return !suffix.empty() && s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

ProblemRun::ProblemRun(int problem_index, Problem problem, RunConfig config, const PromptSet& prompts)
    : index_(problem_index), problem_(std::move(problem)), config_(std::move(config)), prompts_(prompts) {
    config_.validate();
    const bool mc = problem_.multiple_choice();
    const std::string& tmpl = config_.uses_protocol_prompt()
                                  ? (mc ? prompts_.leap_user_choice : prompts_.leap_user_math)
                                  : (mc ? prompts_.plain_user_choice : prompts_.plain_user_math);
    user_message_ = fill_template(tmpl, problem_.text, problem_.choices, prompts_.end_of_thinking);
    if (config_.uses_protocol_prompt()) prefill_ = prompts_.leap_prefill;

    paths_.resize(config_.n_paths);
    in_flight_.assign(config_.n_paths, 0);
    for (int i = 0; i < config_.n_paths; ++i) {
        Path& p = paths_[i];
        p.index = i;
        p.text = prefill_;
        p.synced = prefill_.size();  // the prefill is part of the shared prompt
        start_segment(p);
    }
}

std::vector<std::string> ProblemRun::segment_stops(int segment) const {
    std::vector<std::string> stops{prompts_.end_of_thinking};
    // LeaP-T: a summary the model opens ends the segment where a block follows to take it over;
    // in the last segment it is just reasoning (stopping would force the answer right after it).
    if (config_.method == Method::LeapT && config_.block_enabled(segment)) stops.emplace_back(kSummarizeOpen);
    return stops;
}

void ProblemRun::issue(Path& p, int max_tokens, std::vector<std::string> stops, TokenKind kind,
                       TokenKind append_kind) {
    GenerateRequest r;
    r.path = p.index;
    r.keep = p.synced;
    r.append = p.text.substr(p.synced);
    r.append_kind = append_kind;
    r.max_tokens = max_tokens;
    r.stops = std::move(stops);
    r.kind = kind;
    p.synced = p.text.size();
    in_flight_[p.index] = 1;
    pending_.push_back(std::move(r));
}

void ProblemRun::start_segment(Path& p) {
    p.phase = Phase::Segment;
    p.segment_start = p.text.size();
    p.segments.emplace_back();
    issue(p, config_.segment_tokens, segment_stops(p.segment), TokenKind::Reasoning);
}

std::vector<GenerateRequest> ProblemRun::take_requests() {
    std::vector<GenerateRequest> out;
    out.swap(pending_);
    return out;
}

bool ProblemRun::done() const {
    return std::all_of(paths_.begin(), paths_.end(), [](const Path& p) { return p.phase == Phase::Done; });
}

void ProblemRun::complete(int index, const GenerateResult& r) {
    if (index < 0 || index >= (int)paths_.size() || !in_flight_[index])
        throw Error("problem " + problem_.id + ": result for path " + std::to_string(index) +
                    " which has no request in flight");
    in_flight_[index] = 0;
    Path& p = paths_[index];
    const size_t before = p.text.size();
    p.text += r.text;
    p.synced = p.text.size();

    switch (p.phase) {
        case Phase::Segment: {
            p.tokens[(size_t)TokenKind::Reasoning] += r.n_sampled;
            p.segments.back() += r.text;
            if (r.reason == StopReason::StopString && ends_with(r.text, prompts_.end_of_thinking)) {
                // The path finished thinking on its own: let it write its answer.
                p.finish = FinishReason::EndOfThinking;
                p.phase = Phase::Answering;
                issue(p, config_.answer_tokens, {}, TokenKind::Answer);
            } else if (r.reason == StopReason::EndOfSequence) {
                finish(p, FinishReason::EndOfSequence);
            } else if (r.reason == StopReason::ContextFull) {
                p.notes.push_back("context full during segment " + std::to_string(p.segment + 1) +
                                  ": answer forced");
                p.finish = FinishReason::ContextFull;
                force_answer(p);
            } else {
                end_segment(p);  // budget reached, or (LeaP-T) the model opened a summary
            }
            break;
        }
        case Phase::Summarizing: {
            p.tokens[(size_t)TokenKind::Summary] += r.n_sampled;
            const SummaryFix fix = normalize_summary(r.text, prompts_.end_of_thinking);
            p.text.resize(before + fix.keep);
            p.text += fix.append;
            p.synced = std::min(p.synced, before + fix.keep);
            p.blocks.back().summary = last_summary(p.text);
            if (r.reason == StopReason::ContextFull) {
                p.notes.push_back("context full during summary " + std::to_string(p.blocks.back().block + 1) +
                                  ": answer forced");
                p.finish = FinishReason::ContextFull;
                force_answer(p);
            } else {
                p.phase = Phase::AtRoute;
            }
            break;
        }
        case Phase::Answering: {
            p.tokens[(size_t)TokenKind::Answer] += r.n_sampled;
            if (r.reason == StopReason::ContextFull) p.notes.push_back("context full while answering");
            finish(p, p.finish == FinishReason::None ? FinishReason::Forced : p.finish);
            break;
        }
        default:
            throw Error("problem " + problem_.id + ": path " + std::to_string(index) +
                        " got a result in phase " + std::string(to_string(p.phase)));
    }
    // Appended text (prefill of injections, openers, fixes) was fed before sampling.
    p.tokens[(size_t)TokenKind::Injected] += r.n_appended;
    advance();
}

void ProblemRun::end_segment(Path& p) {
    const int block = p.segment;  // the block after this segment
    if (p.segment + 1 >= config_.segments) {
        force_answer(p);
    } else if (config_.block_enabled(block)) {
        p.phase = Phase::AtBlock;
    } else {
        ++p.segment;
        start_segment(p);
    }
}

void ProblemRun::force_answer(Path& p) {
    p.phase = Phase::Answering;
    if (p.finish == FinishReason::None) p.finish = FinishReason::Forced;
    p.text += problem_.multiple_choice() ? fill_template(prompts_.answer_opener_choice, "", {}, prompts_.end_of_thinking)
                                         : prompts_.answer_opener_math;
    issue(p, config_.answer_tokens, {}, TokenKind::Answer);
}

void ProblemRun::finish(Path& p, FinishReason why) {
    p.phase = Phase::Done;
    p.finish = why;
    const size_t eot = p.text.rfind(prompts_.end_of_thinking);
    if (eot != std::string::npos) {
        p.answer = p.text.substr(eot + prompts_.end_of_thinking.size());
    } else {
        // A forced math answer has no marker: the answer is what follows the opener.
        const size_t at = p.text.rfind(prompts_.answer_opener_math);
        p.answer = at == std::string::npos ? std::string() : p.text.substr(at);
    }
}

void ProblemRun::advance() {
    // Blocks are barriers: every path still thinking must reach them first.
    auto any_in = [&](Phase ph) {
        return std::any_of(paths_.begin(), paths_.end(), [&](const Path& p) { return p.phase == ph; });
    };
    if (any_in(Phase::AtBlock) && !any_in(Phase::Segment) && !any_in(Phase::Summarizing) &&
        !any_in(Phase::AtRoute)) {
        int block = -1;
        for (const Path& p : paths_)
            if (p.phase == Phase::AtBlock) block = p.segment;
        start_block(block);
    }
    if (any_in(Phase::AtRoute) && !any_in(Phase::Summarizing) && !any_in(Phase::Segment) &&
        !any_in(Phase::AtBlock)) {
        int block = -1;
        for (const Path& p : paths_)
            if (p.phase == Phase::AtRoute) block = p.blocks.back().block;
        route_and_inject(block);
    }
}

void ProblemRun::start_block(int block) {
    for (Path& p : paths_) {
        if (p.phase != Phase::AtBlock) continue;
        BlockRecord rec;
        rec.block = block;
        size_t cut = trim_cut(p.text, p.segment_start, config_.reference_parity);
        // LeaP-T: the segment ended on the model's own "<summarize>"; the block writes its own.
        if (config_.method == Method::LeapT && cut == p.text.size() &&
            std::string_view(p.text).ends_with(kSummarizeOpen)) {
            cut -= kSummarizeOpen.size();
            while (cut > p.segment_start && p.text[cut - 1] == ' ') --cut;
        }
        rec.trimmed_chars = p.text.size() - cut;
        rec.trimmed_text = p.text.substr(cut);
        p.text.resize(cut);
        p.synced = std::min(p.synced, cut);

        Rng rng(mix_seed({config_.seed, (uint64_t)index_, (uint64_t)p.index, (uint64_t)block, 0x5u}));
        const std::string& trigger = prompts_.triggers[rng.below(prompts_.triggers.size())];
        const std::string& opener = prompts_.openers[rng.below(prompts_.openers.size())];
        rec.summary_request = summary_request(p.text, trigger, opener);
        p.text += rec.summary_request;
        p.blocks.push_back(std::move(rec));
        p.phase = Phase::Summarizing;
        issue(p, config_.summary_tokens, {std::string(kSummarizeClose), prompts_.end_of_thinking},
              TokenKind::Summary);
    }
}

void ProblemRun::route_and_inject(int block) {
    std::vector<std::string> summaries(paths_.size());
    std::vector<bool> active(paths_.size(), false);
    for (const Path& p : paths_) {
        if (p.phase != Phase::AtRoute) continue;
        active[p.index] = true;
        summaries[p.index] = p.blocks.back().summary;
    }
    RouterOptions opt = config_.router;
    opt.reference_parity = config_.reference_parity;
    opt.seed = mix_seed({config_.seed, (uint64_t)index_, (uint64_t)block, 0x7u});
    const auto choices = route(summaries, active, opt);
    for (Path& p : paths_) {
        if (p.phase != Phase::AtRoute) continue;
        BlockRecord& rec = p.blocks.back();
        rec.peers = choices[p.index];
        rec.injected = comment_block(rec.peers, summaries, prompts_);
        p.text += rec.injected;
        ++p.segment;
        start_segment(p);
    }
}

nlohmann::json ProblemRun::trace() const {
    using nlohmann::json;
    json paths = json::array();
    for (const Path& p : paths_) {
        json blocks = json::array();
        for (const BlockRecord& b : p.blocks) {
            json peers = json::array();
            for (const auto& c : b.peers) peers.push_back({{"peer", c.peer}, {"score", c.score}});
            blocks.push_back({{"block", b.block},
                              {"trimmed", b.trimmed_text},
                              {"summary_request", b.summary_request},
                              {"summary", b.summary},
                              {"peers", peers},
                              {"injected", b.injected}});
        }
        json tokens = json::object();
        for (size_t k = (size_t)TokenKind::Reasoning; k < (size_t)TokenKind::Count; ++k)
            tokens[std::string(to_string((TokenKind)k))] = p.tokens[k];
        paths.push_back({{"path", p.index},
                         {"finish", to_string(p.finish)},
                         {"segments", p.segments},
                         {"blocks", blocks},
                         {"answer", p.answer},
                         {"text", p.text},
                         {"tokens", tokens},
                         {"notes", p.notes}});
    }
    json choices = json::object();
    for (const auto& [k, v] : problem_.choices) choices[k] = v;
    return {{"id", problem_.id},
            {"index", index_},
            {"problem", problem_.text},
            {"choices", choices},
            {"user_message", user_message_},
            {"prefill", prefill_},
            {"prompt_tokens", prompt_tokens_},
            {"paths", paths}};
}

}  // namespace leap
