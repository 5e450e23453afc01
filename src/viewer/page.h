#pragma once
// The trace viewer: one self-contained HTML page (its CSS and JS inline, nothing fetched) that
// draws a LeaP run: the paths side by side, their summaries and comment blocks, the routing at
// each block, the vote (docs/viewer.md).
#include <string>

#include <nlohmann/json.hpp>

namespace leap::viewer {

// The page with `trace` (a trace file's JSON, docs/trace.md) embedded, readable offline.
std::string page_with_trace(const nlohmann::json& trace);

// The page with no data in it: the live page `leap serve` answers at `/`, which asks for a
// problem and draws the run from the streaming API.
std::string live_page();

// JSON text that is safe inside an HTML <script> element: every '<' is written \u003c, so no
// text in the trace ("</script>", "<!--") can end the element or start a comment.
std::string script_safe_json(const nlohmann::json& value);

}  // namespace leap::viewer
