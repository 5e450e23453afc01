#include "core/problem_run.h"

#include <algorithm>

#include "core/answer.h"
#include "core/block.h"
#include "core/error.h"
#include "core/rng.h"

namespace leap {

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
    return !suffix.empty() && s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string trim_ws(std::string_view s) {
    auto sp = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
    size_t b = 0, e = s.size();
    while (b < e && sp(s[b])) ++b;
    while (e > b && sp(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}
}  // namespace

ProblemRun::ProblemRun(int problem_index, Problem problem, RunConfig config, const PromptSet& prompts)
    : index_(problem_index), problem_(std::move(problem)), config_(std::move(config)), prompts_(prompts) {
    config_.validate();
    const bool mc = problem_.multiple_choice();
    const std::string& tmpl = config_.uses_protocol_prompt()
                                  ? (mc ? prompts_.leap_user_choice : prompts_.leap_user_math)
                                  : (mc ? prompts_.plain_user_choice : prompts_.plain_user_math);
    const std::string eot = thinking().marker();
    user_message_ = fill_template(tmpl, problem_.text, problem_.choices, eot);
    opener_choice_ = fill_template(prompts_.answer_opener_choice, "", {}, eot);
    opener_math_ = fill_template(prompts_.answer_opener_math, "", {}, eot);
    // A forced answer goes where the template puts answers. An opener without {eot} stays in the
    // thinking (the paper's math opener), except where the template's answer section has a header
    // of its own (gpt-oss's final channel, Kimi's response section): the opener starts by closing
    // the thinking the way the template does.
    const bool answer_header = !config_.reference_parity && thinking().from_template &&
                               !thinking().after_end(thinking().ends.front()).empty();
    for (auto [opener, raw] : {std::pair{&opener_math_, &prompts_.answer_opener_math},
                               std::pair{&opener_choice_, &prompts_.answer_opener_choice}})
        if (answer_header && raw->find("{eot}") == std::string::npos) *opener = eot + *opener;
    if (config_.uses_protocol_prompt()) prefill_ = mc ? prompts_.leap_prefill_choice : prompts_.leap_prefill_math;
    start_ = prefill_ + problem_.assistant_prefix;

    const size_t n = config_.n_paths;
    paths_.resize(n);
    in_flight_.assign(n, 0);
    pruned_.assign(n, 0);
    layer_start_.assign(n, 0);
    answer_at_.assign(n, std::string::npos);
    layers_.assign(n, {});
    tokens_at_layer_.assign(n, {});
    new_conversation_.assign(n, 0);
    init_adaptive();
    for (int i = 0; i < config_.n_paths; ++i) {
        Path& p = paths_[i];
        p.index = i;
        p.text = start_;
        p.synced = start_.size();  // the prefill (and assistant prefix) is part of the shared prompt
        start_segment(p);
    }
}

std::vector<std::string> ProblemRun::segment_stops(int segment) const {
    std::vector<std::string> stops = thinking().ends;
    // LeaP-T: a summary the model opens ends the segment where a block follows to take it over;
    // in the last segment it is just reasoning (stopping would force the answer right after it).
    // The reference stops there in every segment.
    if (config_.method == Method::LeapT && (config_.block_enabled(segment) || reference_stops()))
        stops.emplace_back(kSummarizeOpen);
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
    if (new_conversation_[p.index]) {
        r.new_conversation = moa_user_messages_.back();
        new_conversation_[p.index] = 0;
    }
    p.synced = p.text.size();
    in_flight_[p.index] = 1;
    pending_.push_back(std::move(r));
}

void ProblemRun::start_segment(Path& p) {
    p.phase = Phase::Segment;
    p.segment_start = p.text.size();
    p.segments.emplace_back();
    p.confidence.start_segment();
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
    if (stopping_[index] != FinishReason::None) {  // early exit: the request ended for it
        complete_stopped(p, r);
        advance();
        return;
    }
    const size_t before = p.text.size();
    p.text += r.text;
    p.synced = p.text.size();

    switch (p.phase) {
        case Phase::Segment: {
            p.tokens[(size_t)TokenKind::Reasoning] += r.n_sampled;
            p.segments.back() += r.text;
            for (float c : r.token_confidence) p.confidence.add(c);
            const std::string* end = nullptr;
            for (const std::string& e : thinking().ends)
                if (r.reason == StopReason::StopString && ends_with(r.text, e)) end = &e;
            if (end && reference_stops()) {
                // The reference stops the path at its marker and grades its reasoning.
                answer_at_[p.index] = p.text.size() - end->size();
                finish(p, FinishReason::EndOfThinking);
            } else if (end) {
                // The path finished thinking on its own: let it write its answer, with its own
                // budget, to the end of sequence. Where the template's answer section has a
                // header (gpt-oss's final channel), leap writes the rest of it first.
                answer_at_[p.index] = p.text.size() - end->size();
                p.text += thinking().after_end(*end);
                p.finish = FinishReason::EndOfThinking;
                p.phase = Phase::Answering;
                issue(p, config_.write_up_tokens, {}, TokenKind::Answer);
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
            std::vector<std::string> markers = thinking().ends;
            markers.push_back(thinking().marker());
            const SummaryFix fix = normalize_summary(r.text, markers);
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
    answer_at_[p.index] = p.text.size();
    p.phase = Phase::Answering;
    if (p.finish == FinishReason::None) p.finish = FinishReason::Forced;
    const bool mc = problem_.multiple_choice();
    const std::string& opener = mc ? opener_choice_ : opener_math_;
    p.text += opener;
    if (reference_stops()) {
        // The reference: stopped only by an end marker, </summarize> or end of sequence.
        std::vector<std::string> stops = thinking().ends;
        stops.emplace_back(kSummarizeClose);
        issue(p, config_.answer_tokens, std::move(stops), TokenKind::Answer);
        return;
    }
    issue(p, config_.answer_tokens, {}, TokenKind::Answer);
    // It stops once its box closes or its letter is written: nothing after can change the grade.
    pending_.back().answer_check = mc ? AnswerCheck::Choice : AnswerCheck::Math;
    pending_.back().answer_before = opener;
}

void ProblemRun::finish(Path& p, FinishReason why) {
    p.phase = Phase::Done;
    p.finish = why;
    if (answer_at_[p.index] == std::string::npos) answer_at_[p.index] = p.text.size();
    const size_t after = thinking().answer_start(p.text);
    if (after != std::string::npos) {
        p.answer = p.text.substr(after);
    } else {
        // A forced math answer inside the thinking has no marker: the answer is the opener on.
        const size_t at = p.text.rfind(opener_math_);
        p.answer = at == std::string::npos ? std::string() : p.text.substr(at);
    }
}

void ProblemRun::advance() {
    // Blocks are barriers: every path still thinking must reach them first.
    auto any_in = [&](Phase ph) {
        return std::any_of(paths_.begin(), paths_.end(), [&](const Path& p) { return p.phase == ph; });
    };
    check_early_exit();
    if (any_in(Phase::AtBlock) && !any_in(Phase::Segment) && !any_in(Phase::Summarizing) &&
        !any_in(Phase::AtRoute)) {
        int block = -1;
        for (const Path& p : paths_)
            if (p.phase == Phase::AtBlock) block = p.segment;
        prune_before_block(block);
        start_block(block);
    }
    if (any_in(Phase::AtRoute) && !any_in(Phase::Summarizing) && !any_in(Phase::Segment) &&
        !any_in(Phase::AtBlock)) {
        int block = -1;
        for (const Path& p : paths_)
            if (p.phase == Phase::AtRoute) block = p.blocks.back().block;
        route_and_inject(block);
    }
    // Mixture of Agents: a layer is a barrier too; the next starts when every path has answered.
    if (config_.method == Method::MixtureOfAgents && layer_ < config_.moa_layers && done()) start_layer();
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
        std::vector<std::string> stops{std::string(kSummarizeClose)};
        stops.insert(stops.end(), thinking().ends.begin(), thinking().ends.end());
        issue(p, config_.summary_tokens, std::move(stops), TokenKind::Summary);
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
    if (config_.needs_confidence()) opt.confidence = path_confidence();
    const std::vector<char> answer_now = prune_after_block(block);
    const bool leap_s = config_.method == Method::LeapS;
    std::vector<std::vector<RouteChoice>> choices;
    std::vector<int> representative;  // LeaP-S: per group, the path that continues
    if (!leap_s) {
        choices = route(summaries, active, opt);
    } else {
        // Routing stays within each group: only the group's own paths are candidates.
        const int groups = config_.n_paths / config_.group_size;
        choices.assign(paths_.size(), {});
        representative.assign(groups, -1);
        for (int g = 0; g < groups; ++g) {
            std::vector<bool> in_group(paths_.size(), false);
            for (size_t i = 0; i < paths_.size(); ++i) in_group[i] = active[i] && config_.group_of((int)i) == g;
            auto c = route(summaries, in_group, opt);
            for (size_t i = 0; i < paths_.size(); ++i) {
                if (!in_group[i]) continue;
                choices[i] = std::move(c[i]);
                if (representative[g] < 0) representative[g] = (int)i;  // lowest index that took part
            }
        }
    }
    for (Path& p : paths_) {
        if (p.phase != Phase::AtRoute) continue;
        BlockRecord& rec = p.blocks.back();
        rec.peers = choices[p.index];
        rec.injected = comment_block(rec.peers, summaries, prompts_);
        p.text += rec.injected;
        if (leap_s && representative[config_.group_of(p.index)] != p.index) {
            // LeaP-S: not the group's continuing path: it answers now, with what it has heard.
            pruned_[p.index] = 1;
            p.notes.push_back("leap-s: path " + std::to_string(representative[config_.group_of(p.index)]) +
                              " continues for group " + std::to_string(config_.group_of(p.index)) +
                              "; answer forced after block " + std::to_string(block + 1));
            force_answer(p);
            continue;
        }
        if (answer_now[p.index]) {
            // --prune-at after: among the least confident; it answers now, with what it heard.
            pruned_after_[p.index] = block;
            p.notes.push_back("pruned after block " + std::to_string(block + 1) + " (lowest confidence): answer forced");
            force_answer(p);
            continue;
        }
        ++p.segment;
        start_segment(p);
    }
}

bool ProblemRun::reference_stops() const {
    // The reference's MoA baseline writes whole responses (its aggregator reads the text after
    // each response's thinking), so that layout keeps the write-up and the complete forced answer.
    return config_.reference_parity &&
           !(config_.method == Method::MixtureOfAgents && config_.moa_layout == MoaLayout::Reference);
}

std::string ProblemRun::moa_user_message() const {
    std::string responses;
    for (const Path& p : paths_) {
        // What the response wrote after its thinking (a forced answer: from its opener on).
        const std::string text = trim_ws(p.answer);
        if (!responses.empty()) responses += "\n\n";
        responses += "Response " + std::to_string(p.index + 1) + ":\n" + (text.empty() ? "(no answer)" : text);
    }
    // {responses} is placed first and the rest filled around it, so braces inside the problem
    // or the responses are never taken for placeholders.
    const std::string& tmpl = problem_.multiple_choice() ? prompts_.moa_user_choice : prompts_.moa_user_math;
    const size_t at = tmpl.find("{responses}");
    const std::string eot = thinking().marker();
    if (at == std::string::npos) return fill_template(tmpl, problem_.text, problem_.choices, eot);
    return fill_template(std::string_view(tmpl).substr(0, at), problem_.text, problem_.choices, eot) + responses +
           fill_template(std::string_view(tmpl).substr(at + 11), problem_.text, problem_.choices, eot);
}

std::string ProblemRun::moa_responses() const {
    const bool mc = problem_.multiple_choice();
    const size_t max_chars = (size_t)config_.moa_context_chars;
    std::string out;
    for (const Path& p : paths_) {
        const size_t from = std::min(layer_start_[p.index], p.text.size());
        const size_t to = std::max(from, std::min(answer_at_[p.index], p.text.size()));
        // The answer as a grader would read this layer's own text (not the aggregation text).
        std::string answer = trim_ws(extract_answer(std::string_view(p.text).substr(from), mc));
        if (!out.empty()) out += "\n\n";
        out += "Response " + std::to_string(p.index + 1) + " (final answer: " + (answer.empty() ? "none" : answer) + ")";
        if (max_chars == 0) continue;
        // The last max_chars bytes of the reasoning, not starting inside a UTF-8 character.
        size_t cut = to - from > max_chars ? to - max_chars : from;
        while (cut < to && ((unsigned char)p.text[cut] & 0xC0) == 0x80) ++cut;
        const std::string excerpt = trim_ws(std::string_view(p.text).substr(cut, to - cut));
        if (!excerpt.empty()) out += ":\n" + std::string(cut > from ? "..." : "") + excerpt;
    }
    return out;
}

void ProblemRun::start_layer() {
    const bool reference = config_.moa_layout == MoaLayout::Reference;
    std::string agg;
    if (reference) {
        // A new conversation: the layer's user message shows the problem and the responses; the
        // path's own text starts empty after it (plus the method's prefill, none for MoA).
        moa_user_messages_.push_back(moa_user_message());
        agg = prefill_;
    } else {
        agg = problem_.multiple_choice() ? prompts_.moa_aggregate_choice : prompts_.moa_aggregate_math;
        const size_t at = agg.find("{responses}");
        if (at != std::string::npos) agg.replace(at, 11, moa_responses());
    }
    for (Path& p : paths_) {
        const size_t i = p.index;
        LayerRecord rec;
        rec.layer = layer_;
        rec.text = p.text;
        rec.segments = p.segments;
        rec.answer = p.answer;
        rec.finish = p.finish;
        for (size_t k = 0; k < rec.tokens.size(); ++k) rec.tokens[k] = p.tokens[k] - tokens_at_layer_[i][k];
        layers_[i].push_back(std::move(rec));
        tokens_at_layer_[i] = p.tokens;
        // A fresh context: the shared prompt stays, the path's own text (from its prefill on)
        // is replaced by the aggregation text (keep = 0).
        p.text = agg;
        p.synced = 0;
        p.finish = FinishReason::None;
        p.segment = 0;
        p.segments.clear();
        p.blocks.clear();
        p.answer.clear();
        layer_start_[i] = agg.size();
        answer_at_[i] = std::string::npos;
        new_conversation_[i] = reference ? 1 : 0;
    }
    ++layer_;
    for (Path& p : paths_) start_segment(p);
}

std::string ProblemRun::tail_after(const std::string& rendered, const std::string& user_message) {
    const size_t at = user_message.empty() ? std::string::npos : rendered.rfind(user_message);
    if (at != std::string::npos) return rendered.substr(at + user_message.size());
    return rendered.substr(rendered.size() > 256 ? rendered.size() - 256 : 0);
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
        json path = {{"path", p.index},
                     {"finish", to_string(p.finish)},
                     {"segments", p.segments},
                     {"blocks", blocks},
                     {"answer", p.answer},
                     {"text", p.text},
                     {"tokens", tokens},
                     {"notes", p.notes}};
        if (config_.needs_confidence()) path["confidence"] = p.confidence.to_json();
        if (p.stopped()) path["stopped"] = true;
        if (pruned_after_[p.index] >= 0) path["pruned_after_block"] = pruned_after_[p.index];
        if (config_.method == Method::LeapS) {
            path["group"] = config_.group_of(p.index);
            path["pruned"] = pruned_[p.index] != 0;
        }
        if (config_.method == Method::MixtureOfAgents) {
            json layers = json::array();
            for (const LayerRecord& l : layers_[p.index]) {
                json lt = json::object();
                for (size_t k = (size_t)TokenKind::Reasoning; k < (size_t)TokenKind::Count; ++k)
                    lt[std::string(to_string((TokenKind)k))] = l.tokens[k];
                layers.push_back({{"layer", l.layer},
                                  {"finish", to_string(l.finish)},
                                  {"segments", l.segments},
                                  {"answer", l.answer},
                                  {"text", l.text},
                                  {"tokens", lt}});
            }
            path["layers"] = layers;  // the earlier layers; the path's own fields are the last layer
        }
        paths.push_back(std::move(path));
    }
    json choices = json::object();
    for (const auto& [k, v] : problem_.choices) choices[k] = v;
    json out = {{"id", problem_.id},
            {"index", index_},
            {"problem", problem_.text},
            {"choices", choices},
            {"user_message", user_message_},
            {"prefill", prefill_},
            {"assistant_prefix", problem_.assistant_prefix},
            {"prompt_tokens", prompt_tokens_},
            {"prompt_tail", prompt_tail_},
            {"thinking",
             {{"start", thinking().start},
              {"ends", thinking().ends},
              {"close", thinking().close},
              {"template_opens", thinking().template_opens},
              {"source", thinking().source}}},
            {"paths", paths}};
    // MoA, reference layout: the user message that started layer 2, 3, ... (every path's).
    if (config_.method == Method::MixtureOfAgents && config_.moa_layout == MoaLayout::Reference)
        out["moa_user_messages"] = moa_user_messages_;
    return out;
}

}  // namespace leap
