// The engine hands a sampler chain only the candidates it can keep (top-k, or greedy's
// maximum). The chain must then draw exactly what it draws from the whole vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backends/llama/model.h"
#include "backends/llama/sampling.h"
#include "fixtures.h"

namespace {

using namespace leap;

const llama_vocab* vocab() {
    static LlamaModel m(ModelOptions{test::make_tiny_f32_model("sampling-tiny-f32.gguf", 3), 0, ""});
    return m.vocab();
}

llama_token draw(llama_sampler* s, std::vector<llama_token_data> cur, bool sorted) {
    llama_token_data_array arr = {cur.data(), cur.size(), -1, sorted};
    llama_sampler_apply(s, &arr);
    const llama_token t = arr.data[arr.selected].id;
    llama_sampler_accept(s, t);
    return t;
}

TEST(Sampling, TopCandidatesAreTheHighestLogitsInOrder) {
    std::vector<float> logits = {0.5f, 3.0f, -1.0f, 3.0f, 2.0f, 7.0f, 0.0f};
    std::vector<llama_token_data> out;
    top_candidates(logits.data(), (int)logits.size(), 3, nullptr, out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].id, 5);
    EXPECT_EQ(out[1].id, 1);  // a tie: the lower id first
    EXPECT_EQ(out[2].id, 3);
    const std::vector<char> banned = {0, 0, 0, 0, 0, 1, 0};
    top_candidates(logits.data(), (int)logits.size(), 2, &banned, out);
    EXPECT_EQ(out[0].id, 1);
    EXPECT_EQ(out[1].id, 3);
}

// Backend sampling: the device's top-(k + banned) in its own order, put in the host's order
// with the banned dropped, is the host's top-k list exactly.
TEST(Sampling, DeviceCandidatesEqualTopCandidates) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    const int n_vocab = 5000, k = 40;
    std::vector<float> logits(n_vocab);
    for (float& l : logits) l = std::round(normal(rng) * 8) / 8;  // coarse: ties happen
    std::vector<char> banned(n_vocab, 0);
    std::vector<llama_token_data> all;
    for (int t = 0; t < n_vocab; ++t) all.push_back({t, logits[t], 0.0f});
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); });
    banned[all[0].id] = banned[all[3].id] = 1;  // the best and the fourth
    for (const std::vector<char>* ban : {(const std::vector<char>*)nullptr, (const std::vector<char>*)&banned}) {
        std::vector<llama_token_data> want, got;
        top_candidates(logits.data(), n_vocab, k, ban, want);
        // What the device sends: its top k + 2, in an order of its own (here: shuffled).
        std::vector<llama_token> ids;
        std::vector<float> device_logits;
        for (int i = 0; i < k + 2; ++i) ids.push_back(all[i].id);
        std::shuffle(ids.begin(), ids.end(), rng);
        for (llama_token t : ids) device_logits.push_back(logits[t]);
        device_candidates(ids.data(), device_logits.data(), (int)ids.size(), k, ban, got);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            EXPECT_EQ(got[i].id, want[i].id) << i;
            EXPECT_EQ(got[i].logit, want[i].logit) << i;
        }
    }
}

TEST(Sampling, ChainDrawsTheSameFromTopCandidatesAsFromTheWholeVocabulary) {
    const int n_vocab = llama_vocab_n_tokens(vocab());
    std::vector<char> eog(n_vocab);
    for (llama_token t = 0; t < n_vocab; ++t) eog[t] = llama_vocab_is_eog(vocab(), t);
    std::mt19937 gen(1);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> logits(n_vocab);
    for (const bool ban : {false, true}) {
        for (const float temperature : {0.0f, 0.6f, 1.0f}) {
            SamplingOptions o;
            o.temperature = temperature;
            o.ban_end_of_generation = ban;
            const int k = candidates_needed(o, n_vocab);
            ASSERT_GT(k, 0);
            SamplerPtr whole = make_sampler(o, vocab(), 77), top = make_sampler(o, vocab(), 77);
            for (int step = 0; step < 200; ++step) {
                for (float& l : logits) l = normal(gen);
                // End-of-generation tokens are often the best, so the ban matters. (Distinct
                // values: among exactly equal logits the two orders may differ, which changes
                // which token a draw lands on, not the distribution.)
                for (llama_token t = 0; t < n_vocab; ++t)
                    if (eog[t] && step % 2 == 0) logits[t] = 5.0f + 0.01f * (float)(t % 97);
                std::vector<llama_token_data> all(n_vocab), few;
                for (llama_token t = 0; t < n_vocab; ++t) all[t] = {t, logits[t], 0.0f};
                top_candidates(logits.data(), n_vocab, k, ban ? &eog : nullptr, few);
                const llama_token a = draw(whole.get(), all, false), b = draw(top.get(), few, true);
                ASSERT_EQ(a, b) << "step " << step << " temperature " << temperature << " ban " << ban;
                if (ban) EXPECT_FALSE(eog[a]);
            }
        }
    }
    SamplingOptions no_top_k;
    no_top_k.top_k = 0;
    EXPECT_EQ(candidates_needed(no_top_k, n_vocab), 0);  // all candidates: top-p alone sees them all
}

}  // namespace

