#pragma once
// Model text as JSON strings. A model's byte tokens can leave invalid UTF-8 anywhere, and a
// stream cuts text between tokens, possibly inside a character. Streamed pieces must add up to
// exactly the text of the plain response, so both go through valid_utf8(), which decides each
// byte from what precedes it and the bytes of its own character only: valid_utf8(a) +
// valid_utf8(b) == valid_utf8(a + b) whenever `a` has no unfinished character at its end.
#include <string>
#include <string_view>

namespace leap::server {

// Each ill-formed sequence (a maximal subpart, as Unicode recommends) becomes U+FFFD; an
// unfinished character at the end too.
std::string valid_utf8(std::string_view text);

// The length of `text` without an unfinished character at its end (a lead byte and fewer
// continuation bytes than it needs, each allowed so far): where a stream may cut it now.
size_t complete_utf8_prefix(std::string_view text);

}  // namespace leap::server
