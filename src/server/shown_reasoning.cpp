#include "server/shown_reasoning.h"

#include <algorithm>

#include "core/block.h"
#include "server/utf8_text.h"

namespace leap::server {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// The text before the end of its thinking, raw.
std::string raw_reasoning(const Path& p, const ThinkingFormat& format) {
    std::string_view head = p.text;
    if (!p.answer.empty() && head.size() >= p.answer.size() &&
        head.substr(head.size() - p.answer.size()) == p.answer)
        head.remove_suffix(p.answer.size());
    return split_thinking(head, format).reasoning;
}

// The length of `text` without a suffix that could still become one of `stops`.
size_t without_partial_stop(std::string_view text, const std::vector<std::string>& stops) {
    size_t keep = text.size();
    for (const std::string& s : stops)
        for (size_t n = s.empty() ? 0 : std::min(s.size() - 1, text.size()); n > 0; --n)
            if (text.substr(text.size() - n) == std::string_view(s).substr(0, n)) {
                keep = std::min(keep, text.size() - n);
                break;
            }
    return keep;
}

}  // namespace

std::string path_reasoning(const Path& path, const ThinkingFormat& format) {
    return valid_utf8(raw_reasoning(path, format));
}

std::string settled_reasoning(const ProblemRun& run, int index, std::string_view in_flight, const ThinkingFormat& format) {
    const Path& p = run.paths().at(index);
    if (p.phase == Phase::Done) return raw_reasoning(p, format);
    // Mixture of Agents starts every layer anew: only the last layer's text is the reasoning.
    const RunConfig& c = run.config();
    if (c.method == Method::MixtureOfAgents && run.layer() < c.moa_layers) return {};
    std::string text = p.text;
    // A reasoning segment's tokens are final unless they begin a stop string; a summary is not
    // final until the run normalized it, nor an answer part of the reasoning.
    if (p.phase == Phase::Segment) text += in_flight;
    if (format.answer_start(text) != std::string::npos) return split_thinking(text, format).reasoning;
    // A forced answer's opener without an end marker: where the answer begins is known once
    // the path is done.
    if (p.phase == Phase::Answering) return {};
    std::vector<std::string> stops = format.ends;
    stops.push_back(format.marker());
    stops.emplace_back(kSummarizeOpen);
    size_t keep = without_partial_stop(text, stops);
    // Trailing whitespace is dropped before an end marker; it is shown once more text follows.
    while (keep > 0 && is_space(text[keep - 1])) --keep;
    text.resize(keep);
    text.resize(complete_utf8_prefix(text));
    return text;
}

}  // namespace leap::server
