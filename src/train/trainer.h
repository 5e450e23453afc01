#pragma once
// Supervised training of a GGUF model on token sequences with llama.cpp's training API
// (llama_opt_init / llama_opt_epoch, AdamW), with progress, checkpoints and a GGUF writer that
// keeps the input file's metadata (chat template, tokenizer) and replaces the weights.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct llama_model;
struct llama_context;

namespace leap::train {

// One training sequence: labels[i] is the token the model should predict after tokens[i].
struct Example {
    std::vector<int32_t> tokens;
    std::vector<int32_t> labels;
    int length = 0;  // tokens before the padding
};

struct TrainConfig {
    int n_ctx = 256;          // every example is padded to this length (longer ones are refused)
    int pack = 1;             // examples per optimizer step: llama_opt_epoch takes one sequence per
                              // step, so `pack` padded examples are laid end to end in it
    int epochs = 1;
    float lr = 1e-3f;         // peak learning rate (AdamW)
    float lr_min = 1e-4f;     // cosine decay ends here
    float warmup = 0.03f;     // share of steps with linear warm-up
    float weight_decay = 0.0f;
    int threads = 2;
    int chunk = 2000;         // examples per llama_opt_epoch call; a checkpoint and a progress line after each
    std::string checkpoint;   // written after every chunk (empty: none)
    uint64_t seed = 1;        // example order
    // Sequences hold several examples back to back, each starting with BOS, and each example
    // attends only to itself (patches/llama.cpp-training.patch: a BOS starts a new sequence in a
    // unified KV cache). Off: a sequence is one sequence, whatever its tokens.
    bool separate_examples = false;
};

struct Progress {
    int epoch = 0, epochs = 0;
    int64_t done = 0, total = 0;  // examples (all epochs)
    double loss = 0;  // mean over the current chunk so far, per labelled token
    double tok_per_s = 0, eta_s = 0;
    bool chunk_end = false;
};

class Trainer {
public:
    // Loads `model_path` (weights writable), `threads` for the context. Throws leap::Error.
    Trainer(const std::string& model_path, const TrainConfig& config);
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    // Tokenizer of the loaded model (special tokens parsed, no BOS added).
    std::vector<int32_t> tokenize(const std::string& text) const;
    // The user message rendered with the model's chat template, as the engine renders it.
    std::string render_prompt(const std::string& user_message) const;
    int32_t eos() const;
    int n_vocab() const;

    // Trains on `train` (shuffled per epoch), reports mean loss on `val` at each epoch's end.
    // Returns the final validation loss (or NaN without validation examples).
    double train(std::vector<Example> train, const std::vector<Example>& val,
                 const std::function<void(const Progress&)>& progress);
    // Mean next-token loss per labelled token of `examples` (no update); `accuracy`, if given,
    // gets the share of labelled positions whose most likely token is the label (decoded with an
    // ordinary context: ggml's own count would score masked positions too).
    double evaluate(const std::vector<Example>& examples, double* accuracy = nullptr);
    llama_model* model() const;
    // The share of labelled positions of `examples` whose most likely token is the label.
    double decoded_accuracy(const std::vector<Example>& examples) const;
    // Writes the current weights to `path`, with the input file's metadata. A non-empty `name`
    // replaces general.name; a non-empty `training` is stored as leap.training (how the weights
    // were made) and drops make-model's leap.preset/leap.seed, which describe random weights.
    void save(const std::string& path, const std::string& name = "", const std::string& training = "") const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace leap::train