namespace {

// The surviving tokens and their probabilities after a chain without its final draw: the chain is
// applied to the candidates, then read off (llama.cpp's dist sampler normalizes them first).
std::vector<std::pair<int, double>> survivors(const SamplingOptions& so, const std::vector<float>& logits) {
    SamplerPtr s = make_sampler(so, vocab(), 1);
    std::vector<llama_token_data> cur;
    for (int t = 0; t < (int)logits.size(); ++t) cur.push_back({t, logits[t], 0.0f});
    llama_token_data_array arr = {cur.data(), cur.size(), -1, false};
    llama_sampler_apply(s.get(), &arr);
    std::vector<std::pair<int, double>> out;
    double sum = 0;
    for (size_t i = 0; i < arr.size; ++i) sum += arr.data[i].p;
    for (size_t i = 0; i < arr.size; ++i) out.push_back({arr.data[i].id, arr.data[i].p / sum});
    std::sort(out.begin(), out.end());
    return out;
}

// vLLM's sampler as its (v0) code does it, written here from its semantics: logits divided by
// the temperature; top-k; top-p on the softmax of what top-k kept (the smallest set of most
// probable tokens whose mass reaches p); min-p: tokens below min_p times the best probability
// dropped; the rest renormalized.
std::vector<std::pair<int, double>> vllm_survivors(const SamplingOptions& so, const std::vector<float>& logits) {
    std::vector<std::pair<double, int>> v;  // (tempered logit, id)
    for (int t = 0; t < (int)logits.size(); ++t) v.push_back({logits[t] / so.temperature, t});
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first > b.first; });
    if (so.top_k > 0 && so.top_k < (int)v.size()) v.resize(so.top_k);
    auto probs = [](const std::vector<std::pair<double, int>>& x) {
        std::vector<double> p;
        double z = 0;
        for (auto& e : x) z += std::exp(e.first - x[0].first);
        for (auto& e : x) p.push_back(std::exp(e.first - x[0].first) / z);
        return p;
    };
    std::vector<double> p = probs(v);
    double mass = 0;
    size_t keep = 0;
    while (keep < v.size() && mass < so.top_p) mass += p[keep++];
    v.resize(std::max<size_t>(keep, 1));
    p = probs(v);
    std::vector<std::pair<double, int>> kept;
    for (size_t i = 0; i < v.size(); ++i)
        if (p[i] >= so.min_p * p[0]) kept.push_back(v[i]);
    p = probs(kept);
    std::vector<std::pair<int, double>> out;
    for (size_t i = 0; i < kept.size(); ++i) out.push_back({kept[i].second, p[i]});
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

// The paper's settings (temperature 0.6, top-k 40, top-p 0.95, min-p 0.05): leap's default chain
// keeps the tokens vLLM keeps, with vLLM's probabilities; llama.cpp's order keeps more.
TEST(Sampling, ReferenceOrderKeepsWhatVllmKeeps) {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.5f);
    for (int trial = 0; trial < 20; ++trial) {
        SCOPED_TRACE("trial " + std::to_string(trial));
        std::vector<float> logits(200);
        for (float& l : logits) l = normal(rng);
        SamplingOptions so;  // the defaults are the paper's
        ASSERT_EQ(so.order, SamplerOrder::Reference);
        const auto got = survivors(so, logits), want = vllm_survivors(so, logits);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].first, want[i].first);
            EXPECT_NEAR(got[i].second, want[i].second, 1e-5);
        }
    }
    // A distribution where the orders differ: llama.cpp's min-p on the untempered logits keeps
    // tokens down to 0.05 of the best; the tempered one only down to about 0.17 of it.
    const std::vector<float> logits = {0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -2.5f, -3.5f, -5.0f};
    SamplingOptions so;
    so.top_p = 1.0f;
    const auto ref = survivors(so, logits);
    EXPECT_EQ(ref.size(), 4u);  // -2.0 / 0.6 is below ln(0.05)
    so.order = SamplerOrder::Llama;
    EXPECT_EQ(survivors(so, logits).size(), 6u);  // -2.5 >= ln(0.05) untempered
    EXPECT_EQ(sampler_names(SamplerOrder::Reference), (std::vector<std::string>{"temperature", "top_k", "top_p", "min_p"}));
}
