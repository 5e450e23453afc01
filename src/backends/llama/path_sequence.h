#pragma once
// A path's tokens in its llama.cpp sequence. The method edits text (trim, normalize, inject);
// TokenText (core/token_text.h) turns each edit into tokens kept, re-fed and appended, and this
// class applies it to the KV cache: llama_memory_seq_rm back to the last kept token, then the
// new tokens wait to be fed. Only new tokens are ever fed.
#include <llama.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/token_text.h"

namespace leap {

class LlamaModel;

class PathSequence {
public:
    using Edit = TokenText::Edit;

    // Starts the path after the shared prompt (n_prompt tokens, positions 0..n_prompt-1),
    // with `owned` tokens of `text` (the prefill) already evaluated.
    void reset(llama_seq_id seq, int n_prompt, const std::vector<llama_token>& owned,
               const std::string& text, const LlamaModel& model);

    // Starts the path over on a prompt of its own (a new conversation: MoA's reference layout):
    // the sequence's cells all leave the cache, and `prompt` (positions 0..) waits to be fed
    // ahead of the text, which starts empty.
    void restart(const std::vector<llama_token>& prompt, const LlamaModel& model, llama_memory_t mem);

    // Makes the text text[0, keep) + append; tokens no longer kept leave the KV cache
    // (Edit::rolled_back counts those, not dropped tokens that were never fed).
    Edit edit(size_t keep, const std::string& append, const LlamaModel& model, llama_memory_t mem);

    // A sampled token: part of the text now, fed at the next decode.
    void push_sampled(llama_token t, const std::string& piece) { text_.push_sampled(t, piece); }

    // Ensures at least one token is pending, so a decode yields logits to sample from.
    int ensure_pending(llama_memory_t mem);

    llama_seq_id seq() const { return seq_; }
    const std::string& text() const { return text_.text(); }
    const std::vector<llama_token>& tokens() const { return text_.tokens(); }  // after the prompt
    int n_prompt() const { return n_prompt_; }
    int n_fed() const { return n_fed_; }
    // Pending: the rest of a prompt of its own (restart), then the text's unfed tokens.
    int n_pending() const { return head_pending() + (int)text_.size() - n_fed_; }
    llama_token pending(int i) const {
        return i < head_pending() ? head_[head_fed_ + i] : text_.tokens()[n_fed_ + i - head_pending()];
    }
    llama_pos next_pos() const { return head_pending() > 0 ? head_fed_ : n_prompt_ + n_fed_; }
    llama_pos end_pos() const { return n_prompt_ + (llama_pos)text_.size(); }
    void mark_fed(int n) {
        const int h = std::min(n, head_pending());
        head_fed_ += h;
        n_fed_ += n - h;
    }

private:
    int head_pending() const { return (int)head_.size() - head_fed_; }

    llama_seq_id seq_ = 0;
    int n_prompt_ = 0;
    std::vector<llama_token> head_;  // a prompt of the path's own (restart); empty: the shared one
    int head_fed_ = 0;
    TokenText text_;
    int n_fed_ = 0;
};

}  // namespace leap
