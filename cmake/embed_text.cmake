# Writes OUT, a C++ file defining leap::default_prompts_json() that returns the text of IN.
file(READ "${IN}" CONTENT)
set(DELIM "LEAP_EMBED")
file(WRITE "${OUT}.tmp" "// Generated from ${IN}; do not edit.\n#include <string_view>\nnamespace leap {\nstd::string_view default_prompts_json() {\n    static constexpr const char text[] = R\"${DELIM}(${CONTENT})${DELIM}\";\n    return {text, sizeof(text) - 1};\n}\n}  // namespace leap\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
