#include "backends/llama/path_sequence.h"

#include "backends/llama/model.h"

namespace leap {

void PathSequence::reset(llama_seq_id seq, int n_prompt, const std::vector<llama_token>& owned,
                         const std::string& text, const LlamaModel& model) {
    seq_ = seq;
    n_prompt_ = n_prompt;
    text_.clear();
    tokens_.clear();
    ends_.clear();
    boundary_.clear();
    n_fed_ = 0;
    // Record the owned tokens' boundaries as if their text had been appended.
    std::string joined;
    for (llama_token t : owned) {
        joined += model.piece(t);
        tokens_.push_back(t);
        ends_.push_back(joined.size());
        boundary_.push_back(1);
    }
    if (joined != text) {  // pieces don't spell the text: only the end is a safe cut
        for (size_t i = 0; i < ends_.size(); ++i) {
            boundary_[i] = i + 1 == ends_.size();
            ends_[i] = text.size();
        }
    }
    text_ = text;
    n_fed_ = (int)tokens_.size();
}

int PathSequence::add_text(const std::string& s, const LlamaModel& model) {
    if (s.empty()) return 0;
    const std::vector<llama_token> toks = model.tokenize(s, false);
    const size_t base = text_.size();
    std::string joined;
    const size_t first = tokens_.size();
    for (llama_token t : toks) {
        joined += model.piece(t);
        tokens_.push_back(t);
        ends_.push_back(base + joined.size());
        boundary_.push_back(1);
    }
    if (joined != s)
        for (size_t i = first; i < tokens_.size(); ++i) {
            boundary_[i] = i + 1 == tokens_.size();
            ends_[i] = base + s.size();
        }
    text_ += s;
    return (int)toks.size();
}

PathSequence::Edit PathSequence::edit(size_t keep, const std::string& append, const LlamaModel& model,
                                      llama_memory_t mem) {
    Edit e;
    if (keep < text_.size()) {
        int i = (int)tokens_.size() - 1;
        while (i >= 0 && !(boundary_[i] && ends_[i] <= keep)) --i;
        const int n_keep = i + 1;
        const size_t base = i >= 0 ? ends_[i] : 0;
        if (n_fed_ > n_keep) {
            llama_memory_seq_rm(mem, seq_, n_prompt_ + n_keep, -1);
            e.rolled_back = n_fed_ - n_keep;
            n_fed_ = n_keep;
        }
        const std::string fragment = text_.substr(base, keep - base);
        tokens_.resize(n_keep);
        ends_.resize(n_keep);
        boundary_.resize(n_keep);
        text_.resize(base);
        e.refed = add_text(fragment, model);
    }
    e.appended = add_text(append, model);
    return e;
}

void PathSequence::push_sampled(llama_token t, const std::string& piece) {
    tokens_.push_back(t);
    text_ += piece;
    ends_.push_back(text_.size());
    boundary_.push_back(1);
}

int PathSequence::ensure_pending(llama_memory_t mem) {
    if (n_pending() > 0 || n_fed_ == 0) return 0;
    --n_fed_;
    llama_memory_seq_rm(mem, seq_, n_prompt_ + n_fed_, -1);
    return 1;
}

}  // namespace leap
