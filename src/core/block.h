#pragma once
// The text operations of one LeaP block (SPEC §2 step 4): trim, summary request, summary
// normalization, and the comment block injected from the chosen peers.
#include <string>
#include <string_view>
#include <vector>

#include "core/prompts.h"
#include "core/router.h"

namespace leap {

inline constexpr std::string_view kSummarizeOpen = "<summarize>";
inline constexpr std::string_view kSummarizeClose = "</summarize>";

// Where the trim cuts: the path keeps text[0, cut). The last, unfinished paragraph (everything
// after the last blank line) is dropped. By default a blank line before `segment_start` is not
// used (nothing is trimmed then); with reference_parity the whole text is searched, as the
// reference does. Returns text.size() when nothing is trimmed.
size_t trim_cut(std::string_view text, size_t segment_start, bool reference_parity);

// Appended after the trim: a blank line (unless the text already ends with one), the trigger,
// " <summarize> " and the opener. The model continues the summary from there.
std::string summary_request(std::string_view text, std::string_view trigger, std::string_view opener);

// How to correct a sampled summary: keep `keep` bytes of it, then append `append`.
// End-of-thinking markers (every one given) are deleted; a partial closing tag is completed; a missing one is
// replaced by "... </summarize>".
struct SummaryFix {
    size_t keep;
    std::string append;
};
SummaryFix normalize_summary(std::string_view generated, const std::vector<std::string>& end_of_thinking);
inline SummaryFix normalize_summary(std::string_view generated, std::string_view end_of_thinking) {
    return normalize_summary(generated, std::vector<std::string>{std::string(end_of_thinking)});
}

// The text between the last <summarize> and the </summarize> after it, trimmed of whitespace.
std::string last_summary(std::string_view text);

// " <comment> " + `Peer n: "summary"` lines + " </comment>" + blank line + cue; with no peers,
// the no-comment text and cue instead.
std::string comment_block(const std::vector<RouteChoice>& peers,
                          const std::vector<std::string>& summaries, const PromptSet& prompts);

}  // namespace leap
