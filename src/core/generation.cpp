#include "core/generation.h"

#include "core/answer.h"
#include "core/stop.h"

namespace leap {

void Generation::start(GenerateRequest r, int appended) {
    req = std::move(r);
    text.clear();
    n_sampled = 0;
    n_appended = appended;
    confidence.clear();
}

std::optional<StopReason> Generation::add(const std::string& piece, size_t& overshoot) {
    overshoot = 0;
    const size_t old = text.size();
    text += piece;
    ++n_sampled;
    if (auto m = find_stop(text, old, req.stops)) {
        overshoot = text.size() - m->end();
        text.resize(m->end());
        return StopReason::StopString;
    }
    if (req.answer_check != AnswerCheck::None)
        if (const auto end = answer_end(req.answer_before, text, req.answer_check == AnswerCheck::Choice)) {
            overshoot = text.size() - *end;
            text.resize(*end);
            return StopReason::AnswerComplete;
        }
    if (n_sampled >= req.max_tokens) return StopReason::Budget;
    return std::nullopt;
}

GenerateResult Generation::finish(StopReason reason) {
    GenerateResult r;
    r.text = std::move(text);
    r.n_sampled = n_sampled;
    r.n_appended = n_appended;
    r.reason = reason;
    r.token_confidence = std::move(confidence);
    text.clear();
    confidence.clear();
    return r;
}

}  // namespace leap
