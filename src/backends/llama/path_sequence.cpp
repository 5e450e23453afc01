#include "backends/llama/path_sequence.h"

#include "backends/llama/model.h"

namespace leap {

void PathSequence::reset(llama_seq_id seq, int n_prompt, const std::vector<llama_token>& owned,
                         const std::string& text, const LlamaModel& model) {
    seq_ = seq;
    n_prompt_ = n_prompt;
    head_.clear();
    head_fed_ = 0;
    text_.reset(owned, text, model);
    n_fed_ = (int)text_.size();
}

void PathSequence::restart(const std::vector<llama_token>& prompt, const LlamaModel& model, llama_memory_t mem) {
    llama_memory_seq_rm(mem, seq_, -1, -1);
    head_ = prompt;
    head_fed_ = 0;
    n_prompt_ = (int)prompt.size();
    text_.reset({}, "", model);
    n_fed_ = 0;
}

PathSequence::Edit PathSequence::edit(size_t keep, const std::string& append, const LlamaModel& model,
                                      llama_memory_t mem) {
    const int before = (int)text_.size();
    Edit e = text_.edit(keep, append, model);
    const int n_keep = before - e.rolled_back;  // tokens untouched by the edit
    e.rolled_back = 0;                          // from here on: tokens removed from the cache
    if (n_fed_ > n_keep) {
        llama_memory_seq_rm(mem, seq_, n_prompt_ + n_keep, -1);
        e.rolled_back = n_fed_ - n_keep;
        n_fed_ = n_keep;
    }
    return e;
}

int PathSequence::ensure_pending(llama_memory_t mem) {
    if (n_pending() > 0) return 0;
    if (n_fed_ == 0) {
        // Nothing of the text yet: the last token of a prompt of its own gives the logits.
        if (head_.empty()) return 0;
        --head_fed_;
        llama_memory_seq_rm(mem, seq_, head_fed_, -1);
        return 1;
    }
    --n_fed_;
    llama_memory_seq_rm(mem, seq_, n_prompt_ + n_fed_, -1);
    return 1;
}

}  // namespace leap
