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
    e.tokens = prompt_tokens;
    // Whether each token is the model's own (sampled) text; the prompt and injected pieces are not.
    std::vector<bool> sampled(prompt_tokens.size(), false);
    // Positions whose label is replaced: (index of the token before the piece, alt's first token).
    std::vector<std::pair<size_t, int32_t>> alt_labels;
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
        sampled.insert(sampled.end(), t.size(), !piece.injected);
    }
    if ((int)e.tokens.size() > n_ctx) return std::nullopt;
    e.length = (int)e.tokens.size();
    // The model learns what it samples: a label is the next token where that token is sampled,
    // masked where it is the prompt, engine text or padding (those are fed, never sampled).
    e.labels.assign(n_ctx, kMaskedLabel);
    for (int i = 0; i + 1 < e.length; ++i)
        if (sampled[i + 1]) e.labels[i] = e.tokens[i + 1];
    for (const auto& [at, tok] : alt_labels) e.labels[at] = tok;
    e.tokens.resize(n_ctx, trainer.eos());
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
        cur.labels.resize(n_ctx, kMaskedLabel);
        out.push_back(std::move(cur));
        cur = Example{};
    };
    for (const auto& e : examples) {
        if (e.length > n_ctx) throw Error("train: an example of " + std::to_string(e.length) + " tokens is longer than n_ctx");
        if (cur.length + e.length > n_ctx) flush();
        cur.tokens.insert(cur.tokens.end(), e.tokens.begin(), e.tokens.begin() + e.length);
        cur.labels.insert(cur.labels.end(), e.labels.begin(), e.labels.begin() + e.length);
        cur.length += e.length;
    }
    flush();
    return out;
}

}  // namespace leap::train
