#pragma once
// One reasoning path: its text (everything after the shared prompt), where it is in the
// method, and what it has seen. The problem run (problem_run.h) moves it through the phases.
#include <array>
#include <string>
#include <vector>

#include "core/confidence.h"
#include "core/router.h"

namespace leap {

// What a token was for; counters and the trace are kept per kind.
enum class TokenKind { Prompt, Reasoning, Summary, Injected, Answer, Count };
std::string_view to_string(TokenKind k);

enum class Phase {
    Segment,      // sampling reasoning tokens of the current segment
    AtBlock,      // segment done, waiting for the peers to reach the block
    Summarizing,  // sampling the summary
    AtRoute,      // summary done, waiting for the peers' summaries
    Answering,    // sampling the final answer (after end-of-thinking, or forced)
    Done,
};
std::string_view to_string(Phase p);

// EarlyExit: stopped because a quorum of its peers agreed (--early-exit-quorum); Pruned: stopped
// at a block as one of the least confident paths (--prune-share, --prune-at before). Neither has
// an answer; the metrics leave them out (docs/adaptive.md).
enum class FinishReason { None, EndOfThinking, EndOfSequence, Forced, ContextFull, EarlyExit, Pruned };
std::string_view to_string(FinishReason r);

// Why a generation request ended.
// AnswerComplete: a forced answer's \boxed{...} closed or its letter was written (answer_end).
// Stopped: the run asked the backend to end the request (ProblemRun::take_stops).
enum class StopReason { StopString, EndOfSequence, Budget, ContextFull, AnswerComplete, Stopped };
std::string_view to_string(StopReason r);

// What the path saw at one LeaP block; goes into the trace.
struct BlockRecord {
    int block = 0;
    size_t trimmed_chars = 0;           // how much of the unfinished paragraph was dropped
    std::string trimmed_text;
    std::string summary_request;        // trigger + <summarize> + opener, as appended
    std::string summary;                // normalized summary text, between the tags
    std::vector<RouteChoice> peers;     // who it heard from, with similarity
    std::string injected;               // the comment block + cue, as appended
};

struct Path {
    int index = 0;
    std::string text;                   // authoritative text after the shared prompt
    size_t synced = 0;                  // prefix of `text` the backend already holds
    Phase phase = Phase::Segment;
    FinishReason finish = FinishReason::None;
    int segment = 0;                    // current segment (0-based)
    size_t segment_start = 0;           // offset in `text` where the current segment began
    std::vector<std::string> segments;  // each segment's sampled text
    std::vector<BlockRecord> blocks;
    std::string answer;                 // text after the end-of-thinking marker (or forced answer)
    std::vector<std::string> notes;     // engine events worth reading (context full, ...)
    std::array<long, (size_t)TokenKind::Count> tokens{};  // tokens by kind (prompt = shared)
    PathConfidence confidence;          // of its reasoning tokens, when the run computes it
    bool stopped() const { return finish == FinishReason::EarlyExit || finish == FinishReason::Pruned; }
};

}  // namespace leap
