#include "core/path.h"

namespace leap {

std::string_view to_string(TokenKind k) {
    switch (k) {
        case TokenKind::Prompt: return "prompt";
        case TokenKind::Reasoning: return "reasoning";
        case TokenKind::Summary: return "summary";
        case TokenKind::Injected: return "injected";
        case TokenKind::Answer: return "answer";
        default: return "?";
    }
}

std::string_view to_string(Phase p) {
    switch (p) {
        case Phase::Segment: return "segment";
        case Phase::AtBlock: return "at-block";
        case Phase::Summarizing: return "summarizing";
        case Phase::AtRoute: return "at-route";
        case Phase::Answering: return "answering";
        case Phase::Done: return "done";
    }
    return "?";
}

std::string_view to_string(FinishReason r) {
    switch (r) {
        case FinishReason::None: return "none";
        case FinishReason::EndOfThinking: return "end-of-thinking";
        case FinishReason::EndOfSequence: return "end-of-sequence";
        case FinishReason::Forced: return "forced";
        case FinishReason::ContextFull: return "context-full";
        case FinishReason::EarlyExit: return "early-exit";
        case FinishReason::Pruned: return "pruned";
    }
    return "?";
}

std::string_view to_string(StopReason r) {
    switch (r) {
        case StopReason::StopString: return "stop";
        case StopReason::EndOfSequence: return "eos";
        case StopReason::Budget: return "budget";
        case StopReason::ContextFull: return "context-full";
        case StopReason::AnswerComplete: return "answer-complete";
        case StopReason::Stopped: return "stopped";
    }
    return "?";
}

}  // namespace leap
