// The nano vocabulary in llama.cpp, and `leap train`'s trainer: a tiny model learns (loss falls),
// and the saved GGUF carries the trained weights and the input's metadata.
#include <gtest/gtest.h>

#include "ggml.h"
#include "gguf.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "core/error.h"
#include "core/prompts.h"
#include "core/rng.h"
#include "model/make_model.h"
#include "nano/task.h"
#include "nano/vocab.h"
#include "train/examples.h"
#include "train/trainer.h"

#include <algorithm>
#include "llama.h"

using namespace leap;
namespace fs = std::filesystem;

namespace {
std::string tmp(const std::string& name) {
    const fs::path d = fs::path(LEAP_TEST_TMP) / "nano";
    fs::create_directories(d);
    return (d / name).string();
}

// Options of a one-layer f32 model with the vocabulary `vocab`.
MakeModelOptions tiny_options(const std::string& vocab, const std::string& out, uint64_t seed, int64_t n_embd) {
    MakeModelOptions o;
    o.out_path = out;
    o.type = WeightType::F32;
    o.seed = seed;
    o.vocab_path = vocab;
    o.n_embd = n_embd;
    o.n_layer = 1;
    o.n_head = 2;
    o.n_head_kv = 2;
    o.n_ff = 64;
    o.n_ctx = 256;
    o.tied = false;
    o.n_threads = 1;
    return o;
}

// The values of an f32 tensor of a GGUF file (empty if it has none of that name).
std::vector<float> f32_tensor(const std::string& file, const char* name) {
    ggml_context* data = nullptr;
    gguf_init_params ip{/*no_alloc=*/false, &data};
    gguf_context* g = gguf_init_from_file(file.c_str(), ip);
    EXPECT_NE(g, nullptr) << file;
    std::vector<float> v;
    if (ggml_tensor* t = g ? ggml_get_tensor(data, name) : nullptr) {
        EXPECT_EQ(t->type, GGML_TYPE_F32) << name;
        v.assign((const float*)t->data, (const float*)t->data + ggml_nelements(t));
    }
    if (g) gguf_free(g);
    if (data) ggml_free(data);
    return v;
}

// A fresh tiny model with the nano vocabulary (written once per test binary).
const std::string& tiny_model() {
    static const std::string path = [] {
        const std::string vocab = tmp("vocab.gguf"), model = tmp("tiny.gguf");
        nano::write_vocab_gguf(vocab, nano::vocabulary_words(PromptSet::builtin()));
        make_model(tiny_options(vocab, model, 3, 32));
        return model;
    }();
    return path;
}

std::vector<train::Example> examples(const train::Trainer& t, uint64_t seed, int runs) {
    std::vector<train::Example> out;
    const PromptSet prompts = PromptSet::builtin();
    for (int i = 0; i < runs; ++i)
        for (const auto& tr : nano::simulate_run(nano::make_problem(seed, i, {}), seed + i, {}, prompts))
            if (auto e = train::make_example(t, tr.user_message, tr.pieces, 256)) out.push_back(std::move(*e));
    return out;
}
}  // namespace

TEST(NanoVocab, EveryWordIsOneTokenAndTextRoundTrips) {
    train::TrainConfig cfg;
    cfg.threads = 1;
    train::Trainer t(tiny_model(), cfg);
    EXPECT_EQ(t.n_vocab(), 256 + (int)nano::vocabulary_words(PromptSet::builtin()).size() + 3);
    for (const auto& w : nano::vocabulary_words(PromptSet::builtin())) EXPECT_EQ(t.tokenize(w).size(), 1u) << w;
    EXPECT_EQ(t.tokenize("3x+7 at x=4 gives 19 no (x+1)\n\n").size(), 3u);  // '3x+7 at x=4' ' gives 19 no' ' (x+1)\n\n'
    EXPECT_EQ(t.tokenize("0123456789").size(), 10u);     // no merges: one digit per token
    const std::string prompt = t.render_prompt("hi");
    EXPECT_EQ(prompt, std::string(nano::kUserTurn) + "hi" + nano::kAssistantTurn + "<think>\n");
    const auto ids = t.tokenize(prompt);
    EXPECT_EQ(ids.size(), 6u);  // <|user|> h i <|assistant|> <think> \n
    // The trace generator's budgets count tokens with nano::WordSplitter: it must split as
    // llama.cpp does, on every text a trace holds.
    const PromptSet prompts = PromptSet::builtin();
    const nano::WordSplitter words(nano::vocabulary_words(prompts));
    int checked = 0;
    for (int i = 0; i < 20; ++i)
        for (const auto& tr : nano::simulate_run(nano::make_problem(5, i, {}), 9 + i, {}, prompts)) {
            ASSERT_EQ(t.tokenize(tr.user_message).size(), words.split(tr.user_message).size());
            for (const auto& piece : tr.pieces) {
                ASSERT_EQ(t.tokenize(piece.text).size(), words.split(piece.text).size()) << piece.text;
                ++checked;
            }
        }
    EXPECT_GT(checked, 500);
}

