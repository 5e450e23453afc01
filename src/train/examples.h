#pragma once
// Training examples from texts in pieces (nano traces, or LeaP-T traces from `leap eval`):
// tokens as the engine would hold them, and the labels the model learns.
#include <optional>
#include <string>
#include <vector>

#include "nano/task.h"
#include "train/trainer.h"

namespace leap::train {

// A label that trains nothing (patches/llama.cpp-training.patch: an all-zero label row).
inline constexpr int32_t kMaskedLabel = -1;

// The prompt (user message through the chat template) followed by the pieces. A label is the
// next token where the model samples that token (the pieces not injected) and kMaskedLabel where
// it is fed (prompt, injected pieces, padding), except before an injected piece with an `alt`:
// there the label is alt's first token (what the model should sample if nothing were injected).
// Tokens padded with EOS to n_ctx; std::nullopt when longer than n_ctx.
std::optional<Example> make_example(const Trainer& trainer, const std::string& user_message,
                                    const std::vector<nano::Piece>& pieces, int n_ctx);
// The same with the prompt already rendered and tokenized (paths of one run share it, and the
// chat template is slow to render).
std::optional<Example> make_example(const Trainer& trainer, const std::vector<int32_t>& prompt_tokens,
                                    const std::vector<nano::Piece>& pieces, int n_ctx);

// Examples laid back to back in sequences of n_ctx tokens (shuffled first, from `seed`; each
// sequence's tokens padded with `pad` after its last whole example, labels masked), so training
// spends no compute on padding. Train them with TrainConfig::separate_examples, so that each
// example attends only to itself (every example starts with the chat template's BOS).
std::vector<Example> pack_examples(std::vector<Example> examples, int n_ctx, int32_t pad, uint64_t seed);

}  // namespace leap::train
