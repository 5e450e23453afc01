#include "train/examples.h"

#include "core/error.h"
#include "core/rng.h"

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

std::vector<Example> pack_examples(std::vector<Example> examples, int n_ctx, int32_t pad, uint64_t seed) {
    Rng rng(mix_seed({seed, 0x5041434bu}));
    for (size_t i = examples.size(); i > 1; --i) std::swap(examples[i - 1], examples[rng.below(i)]);
    std::vector<Example> out;
    Example cur;
    auto flush = [&] {
        if (cur.length == 0) return;
        cur.tokens.resize(n_ctx, pad);
        cur.labels.resize(n_ctx, pad);
        out.push_back(std::move(cur));
        cur = Example{};
    };
    for (const auto& e : examples) {
        if (e.length > n_ctx) throw Error("train: an example of " + std::to_string(e.length) + " tokens is longer than n_ctx");
        if (cur.length + e.length > n_ctx) flush();
        if (cur.length > 0) cur.labels.back() = e.tokens[0];
        cur.tokens.insert(cur.tokens.end(), e.tokens.begin(), e.tokens.begin() + e.length);
        cur.labels.insert(cur.labels.end(), e.labels.begin(), e.labels.begin() + e.length);
        cur.length += e.length;
    }
    flush();
    return out;
}

}  // namespace leap::train
