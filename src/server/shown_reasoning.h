#pragma once
// The reasoning a chat client is shown: one path's thinking (path 0, the path leap serve streams
// live; docs/serve.md), in the response's `reasoning_content`, and token by token in a stream's
// `delta.reasoning_content`. Streamed pieces add up to exactly the plain response's text: a
// piece is sent only once no later token can change it (a stop string or a character still
// unfinished at its end is held back; a summary is shown once normalized).
#include <string>
#include <string_view>

#include "core/problem_run.h"
#include "core/thinking.h"

namespace leap::server {

// The path streamed as `delta.reasoning_content`.
inline constexpr int kShownPath = 0;

// A finished path's reasoning: its text before the end of its thinking (the answer part and
// the end marker dropped: split_thinking), as valid UTF-8.
std::string path_reasoning(const Path& path, const ThinkingFormat& format);

// The part of the path's reasoning that is final already, raw (not yet valid_utf8): its text
// with what its request in flight sampled so far (`in_flight`, a reasoning segment's tokens),
// less what may still change. A finished path: all of path_reasoning's text. Each call's value
// extends the previous one's, and path_reasoning() extends them all.
std::string settled_reasoning(const ProblemRun& run, int path, std::string_view in_flight, const ThinkingFormat& format);

}  // namespace leap::server
