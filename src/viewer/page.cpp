// Assembles the viewer page from the compiled-in template, CSS and JS (cmake/embed_viewer.cmake).
#include "viewer/page.h"

#include <stdexcept>
#include <string_view>

namespace leap::viewer {

std::string_view page_template();
std::string_view page_css();
std::string_view page_js();

namespace {

// Replaces the one occurrence of `marker` in `page`; the template is ours, so a missing marker
// is a build defect, not bad input.
void fill(std::string& page, std::string_view marker, std::string_view text) {
    const size_t at = page.find(marker);
    if (at == std::string::npos) throw std::logic_error("viewer template lacks " + std::string(marker));
    page.replace(at, marker.size(), text);
}

// `data` is inserted last: it is the only part not written by us, and a marker-like text inside
// it must stay as it is.
std::string assemble(const std::string& data) {
    std::string page(page_template());
    fill(page, "/*LEAP_VIEWER_CSS*/", page_css());
    fill(page, "/*LEAP_VIEWER_JS*/", page_js());
    fill(page, "/*LEAP_VIEWER_DATA*/", data);
    return page;
}

}  // namespace

std::string script_safe_json(const nlohmann::json& value) {
    // Invalid UTF-8 in a trace (a model's bytes) becomes U+FFFD instead of an exception.
    const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    // '<' occurs in JSON only inside strings, where \u003c means the same character.
    for (char c : text) {
        if (c == '<') out += "\\u003c";
        else out += c;
    }
    return out;
}

std::string page_with_trace(const nlohmann::json& trace) { return assemble(script_safe_json(trace)); }

std::string live_page() { return assemble(""); }

}  // namespace leap::viewer
