#include "core/block.h"

#include <algorithm>

namespace leap {

size_t trim_cut(std::string_view text, size_t segment_start, bool reference_parity) {
    const size_t pos = text.rfind("\n\n");
    if (pos == std::string_view::npos) return text.size();
    // Without parity, the cut must fall inside the current segment: cutting into earlier
    // segments (or the prefill) would throw away finished work.
    if (!reference_parity && pos + 2 <= segment_start) return text.size();
    return pos + 2;  // keep the blank line itself
}

std::string summary_request(std::string_view text, std::string_view trigger, std::string_view opener) {
    std::string out;
    if (text.size() < 2 || text.substr(text.size() - 2) != "\n\n")
        out += text.empty() || text.back() != '\n' ? "\n\n" : "\n";
    out += trigger;
    out += " ";
    out += kSummarizeOpen;
    out += " ";
    out += opener;
    return out;
}

SummaryFix normalize_summary(std::string_view generated, const std::vector<std::string>& end_of_thinking) {
    std::string cleaned(generated);
    // Longest first: gpt-oss's whole channel switch goes before the "<|end|>" it starts with.
    std::vector<std::string> markers = end_of_thinking;
    std::stable_sort(markers.begin(), markers.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const std::string& marker : markers)
        if (!marker.empty())
            for (size_t p; (p = cleaned.find(marker)) != std::string::npos;) cleaned.erase(p, marker.size());
    size_t keep = 0;
    while (keep < cleaned.size() && cleaned[keep] == generated[keep]) ++keep;
    std::string append = cleaned.substr(keep);

    const std::string_view close = kSummarizeClose;
    const std::string_view tail = cleaned;
    if (tail.size() >= close.size() && tail.substr(tail.size() - close.size()) == close)
        return {keep, append};
    // Longest proper prefix of the closing tag that the text ends with.
    for (size_t n = close.size() - 1; n > 0; --n) {
        if (tail.size() >= n && tail.substr(tail.size() - n) == close.substr(0, n)) {
            append += close.substr(n);
            return {keep, append};
        }
    }
    append += "... ";
    append += close;
    return {keep, append};
}

std::string last_summary(std::string_view text) {
    const size_t open = text.rfind(kSummarizeOpen);
    if (open == std::string_view::npos) return {};
    size_t begin = open + kSummarizeOpen.size();
    size_t end = text.find(kSummarizeClose, begin);
    if (end == std::string_view::npos) end = text.size();
    auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
    while (begin < end && is_space(text[begin])) ++begin;
    while (end > begin && is_space(text[end - 1])) --end;
    return std::string(text.substr(begin, end - begin));
}

std::string comment_block(const std::vector<RouteChoice>& peers,
                          const std::vector<std::string>& summaries, const PromptSet& prompts) {
    std::string out = " <comment> ";
    if (peers.empty()) {
        out += prompts.no_comment_text;
        out += " </comment>\n\n";
        out += prompts.no_comment_cue;
        return out;
    }
    for (size_t n = 0; n < peers.size(); ++n) {
        if (n) out += "\n";
        out += "Peer " + std::to_string(n + 1) + ": \"" + summaries[peers[n].peer] + "\"";
    }
    out += " </comment>\n\n";
    out += prompts.comment_cue;
    return out;
}

}  // namespace leap
