#pragma once
// A problem's first prompt as a backend feeds it (Backend::prepare): its conversation through
// the chat template, tokenized, then the method's prefill. One function makes it for every
// backend, so the in-process engine, the remote one and eval's context sizing count the same
// tokens and refuse the same prompts with the same words.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/problem_run.h"
#include "core/prompts.h"
#include "core/tokenizer.h"

namespace leap {

// What preparing a prompt needs from a model: its tokenizer and its chat template. The
// in-process model (backends/llama/model.h) and the remote backend's tokenizers implement it.
class ChatTokenizer : public TokenizerBase {
public:
    // The chat template applied to the earlier turns (a system message, a conversation) and one
    // user message, with the generation prompt.
    virtual std::string render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier = {}) const = 0;
};

// Made on the submitter's thread so that a long prompt costs a running backend nothing; only
// valid for the problem and config it was made for.
struct PreparedPrompt {
    std::string rendered_text;              // the conversation through the template
    std::vector<int32_t> rendered;          // its tokens (BOS included where the model adds one)
    std::string prefill;                    // the method's prefill text
    std::vector<int32_t> prefill_tokens;    // its tokens
    std::string tail;                       // what the template puts after the user's message

    long n_tokens() const { return (long)(rendered.size() + prefill_tokens.size()); }
};

// Room kept free in every path's context for a forced answer: its budget, and its opener.
int answer_reserve(const RunConfig& config);

// Where a prompt must fit, for prepare_prompt's refusal.
struct PromptRoom {
    int n_ctx_seq = 0;           // cells of one path's context; 0: no check (sizing a context)
    size_t max_piece_bytes = 0;  // the vocabulary's longest piece in bytes; 0: no byte pre-check
    std::string raise;           // what the user can raise, named in the refusal
};

// Throws leap::Error naming the problem when the prompt and the answer's reserve do not fit
// room.n_ctx_seq. With room.max_piece_bytes a text of more bytes than the context's tokens can
// hold is refused before it is tokenized (tokenization can be superlinear in the length).
std::shared_ptr<const PreparedPrompt> prepare_prompt(const ChatTokenizer& model, const Problem& problem,
                                                     const RunConfig& config, const PromptSet& prompts,
                                                     const PromptRoom& room);

}  // namespace leap
