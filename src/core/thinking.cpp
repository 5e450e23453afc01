#include "core/thinking.h"

#include <algorithm>
#include <utility>

namespace leap {

namespace {
bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return s.substr(b, e - b);
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return !suffix.empty() && s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Where the thinking of `text` ends: [begin, end) of the last complete close marker, else of the
// last end marker; {npos, npos} when there is none.
std::pair<size_t, size_t> last_end_of_thinking(std::string_view text, const ThinkingFormat& f) {
    const std::string m = f.marker();
    if (!m.empty())
        if (const size_t at = text.rfind(m); at != std::string_view::npos) return {at, at + m.size()};
    std::pair<size_t, size_t> best{std::string_view::npos, std::string_view::npos};
    for (const std::string& e : f.ends) {
        if (e.empty()) continue;
        const size_t at = text.rfind(e);
        if (at != std::string_view::npos && (best.first == std::string_view::npos || at > best.first))
            best = {at, at + e.size()};
    }
    return best;
}
}  // namespace

std::string ThinkingFormat::marker() const { return std::string(trim(close)); }

std::string ThinkingFormat::after_end(std::string_view end) const {
    const std::string m = marker();
    if (end.empty() || m.size() <= end.size() || m.compare(0, end.size(), end) != 0) return {};
    return m.substr(end.size());
}

size_t ThinkingFormat::answer_start(std::string_view text) const { return last_end_of_thinking(text, *this).second; }

ThinkingFormat ThinkingFormat::single_marker(std::string marker, std::string source) {
    ThinkingFormat f;
    f.ends = {marker};
    f.close = std::move(marker);
    f.template_opens = true;
    f.source = std::move(source);
    f.from_template = false;
    return f;
}

ThinkingSplit split_thinking(std::string_view text, const ThinkingFormat& format) {
    const auto [begin, end] = last_end_of_thinking(text, format);
    if (begin == std::string_view::npos) return {std::string(text), {}};
    std::string_view reasoning = text.substr(0, begin);
    while (!reasoning.empty() && is_space(reasoning.back())) reasoning.remove_suffix(1);
    return {std::string(reasoning), std::string(trim(text.substr(end)))};
}

std::optional<ThinkingFormat> derive_thinking_format(const TemplateRenders& r, std::string* why) {
    auto fail = [&](std::string reason) -> std::optional<ThinkingFormat> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    const std::string& R = r.reasoning_sentinel;
    const std::string& C = r.content_sentinel;
    if (!r.supports_thinking) return fail("its chat template has no thinking section");
    // The close: what the template writes between a reasoning and its answer.
    const size_t rpos = r.in_content.rfind(R);
    if (rpos == std::string::npos || !ends_with(r.in_content, C) || r.in_content.size() - C.size() < rpos + R.size())
        return fail("its chat template does not write an assistant's reasoning before its answer");
    const std::string close = r.in_content.substr(rpos + R.size(), r.in_content.size() - C.size() - rpos - R.size());
    if (trim(close).empty()) return fail("its chat template writes nothing between a reasoning and its answer");

    ThinkingFormat f;
    f.source = "chat template";
    f.from_template = true;
    f.start = r.start_tag;
    f.close = close;
    const std::string marker(trim(close));
    f.ends.clear();
    for (const std::string& t : r.end_tags)
        if (!t.empty() && marker.compare(0, t.size(), t) == 0) f.ends.push_back(t);
    if (f.ends.empty()) f.ends.push_back(marker);

    // Is the section already open where the generation prompt ends?
    const size_t u = r.plain.rfind(r.user_sentinel);
    const std::string_view tail = std::string_view(r.plain).substr(u == std::string::npos ? 0 : u + r.user_sentinel.size());
    if (!f.start.empty()) {
        const size_t s = tail.rfind(f.start);
        bool closed_after = false;
        if (s != std::string_view::npos)
            for (const std::string& e : f.ends) closed_after = closed_after || tail.find(e, s + f.start.size()) != std::string_view::npos;
        f.template_opens = s != std::string_view::npos && !closed_after;
    } else {
        // No start tag known: the section is open when continuing a reasoning adds nothing to the
        // generation prompt but the reasoning itself.
        const bool continues = ends_with(r.in_reasoning, R);
        const std::string_view opened =
            continues ? std::string_view(r.in_reasoning).substr(0, r.in_reasoning.size() - R.size()) : std::string_view();
        f.template_opens = !continues || trim(opened) == trim(r.plain);
    }
    return f;
}

}  // namespace leap
