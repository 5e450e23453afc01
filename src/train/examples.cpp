#include "train/examples.h"

#include "core/error.h"

namespace leap::train {

std::optional<Example> make_example(const Trainer& trainer, const std::string& user_message,
                                    const std::vector<nano::Piece>& pieces, int n_ctx) {
    return make_example(trainer, trainer.tokenize(trainer.render_prompt(user_message)), pieces, n_ctx);
}

std::optional<Example> make_example(const Trainer& trainer, const std::vector<int32_t>& prompt_tokens,
                                    const std::vector<nano::Piece>& pieces, int n_ctx) {
    Example e;
    // Positions whose label is replaced: (index of the token before the piece, alt's first token).
    std::vector<std::pair<size_t, int32_t>> alt_labels;
    e.tokens = prompt_tokens;
    for (const auto& piece : pieces) {
        // Pieces are tokenized one by one, as the engine feeds them: appended text and sampled
        // tokens never merge across a boundary.
        const auto t = trainer.tokenize(piece.text);
        if (piece.injected && !piece.alt.empty() && !e.tokens.empty()) {
            const auto a = trainer.tokenize(piece.alt);
            if (a.empty()) throw Error("train: alternative text '" + piece.alt + "' has no tokens");
            alt_labels.emplace_back(e.tokens.size() - 1, a[0]);
        }
        e.tokens.insert(e.tokens.end(), t.begin(), t.end());
    }
    if ((int)e.tokens.size() > n_ctx) return std::nullopt;
    e.length = (int)e.tokens.size();
    const int32_t pad = trainer.eos();
    e.labels.assign(e.tokens.begin() + 1, e.tokens.end());
    e.labels.push_back(pad);
    for (const auto& [at, tok] : alt_labels) e.labels[at] = tok;
    e.tokens.resize(n_ctx, pad);
    e.labels.resize(n_ctx, pad);
    return e;
}

}  // namespace leap::train