TEST(NanoTrain, LabelsPointAtTheNextStepBeforeInjectedBlocks) {
    train::TrainConfig cfg;
    cfg.threads = 1;
    train::Trainer t(tiny_model(), cfg);
    std::vector<nano::Piece> pieces = {{"3x+7 at x=4 gives 19 no (x+1)\n\n", false, ""}, {"Let me", true, "3x+7 at x=7 gives 28 no (x+1)\n\n"}, {" 7", false, ""}};
    const auto e = train::make_example(t, "x", pieces, 256);
    ASSERT_TRUE(e);
    const auto prompt = t.tokenize(t.render_prompt("x"));
    const size_t before_injected = prompt.size() + t.tokenize(pieces[0].text).size() - 1;
    EXPECT_EQ(e->labels[before_injected], t.tokenize("3x+7 at x=7")[0]);
    EXPECT_EQ(e->tokens[before_injected + 1], t.tokenize("Let me")[0]);
    // Sampled tokens are labels; the prompt, injected text and padding are masked.
    EXPECT_EQ(e->labels[prompt.size() - 1], t.tokenize("3x+7 at x=4")[0]);
    EXPECT_EQ(e->labels[prompt.size()], e->tokens[prompt.size() + 1]);
    for (size_t i = 0; i + 1 < prompt.size(); ++i) EXPECT_EQ(e->labels[i], train::kMaskedLabel) << i;
    const size_t injected_end = before_injected + t.tokenize("Let me").size();  // its last token
    for (size_t i = before_injected + 1; i < injected_end; ++i) EXPECT_EQ(e->labels[i], train::kMaskedLabel) << i;
    EXPECT_EQ(e->labels[injected_end], t.tokenize(" 7")[0]);  // the first sampled token after it
    for (size_t i = (size_t)e->length - 1; i < 256; ++i) EXPECT_EQ(e->labels[i], train::kMaskedLabel) << i;
    EXPECT_EQ(e->tokens.size(), 256u);
    EXPECT_EQ(e->tokens.back(), t.eos());
    EXPECT_FALSE(train::make_example(t, "x", pieces, 8));  // longer than n_ctx
}

TEST(NanoTrain, PackedExamplesKeepEveryTokenAndLabelInOrder) {
    auto ex = [](int len, int32_t base) {
        train::Example e;
        for (int i = 0; i < len; ++i) e.tokens.push_back(base + i);
        e.labels.assign(e.tokens.begin() + 1, e.tokens.end());
        e.labels.push_back(-1);  // the end: the pad label
        e.length = len;
        e.tokens.resize(16, -1);
        e.labels.resize(16, -1);
        return e;
    };
    const std::vector<train::Example> in = {ex(5, 100), ex(9, 200), ex(7, 300), ex(16, 400), ex(3, 500)};
    const auto out = train::pack_examples(in, 16, -1, 7);
    long content = 0;
    std::multiset<int32_t> seen;
    for (const auto& s : out) {
        ASSERT_EQ(s.tokens.size(), 16u);
        ASSERT_EQ(s.labels.size(), 16u);
        for (int i = 0; i < s.length; ++i) {
            seen.insert(s.tokens[i]);
            // Within an example every label is the next token; an example's last label stays
            // masked (the next example's start is not the model's to predict).
            const bool same_example = i + 1 < s.length && s.tokens[i + 1] == s.tokens[i] + 1;
            EXPECT_EQ(s.labels[i], same_example ? s.tokens[i + 1] : -1) << i;
        }
        for (int i = s.length; i < 16; ++i) EXPECT_EQ(s.tokens[i], -1);
        content += s.length;
    }
    EXPECT_EQ(content, 5 + 9 + 7 + 16 + 3);
    EXPECT_EQ(seen.size(), 40u);
    EXPECT_LE(out.size(), 4u);  // 40 tokens in sequences of 16: whole examples only, so 3 or 4
    EXPECT_THROW(train::pack_examples({ex(16, 1)}, 8, -1, 1), Error);
}

