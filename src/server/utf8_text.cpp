#include "server/utf8_text.h"

namespace leap::server {

namespace {

// How many bytes a character starting with `lead` has (0: not a lead byte), and the range its
// second byte must lie in (which rules out overlong forms, surrogates and code points past
// U+10FFFF: the Unicode standard's table of well-formed byte sequences).
struct Lead { int length; unsigned char lo, hi; };
Lead lead_of(unsigned char b) {
    if (b < 0x80) return {1, 0, 0};
    if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};
    if (b == 0xED) return {3, 0x80, 0x9F};
    if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};
    if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
    return {0, 0, 0};
}

// The character at `i`: how many of its bytes are well formed (== length: complete), and its
// length (0: `text[i]` is no lead byte).
struct Char { int good; int length; };
Char char_at(std::string_view text, size_t i) {
    const Lead l = lead_of((unsigned char)text[i]);
    if (l.length <= 1) return {l.length, l.length};
    int good = 1;
    for (; good < l.length && i + good < text.size(); ++good) {
        const unsigned char c = (unsigned char)text[i + good];
        const bool ok = good == 1 ? (c >= l.lo && c <= l.hi) : (c >= 0x80 && c <= 0xBF);
        if (!ok) break;
    }
    return {good, l.length};
}

}  // namespace

std::string valid_utf8(std::string_view text) {
    static const char kReplacement[] = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const Char c = char_at(text, i);
        if (c.length > 0 && c.good == c.length) {
            out.append(text.substr(i, c.length));
            i += c.length;
        } else {
            out += kReplacement;
            i += c.length == 0 ? 1 : c.good;  // go on at the byte that broke the sequence
        }
    }
    return out;
}

size_t complete_utf8_prefix(std::string_view text) {
    // An unfinished character is at most 3 bytes long.
    for (size_t back = 1; back <= 3 && back <= text.size(); ++back) {
        const size_t i = text.size() - back;
        const Char c = char_at(text, i);
        if (c.length == 0) continue;  // a continuation byte: its lead may be further back
        return c.length > 1 && c.good == (int)back && c.good < c.length ? i : text.size();
    }
    return text.size();
}

}  // namespace leap::server
