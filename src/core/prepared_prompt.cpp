#include "core/prepared_prompt.h"

#include "core/error.h"

namespace leap {

int answer_reserve(const RunConfig& c) { return c.answer_tokens + 128; }

std::shared_ptr<const PreparedPrompt> prepare_prompt(const ChatTokenizer& model, const Problem& problem,
                                                     const RunConfig& config, const PromptSet& prompts,
                                                     const PromptRoom& room) {
    // The run is only asked for texts (the user message, the prefill); nothing is sampled.
    const ProblemRun run(0, problem, config, prompts);
    auto p = std::make_shared<PreparedPrompt>();
    p->rendered_text = model.render_prompt(run.user_message(), problem.earlier_turns);
    p->tail = ProblemRun::tail_after(p->rendered_text, run.user_message());
    // No token is longer than the vocabulary's longest piece, so a text of more bytes than a
    // context of such tokens holds cannot fit.
    if (room.n_ctx_seq > 0 && room.max_piece_bytes > 0 &&
        p->rendered_text.size() > (size_t)room.n_ctx_seq * room.max_piece_bytes)
        throw Error("problem '" + problem.id + "': its prompt has " + std::to_string(p->rendered_text.size()) +
                    " bytes, more than a context of " + std::to_string(room.n_ctx_seq) +
                    " tokens per path can hold (no token of this model is longer than " +
                    std::to_string(room.max_piece_bytes) + " bytes; raise " + room.raise + ")");
    p->rendered = model.tokenize(p->rendered_text, true);
    p->prefill = run.prefill();
    p->prefill_tokens = model.tokenize(p->prefill, false);
    if (room.n_ctx_seq > 0 && p->n_tokens() + answer_reserve(config) >= room.n_ctx_seq)
        throw Error("problem '" + problem.id + "': its prompt takes " + std::to_string(p->n_tokens()) +
                    " tokens, which leaves no room in a context of " + std::to_string(room.n_ctx_seq) +
                    " tokens per path (raise " + room.raise + ")");
    return p;
}

}  // namespace leap