TEST(NanoTrain, LossFallsAndTheSavedModelKeepsTheWeights) {
    train::TrainConfig cfg;
    cfg.threads = 1;
    cfg.lr = 3e-3f;
    cfg.epochs = 2;
    cfg.chunk = 40;
    train::Trainer t(tiny_model(), cfg);
    const auto train_set = examples(t, 21, 12);
    const auto val = examples(t, 99, 3);
    ASSERT_GT(train_set.size(), 20u);
    const double before = t.evaluate(val);
    int reports = 0;
    const double after = t.train(train_set, val, [&](const train::Progress& p) {
        ++reports;
        EXPECT_LE(p.done, p.total);
    });
    EXPECT_GT(reports, 0);
    EXPECT_TRUE(std::isfinite(after));
    EXPECT_LT(after, before - 1.0) << "validation loss " << before << " -> " << after;
    const std::string out = tmp("trained.gguf");
    t.save(out);
    train::Trainer reloaded(out, cfg);
    EXPECT_NEAR(reloaded.evaluate(val), after, 1e-3);
    EXPECT_EQ(reloaded.render_prompt("hi"), t.render_prompt("hi"));  // chat template kept
    // Every weight matrix trains, keys and values included (patches/llama.cpp-training.patch:
    // unpatched, llama.cpp's trainer leaves attn_k and attn_v as they were). token_embd is the
    // one llama.cpp still leaves alone (a FIXME in llama_context::opt_init).
    for (const char* name : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_k.bias",
                             "blk.0.ffn_down.weight", "output.weight"}) {
        const auto a = f32_tensor(tiny_model(), name), b = f32_tensor(out, name);
        ASSERT_FALSE(a.empty()) << name;
        ASSERT_EQ(a.size(), b.size()) << name;
        EXPECT_NE(a, b) << name << " did not change in training";
    }
}

// Attention learns: the last token must name a word seen earlier in the sequence (at a varying
// distance), which no bigram statistic predicts.
TEST(NanoTrain, AttentionLearnsToCopyAnEarlierToken) {
    train::TrainConfig cfg;
    cfg.threads = 1;
    cfg.lr = 3e-3f;
    cfg.lr_min = 3e-4f;
    cfg.chunk = 100000;
    cfg.separate_examples = true;
    train::Trainer t(tiny_model(), cfg);
    const int32_t bos = t.tokenize(nano::kUserTurn)[0];
    std::vector<int32_t> words, filler;
    for (int v = 0; v < 10; ++v) words.push_back(t.tokenize(" x=" + std::to_string(v))[0]);
    for (const char* f : {"a", "b", "c", "d"}) filler.push_back(t.tokenize(f)[0]);
    const int32_t ask = t.tokenize("\\boxed{")[0];
    Rng rng(5);
    auto make = [&](int count) {
        std::vector<train::Example> out;
        for (int i = 0; i < count; ++i) {
            train::Example e;
            e.tokens = {bos};
            for (int f = (int)rng.below(4); f > 0; --f) e.tokens.push_back(filler[rng.below(4)]);
            const int32_t w = words[rng.below(10)];
            e.tokens.push_back(w);
            for (int f = 1 + (int)rng.below(6); f > 0; --f) e.tokens.push_back(filler[rng.below(4)]);
            e.tokens.push_back(ask);
            e.labels.assign(e.tokens.size(), train::kMaskedLabel);
            e.labels.back() = w;
            e.length = (int)e.tokens.size();
            out.push_back(std::move(e));
        }
        return train::pack_examples(out, 256, t.eos(), 1);
    };
    const auto train_set = make(8000), val = make(200);
    const double before = t.decoded_accuracy(val);
    t.train(train_set, {}, nullptr);
    const double after = t.decoded_accuracy(val);
    EXPECT_LT(before, 0.3);
    // Chance is 0.1; the figure depends on the random init, so on the nano vocabulary (0.58 and
    // above seen); 0.4 is far from chance and from a flat copy.
    EXPECT_GT(after, 0.4) << "copy accuracy " << before << " -> " << after;
}

