#pragma once
// The nano vocabulary: a byte-level BPE vocabulary (llama.cpp tokenizer model "gpt2") with no
// merges, so any text still tokenizes (one token per byte), plus user-defined tokens for every
// fixed string of the task and the prompt set (one token each), plus three control tokens for
// the chat template. About 400 tokens instead of Qwen's 151,936: the embedding and output layers
// of a small model stay small, and training is cheap.
#include <string>
#include <vector>

namespace leap::nano {

inline constexpr const char* kUserTurn = "<|user|>";
inline constexpr const char* kAssistantTurn = "<|assistant|>";
inline constexpr const char* kEndOfText = "<|end|>";  // end of sequence

// The chat template stored in the vocabulary: "<|user|>{message}<|assistant|><think>\n".
std::string chat_template();

struct VocabInfo {
    int n_tokens = 0;
    int n_bytes = 0;         // byte tokens
    int n_user_defined = 0;  // whole-string tokens
    int n_control = 0;
};

// Writes a vocab-only GGUF (every tokenizer.* key that llama.cpp needs and leap make-model copies)
// with the given user-defined words. Throws leap::Error on I/O failure.
VocabInfo write_vocab_gguf(const std::string& path, const std::vector<std::string>& words);

}  // namespace leap::nano
