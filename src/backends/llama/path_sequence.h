#pragma once
// A path's tokens in its llama.cpp sequence, kept in step with its text. The method edits text
// (trim, normalize, inject); this class turns each edit into a KV-cache rollback
// (llama_memory_seq_rm) to the last token boundary at or before the cut, plus the tokens to
// feed: the kept part of a cut token, then the appended text. Only new tokens are ever fed.
#include <llama.h>

#include <string>
#include <vector>

namespace leap {

class LlamaModel;

class PathSequence {
public:
    struct Edit {
        int rolled_back = 0;  // tokens removed from the KV cache
        int refed = 0;        // tokens fed again for the kept part of a cut token
        int appended = 0;     // tokens of the appended text
    };

    // Starts the path after the shared prompt (n_prompt tokens, positions 0..n_prompt-1),
    // with `owned` tokens of `text` (the prefill) already evaluated.
    void reset(llama_seq_id seq, int n_prompt, const std::vector<llama_token>& owned,
               const std::string& text, const LlamaModel& model);

    // Makes the text text[0, keep) + append.
    Edit edit(size_t keep, const std::string& append, const LlamaModel& model, llama_memory_t mem);

    // A sampled token: part of the text now, fed at the next decode.
    void push_sampled(llama_token t, const std::string& piece);

    // Ensures at least one token is pending, so a decode yields logits to sample from.
    int ensure_pending(llama_memory_t mem);

    llama_seq_id seq() const { return seq_; }
    const std::string& text() const { return text_; }
    const std::vector<llama_token>& tokens() const { return tokens_; }  // after the prompt
    int n_prompt() const { return n_prompt_; }
    int n_fed() const { return n_fed_; }
    int n_pending() const { return (int)tokens_.size() - n_fed_; }
    llama_token pending(int i) const { return tokens_[n_fed_ + i]; }
    llama_pos next_pos() const { return n_prompt_ + n_fed_; }
    llama_pos end_pos() const { return n_prompt_ + (llama_pos)tokens_.size(); }
    void mark_fed(int n) { n_fed_ += n; }

private:
    int add_text(const std::string& s, const LlamaModel& model);

    llama_seq_id seq_ = 0;
    int n_prompt_ = 0;
    std::string text_;
    std::vector<llama_token> tokens_;
    std::vector<size_t> ends_;      // text offset just after each token
    std::vector<char> boundary_;    // ends_[i] is a clean cut point (pieces matched the text)
    int n_fed_ = 0;
};

}  // namespace leap