// Examples packed back to back and trained with separate_examples see only themselves
// (patches/llama.cpp-training.patch): the packed sequence's loss is the token-weighted mean of
// the examples' losses alone. Without it, later examples attend to earlier ones.
TEST(NanoTrain, PackedExamplesAttendOnlyToThemselves) {
    train::TrainConfig cfg;
    cfg.threads = 1;
    cfg.separate_examples = true;
    train::Trainer t(tiny_model(), cfg);
    auto set = examples(t, 21, 2);
    ASSERT_GE(set.size(), 3u);
    std::vector<train::Example> three(set.begin(), set.begin() + 2);  // two fit one sequence
    auto packed = train::pack_examples(three, 256, t.eos(), 1);
    ASSERT_EQ(packed.size(), 1u) << "the examples should fit one sequence";
    double sum = 0;
    long labelled = 0;
    for (const auto& e : three) {
        long n = std::count_if(e.labels.begin(), e.labels.end(), [](int32_t l) { return l >= 0; });
        sum += t.evaluate({e}) * n;
        labelled += n;
    }
    const double alone = sum / labelled;
    const double together = t.evaluate(packed);
    EXPECT_NEAR(together, alone, 1e-3 * alone);
    double acc = 0;
    t.evaluate(packed, &acc);
    double acc_alone = 0;
    for (const auto& e : three) {
        long n = std::count_if(e.labels.begin(), e.labels.end(), [](int32_t l) { return l >= 0; });
        acc_alone += t.decoded_accuracy({e}) * n;
    }
    EXPECT_NEAR(acc, acc_alone / labelled, 1e-9);

    cfg.separate_examples = false;
    train::Trainer mixed(tiny_model(), cfg);
    EXPECT_GT(std::abs(mixed.evaluate(packed) - alone), 1e-3 * alone) << "packing without separation changed nothing";
}

// A masked label trains nothing (patches/llama.cpp-training.patch): unpatched, an all-zero
// label row gets the gradient softmax(logits) and every weight moves.
TEST(NanoTrain, MaskedLabelsLeaveTheWeightsAlone) {
    train::TrainConfig cfg;
    cfg.threads = 1;
    cfg.lr = 3e-3f;
    cfg.weight_decay = 0;  // AdamW's decay would shrink weights without any gradient
    cfg.chunk = 1000;
    train::Trainer t(tiny_model(), cfg);
    auto set = examples(t, 21, 2);
    ASSERT_GT(set.size(), 2u);
    const std::string before = tmp("masked-before.gguf"), after = tmp("masked-after.gguf");
    t.save(before);
    for (auto& e : set) std::fill(e.labels.begin(), e.labels.end(), train::kMaskedLabel);
    t.train(set, {}, nullptr);
    t.save(after);
    auto bytes = [](const std::string& f) {
        std::ifstream in(f, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    EXPECT_EQ(bytes(before), bytes(after)) << "masked labels changed the weights";
    // One labelled position among them is enough to move them.
    set[0].labels[3] = set[0].tokens[4];
    t.train(set, {}, nullptr);
    t.save(after);
    EXPECT_NE(bytes(before), bytes(after));
}

// The trained weights must predict the same at inference as in the training graph: decode a
// training example with an ordinary context and compare the argmax with the labels.
TEST(NanoTrain, InferenceAgreesWithTheTrainingGraph) {
    train::TrainConfig cfg;
    cfg.threads = 1;
    cfg.lr = 3e-3f;
    cfg.epochs = 60;
    cfg.chunk = 1000;
    train::Trainer t(tiny_model(), cfg);
    auto set = examples(t, 21, 1);
    ASSERT_FALSE(set.empty());
    t.train(set, {}, nullptr);
    // The training graph's loss per labelled token (llama_opt_epoch, no update).
    const double train_loss = t.evaluate({set[0]});

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_ubatch = 256;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    llama_context* ctx = llama_init_from_model(t.model(), cp);
    ASSERT_NE(ctx, nullptr);
    const auto& e = set[0];
    llama_batch b = llama_batch_init(256, 0, 1);
    for (int i = 0; i < 256; ++i) {
        b.token[i] = e.tokens[i];
        b.pos[i] = i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = 256;
    ASSERT_EQ(llama_decode(ctx, b), 0);
    const int n_vocab = t.n_vocab();
    int right = 0, labelled = 0;
    double nll = 0;
    for (int i = 0; i < 256; ++i) {
        if (e.labels[i] == train::kMaskedLabel) continue;
        const float* l = llama_get_logits_ith(ctx, i);
        const float mx = *std::max_element(l, l + n_vocab);
        double z = 0;
        for (int v = 0; v < n_vocab; ++v) z += std::exp((double)l[v] - mx);
        nll += std::log(z) - ((double)l[e.labels[i]] - mx);
        right += (int)(std::max_element(l, l + n_vocab) - l) == e.labels[i];
        ++labelled;
    }
    llama_batch_free(b);
    llama_free(ctx);
    ASSERT_GT(labelled, 20);
    const double infer_loss = nll / labelled;
    EXPECT_NEAR(infer_loss, train_loss, 0.01 * train_loss + 1e-3) << "training graph " << train_loss << ", inference " << infer_loss;
    EXPECT_GT((double)right / labelled, 0.5);  // it learnt the example
    EXPECT_NEAR(t.decoded_accuracy({e}), (double)right / labelled, 1e-9);
}

// Structured token embeddings (MakeModelOptions::number_embeddings, kind_embeddings): rows of
// tokens naming the same number share a component, rows of tokens of the same kind (" x=3",
// " x=7") another; without them rows are independent draws.
TEST(NanoTrain, NumberAndKindEmbeddingsShareComponents) {
    const std::string vocab = tmp("vocab-embd.gguf");
    nano::write_vocab_gguf(vocab, nano::vocabulary_words(PromptSet::builtin()));
    auto rows = [&](double number, double kind, const std::string& out, const char* tensor = "token_embd.weight",
                    bool structured_output = false) {
        MakeModelOptions o = tiny_options(vocab, out, 9, 256);
        o.number_embeddings = number;
        o.kind_embeddings = kind;
        o.structured_output = structured_output;
        make_model(o);
        const std::vector<float> embd = f32_tensor(out, tensor);
        gguf_init_params ip{/*no_alloc=*/true, nullptr};
        gguf_context* g = gguf_init_from_file(out.c_str(), ip);
        EXPECT_NE(g, nullptr);
        const int64_t tok = gguf_find_key(g, "tokenizer.ggml.tokens");
        const size_t n_embd = (size_t)*o.n_embd;
        EXPECT_EQ(embd.size(), gguf_get_arr_n(g, tok) * n_embd);
        std::map<std::string, std::vector<float>> r;
        for (size_t i = 0; i < std::min(gguf_get_arr_n(g, tok), embd.size() / n_embd); ++i)
            r[gguf_get_arr_str(g, tok, i)] = std::vector<float>(embd.begin() + i * n_embd, embd.begin() + (i + 1) * n_embd);
        gguf_free(g);
        return r;
    };
    auto cosine = [](const std::vector<float>& a, const std::vector<float>& b) {
        double ab = 0, aa = 0, bb = 0;
        for (size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
        return ab / std::sqrt(aa * bb);
    };
    const auto plain = rows(0, 0, tmp("embd-plain.gguf"));
    const auto both = rows(0.4, 0.3, tmp("embd-both.gguf"));
    // Independent 256-wide rows: |cosine| is about 0.06.
    EXPECT_LT(std::abs(cosine(plain.at(" x=3"), plain.at(" x=7"))), 0.2);
    EXPECT_LT(std::abs(cosine(plain.at(" x=3"), plain.at("y1=3\n\n"))), 0.2);
    EXPECT_NEAR(cosine(both.at(" x=3"), both.at(" x=7")), 0.3, 0.15);      // same kind
    EXPECT_NEAR(cosine(both.at(" x=3"), both.at("y1=3\n\n")), 0.4, 0.15);  // same number
    EXPECT_NEAR(cosine(both.at("y1=3\n\n"), both.at("y2=3\n\n")), 0.7, 0.15);  // both
    EXPECT_LT(std::abs(cosine(both.at(" x=3"), both.at("y1=7\n\n"))), 0.2);
    // A token without digits keeps its plain row.
    EXPECT_EQ(both.at(" none yet"), plain.at(" none yet"));
    // The output layer: independent rows unless structured, then the embeddings' components.
    const auto out_plain = rows(0.4, 0.3, tmp("embd-both.gguf"), "output.weight");
    EXPECT_LT(std::abs(cosine(out_plain.at(" x=3"), out_plain.at("y1=3\n\n"))), 0.2);
    EXPECT_LT(std::abs(cosine(out_plain.at(" x=3"), both.at(" x=3"))), 0.2);
    const auto out_tied = rows(0.4, 0.3, tmp("embd-out.gguf"), "output.weight", true);
    EXPECT_NEAR(cosine(out_tied.at(" x=3"), out_tied.at("y1=3\n\n")), 0.4, 0.15);  // same number
    EXPECT_NEAR(cosine(out_tied.at(" x=3"), out_tied.at(" x=7")), 0.3, 0.15);      // same kind
    EXPECT_NEAR(cosine(out_tied.at(" x=3"), both.at(" x=3")), 0.7, 0.15);  // the embedding's directions
    EXPECT_LT(std::abs(cosine(out_tied.at(" x=3"), both.at("y1=7\n\n"))), 0.2);
    MakeModelOptions bad;
    bad.vocab_path = vocab;
    bad.out_path = tmp("embd-bad.gguf");
    bad.number_embeddings = 0.6;
    bad.kind_embeddings = 0.4;
    EXPECT_THROW(make_model(bad), Error);
}
