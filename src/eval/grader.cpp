#include "eval/grader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <functional>
#include <regex>
#include <set>

#include "core/answer.h"
#include "core/error.h"

namespace leap {

namespace {

// ---- small string helpers ---------------------------------------------------------------------

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_upper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
        s.replace(pos, from.size(), to);
}

// Replaces the command \name (not followed by a letter, so \left does not hit \leftarrow).
void replace_command(std::string& s, std::string_view name, std::string_view to) {
    const std::string cmd = "\\" + std::string(name);
    for (size_t pos = 0; (pos = s.find(cmd, pos)) != std::string::npos;) {
        const size_t end = pos + cmd.size();
        if (end < s.size() && is_alpha(s[end])) {
            pos = end;
            continue;
        }
        s.replace(pos, cmd.size(), to);
        pos += to.size();
    }
}

// Index of the '}' matching the '{' at `open`, or npos.
size_t match_brace(std::string_view s, size_t open) {
    int depth = 0;
    for (size_t j = open; j < s.size(); ++j) {
        if (s[j] == '\\' && j + 1 < s.size() && (s[j + 1] == '{' || s[j + 1] == '}')) {
            ++j;  // escaped brace: \{ \}
            continue;
        }
        if (s[j] == '{') ++depth;
        if (s[j] == '}' && --depth == 0) return j;
    }
    return std::string_view::npos;
}

// \name{X} -> X (for every occurrence, innermost handled by repetition).
void unwrap_command(std::string& s, std::string_view name, bool pad) {
    const std::string cmd = "\\" + std::string(name);
    for (size_t pos = 0; (pos = s.find(cmd, pos)) != std::string::npos;) {
        size_t i = pos + cmd.size();
        if (i < s.size() && is_alpha(s[i])) {
            pos = i;
            continue;
        }
        while (i < s.size() && s[i] == ' ') ++i;
        if (i >= s.size() || s[i] != '{') {
            pos = i;
            continue;
        }
        const size_t close = match_brace(s, i);
        if (close == std::string::npos) {
            pos = i;
            continue;
        }
        const std::string inner = s.substr(i + 1, close - i - 1);
        const std::string repl = pad ? " " + inner + " " : inner;
        s.replace(pos, close + 1 - pos, repl);
    }
}

// Bracket depth helpers: ( [ { and \{ open, ) ] } and \} close.
struct Depth {
    int d = 0;
    // Advances over s[i] (and a following char for \{ \}); returns how many chars were consumed.
    size_t step(std::string_view s, size_t i) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
            d += s[i + 1] == '{' ? 1 : -1;
            return 2;
        }
        if (s[i] == '(' || s[i] == '[' || s[i] == '{') ++d;
        if (s[i] == ')' || s[i] == ']' || s[i] == '}') --d;
        return 1;
    }
};

// Splits at top-level occurrences of `sep`.
std::vector<std::string> split_top(std::string_view s, std::string_view sep) {
    std::vector<std::string> parts;
    Depth depth;
    size_t start = 0;
    for (size_t i = 0; i < s.size();) {
        if (depth.d == 0 && s.substr(i, sep.size()) == sep) {
            // "\cup" must not be the start of a longer command.
            if (!(sep[0] == '\\' && i + sep.size() < s.size() && is_alpha(s[i + sep.size()]))) {
                parts.emplace_back(s.substr(start, i - start));
                i += sep.size();
                start = i;
                continue;
            }
        }
        i += depth.step(s, i);
    }
    parts.emplace_back(s.substr(start));
    return parts;
}

// Whether the bracket opening at s[0] closes exactly at the last char.
bool encloses(std::string_view s) {
    Depth depth;
    for (size_t i = 0; i < s.size();) {
        i += depth.step(s, i);
        if (depth.d == 0) return i == s.size();
    }
    return false;
}

// ---- normalization ------------------------------------------------------------------------------

// Whitespace: removed, except a single space kept between two digits or two letters (so "2 3" does
// not become 23 and "\pi r" does not become the unknown command "\pir").
std::string collapse_spaces(std::string_view s) {
    std::string out;
    bool pending = false;
    for (char c : s) {
        if (is_space(c)) {
            pending = !out.empty();
            continue;
        }
        if (pending) {
            const char p = out.back();
            if ((is_digit(p) && is_digit(c)) || (is_alpha(p) && is_alpha(c))) out += ' ';
            pending = false;
        }
        out += c;
    }
    return out;
}

constexpr size_t kLongAnswer = 2000;

// libstdc++'s std::regex recurses per character: regexes only ever see short strings.
constexpr size_t kRegexLimit = 400;

bool is_plain_decimal(std::string_view s) {
    if (s.size() > kRegexLimit) return false;
    static const std::regex re(R"(^[+-]?(\d+\.?\d*|\.\d+)$)");
    return std::regex_match(s.begin(), s.end(), re);
}

// Trailing decorations of one answer (or one tuple element): percent sign, degree marks and
// words, units. Repeated until nothing changes ("5 \text{cm}^2", "30^\circ").
std::string strip_decorations(std::string s) {
    static const std::regex unit_re(
        std::string(R"(^(.*?[0-9}\)a-zA-Z.])\s*((?:square |sq\.? |cubic )?(?:)") +
            "units?|cm|mm|km|centimeters?|millimeters?|kilometers?|meters?|metres?|inch(?:es)?|feet|foot|"
            "ft|yards?|miles?|mph|kg|grams?|liters?|litres?|ml|seconds?|secs?|minutes?|mins?|hours?|hrs?|"
            "days?|weeks?|months?|years?|dollars?|cents?|degrees?|deg|radians?|ways|people|persons|students|"
            "points|pounds|lbs|ounces|oz" +
            R"()(?:\s*\^\s*\{?\s*[23]\s*\}?)?)\s*\.?\s*$)",
        std::regex::icase);
    for (int guard = 0; guard < 8; ++guard) {
        const std::string before = s;
        s = trim(s);
        while (!s.empty() && (s.back() == '.' || s.back() == ';')) s = trim(s.substr(0, s.size() - 1));
        if (ends_with(s, "\\%")) s = trim(s.substr(0, s.size() - 2));
        else if (ends_with(s, "%")) s = trim(s.substr(0, s.size() - 1));
        for (std::string_view deg : {"^{\\circ}", "^\\circ", "\\circ", "^{\\circ}C", "^\\circ C"})
            if (ends_with(s, deg)) s = trim(s.substr(0, s.size() - deg.size()));
        std::smatch m;
        if (s.size() <= kRegexLimit && std::regex_match(s, m, unit_re) && !trim(m[1].str()).empty()) {
            const std::string head = trim(m[1].str());
            // Only after something number-like: "5 cm", "2\sqrt{3} units", not a lone word.
            bool numeric_tail = is_digit(head.back()) || head.back() == '}' || head.back() == ')' ||
                                ends_with(head, "\\pi");
            if (numeric_tail) s = head;
        }
        if (s == before) break;
    }
    return s;
}

// A variable-like left-hand side: x, x_1, x_{12}, \theta, or a tuple of those: (x, y).
bool variable_like(std::string_view s) {
    if (s.size() > kRegexLimit) return false;
    static const std::regex re(
        R"(^\s*(?:[a-zA-Z](?:_\{?\w+\}?)?|\\(?:alpha|beta|gamma|delta|theta|phi|lambda|mu|omega)|)"
        R"(\(\s*[a-zA-Z](?:_\{?\w+\}?)?(?:\s*,\s*[a-zA-Z](?:_\{?\w+\}?)?)+\s*\))\s*$)");
    return std::regex_match(s.begin(), s.end(), re);
}

// "x = 5" -> "5", "x \in [0,1)" -> "[0,1)" when there is exactly one top-level "=" and its
// left-hand side is variable-like. Returns the variable ("x") through `var` when stripped.
std::string strip_assignment(const std::string& s, std::string* var = nullptr) {
    const std::vector<std::string> eq = split_top(s, "=");
    std::string lhs, rhs;
    if (eq.size() == 2) {
        lhs = eq[0];
        rhs = eq[1];
    } else if (eq.size() == 1) {
        const std::vector<std::string> in = split_top(s, "\\in");
        if (in.size() != 2) return s;
        lhs = in[0];
        rhs = in[1];
    } else {
        return s;
    }
    // "x \le 3 = y" style or "a < b": leave alone.
    if (lhs.find_first_of("<>") != std::string::npos || trim(rhs).empty()) return s;
    if (!variable_like(lhs)) return s;
    if (var) *var = collapse_spaces(lhs);
    return trim(rhs);
}

// A whole answer (or element) "1,000,000" or "1 000" (groups of three, no space after a comma) is
// one number. "1,2", "1,00" and "1, 234" are lists.
std::string join_thousands(std::string s) {
    static const std::regex comma_thousands(R"(^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$)");
    static const std::regex space_thousands(R"(^[+-]?\d{1,3}( \d{3})+(\.\d+)?$)");
    if (s.size() > kRegexLimit) return s;
    if (std::regex_match(s, comma_thousands)) s.erase(std::remove(s.begin(), s.end(), ','), s.end());
    if (std::regex_match(s, space_thousands)) s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
    return s;
}

std::string normalize_impl(std::string_view in) {
    std::string s = trim(in);
    // Unicode forms of common symbols.
    replace_all(s, "\xE2\x88\x92", "-");            // U+2212 minus
    replace_all(s, "\xCF\x80", "\\pi ");            // pi
    replace_all(s, "\xE2\x88\x9A", "\\sqrt");       // square root
    replace_all(s, "\xE2\x88\x9E", "\\infty ");     // infinity
    replace_all(s, "\xC2\xB0", "^\\circ");          // degree sign
    replace_all(s, "\xC3\x97", "\\times ");         // multiplication sign
    replace_all(s, "\xC2\xB7", "\\cdot ");          // middle dot
    replace_all(s, "\xE2\x80\x89", " ");            // thin space
    replace_all(s, "\xC2\xA0", " ");                // no-break space
    // Math delimiters and dollar signs (a currency "\$" goes too).
    for (bool changed = true; changed;) {
        changed = false;
        s = trim(s);
        for (auto [o, c] : std::array<std::pair<std::string_view, std::string_view>, 4>{
                 {{"$$", "$$"}, {"\\[", "\\]"}, {"\\(", "\\)"}, {"$", "$"}}}) {
            if (s.size() >= o.size() + c.size() && starts_with(s, o) && ends_with(s, c)) {
                s = s.substr(o.size(), s.size() - o.size() - c.size());
                changed = true;
                break;
            }
        }
    }
    replace_all(s, "\\$", " ");
    replace_all(s, "$", " ");
    // Layout commands.
    for (std::string_view c : {"displaystyle", "textstyle", "scriptstyle", "bigl", "bigr", "Bigl", "Bigr",
                               "big", "Big", "bigg", "Bigg"})
        replace_command(s, c, "");
    replace_all(s, "\\left.", "");
    replace_all(s, "\\right.", "");
    replace_command(s, "left", "");
    replace_command(s, "right", "");
    replace_command(s, "quad", " ");
    replace_command(s, "qquad", " ");
    // Spacing commands; a LaTeX line break (two backslashes) is protected from them.
    replace_all(s, "\\\\", "\x01");
    replace_all(s, "\\!", "");
    for (std::string_view sp : {"\\,", "\\;", "\\:", "\\ ", "~"}) replace_all(s, sp, " ");
    replace_all(s, "\x01", "\\\\");
    replace_command(s, "dfrac", "\\frac");
    replace_command(s, "tfrac", "\\frac");
    replace_command(s, "dbinom", "\\binom");
    replace_command(s, "tbinom", "\\binom");
    replace_command(s, "cdot", "*");
    replace_command(s, "times", "*");
    replace_command(s, "ast", "*");
    replace_command(s, "div", "/");
    replace_command(s, "langle", "(");
    replace_command(s, "rangle", ")");
    replace_command(s, "lbrace", "\\{");
    replace_command(s, "rbrace", "\\}");
    replace_command(s, "leq", "\\le");
    replace_command(s, "geq", "\\ge");
    replace_command(s, "infinity", "\\infty");
    // Text-like wrappers: keep the content.
    for (std::string_view w : {"text", "textbf", "textit", "textrm", "textnormal", "textsf", "texttt", "mbox",
                               "hbox", "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "boldsymbol", "bm",
                               "operatorname", "boxed", "fbox", "emph"})
        unwrap_command(s, w, true);
    // Degree marks anywhere ("30^{\circ}", "30^\circ").
    replace_command(s, "degree", "");
    replace_all(s, "^{\\circ}", "");
    replace_all(s, "^\\circ", "");
    // Plain-text names of symbols: "pi", "sqrt", "inf" not preceded by a backslash or letter.
    for (auto [word, cmd] : std::array<std::pair<std::string_view, std::string_view>, 3>{
             {{"sqrt", "\\sqrt"}, {"pi", "\\pi "}, {"infinity", "\\infty "}}}) {
        for (size_t pos = 0; (pos = s.find(word, pos)) != std::string::npos;) {
            const bool before_ok = pos == 0 || (!is_alpha(s[pos - 1]) && s[pos - 1] != '\\');
            const size_t end = pos + word.size();
            const bool after_ok = end >= s.size() || !is_alpha(s[end]);
            if (before_ok && after_ok) {
                s.replace(pos, word.size(), cmd);
                pos += cmd.size();
            } else {
                pos = end;
            }
        }
    }
    // Thousands separators written "1{,}000".
    for (size_t pos = 0; (pos = s.find("{,}", pos)) != std::string::npos;) {
        const bool digits_after = pos + 6 <= s.size() && is_digit(s[pos + 3]) && is_digit(s[pos + 4]) &&
                                  is_digit(s[pos + 5]) && (pos + 6 == s.size() || !is_digit(s[pos + 6]));
        if (pos > 0 && is_digit(s[pos - 1]) && digits_after) s.erase(pos, 3);
        else pos += 3;
    }
    s = trim(s);
    s = join_thousands(s);
    s = strip_decorations(s);
    s = strip_assignment(s);
    s = strip_decorations(s);
    s = collapse_spaces(s);
    // Outer braces around everything: "{5}" -> "5".
    while (s.size() >= 2 && s.front() == '{' && match_brace(s, 0) == s.size() - 1) s = s.substr(1, s.size() - 2);
    return s;
}

// ---- exact/numeric evaluator ------------------------------------------------------------------

// A rational with overflow detection; `ok` false once it left the __int128 range.
struct Rational {
    __int128 num = 0, den = 1;
    bool ok = true;
};

__int128 gcd128(__int128 a, __int128 b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b != 0) {
        const __int128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

constexpr __int128 kLimit = static_cast<__int128>(1) << 100;  // keeps products within 2^127

Rational make_rat(__int128 n, __int128 d) {
    Rational r;
    if (d == 0) {
        r.ok = false;
        return r;
    }
    if (d < 0) {
        n = -n;
        d = -d;
    }
    const __int128 g = gcd128(n, d);
    if (g > 1) {
        n /= g;
        d /= g;
    }
    r.num = n;
    r.den = d;
    r.ok = (n < kLimit && n > -kLimit && d < kLimit);
    return r;
}

bool mul_overflows(__int128 a, __int128 b) {
    const __int128 aa = a < 0 ? -a : a, bb = b < 0 ? -b : b;
    return aa != 0 && bb > kLimit / aa;
}

struct Value {
    double v = 0;
    bool exact = false;
    Rational r;
};

Value exact_value(Rational r) {
    Value x;
    x.r = r;
    x.exact = r.ok;
    x.v = static_cast<double>(r.num) / static_cast<double>(r.den);
    return x;
}
Value inexact(double v) {
    Value x;
    x.v = v;
    return x;
}

Value add(const Value& a, const Value& b, int sign) {
    if (a.exact && b.exact && !mul_overflows(a.r.num, b.r.den) && !mul_overflows(b.r.num, a.r.den) &&
        !mul_overflows(a.r.den, b.r.den)) {
        const Rational r = make_rat(a.r.num * b.r.den + sign * b.r.num * a.r.den, a.r.den * b.r.den);
        if (r.ok) return exact_value(r);
    }
    return inexact(a.v + sign * b.v);
}

Value mul(const Value& a, const Value& b) {
    if (a.exact && b.exact && !mul_overflows(a.r.num, b.r.num) && !mul_overflows(a.r.den, b.r.den)) {
        const Rational r = make_rat(a.r.num * b.r.num, a.r.den * b.r.den);
        if (r.ok) return exact_value(r);
    }
    return inexact(a.v * b.v);
}

Value divide(const Value& a, const Value& b) {
    if (b.exact && b.r.num == 0) return inexact(std::nan(""));
    if (a.exact && b.exact && !mul_overflows(a.r.num, b.r.den) && !mul_overflows(a.r.den, b.r.num)) {
        const Rational r = make_rat(a.r.num * b.r.den, a.r.den * b.r.num);
        if (r.ok) return exact_value(r);
    }
    if (b.v == 0) return inexact(std::nan(""));
    return inexact(a.v / b.v);
}

Value power(const Value& a, const Value& b) {
    if (a.exact && b.exact && b.r.den == 1 && b.r.num >= -128 && b.r.num <= 128) {
        const int n = static_cast<int>(b.r.num < 0 ? -b.r.num : b.r.num);
        Value acc = exact_value(make_rat(1, 1));
        for (int i = 0; i < n && acc.exact; ++i) acc = mul(acc, a);
        if (acc.exact) return b.r.num < 0 ? divide(exact_value(make_rat(1, 1)), acc) : acc;
    }
    return inexact(std::pow(a.v, b.v));
}

struct ParseFail {};

// Recursive descent over a normalized expression. Variables are single letters (a run of two or
// more letters is a word and fails the parse); `vars` receives the letters used, and their values
// come from `point` (nullptr: constants only).
class ExprParser {
public:
    ExprParser(std::string_view s, const std::array<double, 128>* point, std::set<char>* vars)
        : s_(s), point_(point), vars_(vars) {}

    Value parse() {
        Value v = expr();
        skip();
        if (i_ != s_.size()) throw ParseFail{};
        return v;
    }

private:
    std::string_view s_;
    size_t i_ = 0;
    const std::array<double, 128>* point_;
    std::set<char>* vars_;

    void skip() {
        while (i_ < s_.size() && is_space(s_[i_])) ++i_;
    }
    bool peek(char c) {
        skip();
        return i_ < s_.size() && s_[i_] == c;
    }
    // A command name at the cursor ("\frac" -> "frac"), without consuming it.
    std::string_view command_at(size_t at) const {
        if (at >= s_.size() || s_[at] != '\\') return {};
        size_t e = at + 1;
        while (e < s_.size() && is_alpha(s_[e])) ++e;
        return s_.substr(at + 1, e - at - 1);
    }

    Value expr() {
        // Nesting is bounded so that hostile input cannot exhaust the stack.
        if (++depth_ > 100) throw ParseFail{};
        struct Leave {
            int& d;
            ~Leave() { --d; }
        } leave{depth_};
        Value v = term();
        for (;;) {
            skip();
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
                const int sign = s_[i_] == '+' ? 1 : -1;
                ++i_;
                v = add(v, term(), sign);
            } else {
                return v;
            }
        }
    }

    // Whether the cursor starts a factor that may follow another by juxtaposition. A number may not
    // ("2 3" is not 6), nor a sign.
    bool starts_implicit_factor() {
        skip();
        if (i_ >= s_.size()) return false;
        const char c = s_[i_];
        if (c == '(' || c == '{' || is_alpha(c)) return true;
        const std::string_view cmd = command_at(i_);
        return cmd == "frac" || cmd == "sqrt" || cmd == "pi" || cmd == "infty";
    }

    Value term() {
        Value v = unary();
        bool last_was_number = last_number_;
        for (;;) {
            skip();
            if (i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '/')) {
                const bool div = s_[i_] == '/';
                ++i_;
                const Value rhs = unary();
                v = div ? divide(v, rhs) : mul(v, rhs);
            } else if (starts_implicit_factor()) {
                // "2\frac{1}{3}" reads as a mixed number to some and as a product to others: refuse.
                if (last_was_number && command_at(i_) == "frac" && frac_of_integers_at(i_)) throw ParseFail{};
                v = mul(v, unary());
            } else {
                return v;
            }
            last_was_number = last_number_;
        }
    }

    bool frac_of_integers_at(size_t at) {
        static const std::regex re(R"(^\\frac\s*(\{\s*\d+\s*\}|\d)\s*(\{\s*\d+\s*\}|\d))");
        const std::string_view head = s_.substr(at, 64);
        std::match_results<std::string_view::const_iterator> m;
        return std::regex_search(head.begin(), head.end(), m, re);
    }

    Value unary() {
        skip();
        if (i_ < s_.size() && s_[i_] == '-') {
            ++i_;
            Value v = unary();
            last_number_ = false;
            return mul(exact_value(make_rat(-1, 1)), v);
        }
        if (i_ < s_.size() && s_[i_] == '+') {
            ++i_;
            return unary();
        }
        return postfix();
    }

    Value postfix() {
        Value base = primary();
        const bool base_number = last_number_;
        skip();
        if (i_ < s_.size() && s_[i_] == '!') {
            ++i_;
            if (!base.exact || base.r.den != 1 || base.r.num < 0 || base.r.num > 25) throw ParseFail{};
            Value acc = exact_value(make_rat(1, 1));
            for (int k = 2; k <= static_cast<int>(base.r.num); ++k) acc = mul(acc, exact_value(make_rat(k, 1)));
            base = acc;
            skip();
        }
        if (i_ < s_.size() && s_[i_] == '^') {
            ++i_;
            const Value e = exponent();
            skip();
            if (i_ < s_.size() && s_[i_] == '^') throw ParseFail{};  // double superscript
            last_number_ = false;
            return power(base, e);
        }
        last_number_ = base_number;
        return base;
    }

    // An exponent: a braced group, a signed number ("2^10" is 1024, the plain-text reading), a letter
    // or a command such as \pi.
    Value exponent() {
        skip();
        if (i_ >= s_.size()) throw ParseFail{};
        if (s_[i_] == '{') return group();
        if (s_[i_] == '-' || s_[i_] == '+') {
            const int sign = s_[i_] == '-' ? -1 : 1;
            ++i_;
            const Value v = exponent();
            return mul(exact_value(make_rat(sign, 1)), v);
        }
        if (is_digit(s_[i_]) || s_[i_] == '.') return number();
        return primary();
    }

    Value group() {  // '{' expr '}'
        ++i_;
        Value v = expr();
        if (!peek('}')) throw ParseFail{};
        ++i_;
        return v;
    }

    // A macro argument: {expr}, a single digit, a single letter, or a command (\pi).
    Value argument() {
        skip();
        if (i_ >= s_.size()) throw ParseFail{};
        const char c = s_[i_];
        if (c == '{') return group();
        if (is_digit(c)) {
            ++i_;
            return exact_value(make_rat(c - '0', 1));
        }
        if (is_alpha(c)) {
            ++i_;
            return variable(c);
        }
        if (c == '\\') return primary();
        throw ParseFail{};
    }

    Value variable(char c) {
        if (vars_) vars_->insert(c);
        if (!point_) throw ParseFail{};
        return inexact((*point_)[static_cast<unsigned char>(c)]);
    }

    Value number() {
        const size_t start = i_;
        __int128 n = 0, d = 1;
        bool digits = false, overflow = false;
        while (i_ < s_.size() && is_digit(s_[i_])) {
            if (n > kLimit / 10) overflow = true;
            else n = n * 10 + (s_[i_] - '0');
            digits = true;
            ++i_;
        }
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            while (i_ < s_.size() && is_digit(s_[i_])) {
                if (n > kLimit / 10 || d > kLimit / 10) overflow = true;
                else {
                    n = n * 10 + (s_[i_] - '0');
                    d *= 10;
                }
                digits = true;
                ++i_;
            }
        }
        if (!digits) throw ParseFail{};
        last_number_ = true;
        if (overflow) return inexact(std::stod(std::string(s_.substr(start, i_ - start))));
        return exact_value(make_rat(n, d));
    }

    Value primary() {
        skip();
        if (i_ >= s_.size()) throw ParseFail{};
        const char c = s_[i_];
        last_number_ = false;
        if (is_digit(c) || c == '.') return number();
        if (c == '(') {
            ++i_;
            Value v = expr();
            if (!peek(')')) throw ParseFail{};
            ++i_;
            last_number_ = false;
            return v;
        }
        if (c == '{') {
            Value v = group();
            last_number_ = false;
            return v;
        }
        if (is_alpha(c)) {
            ++i_;
            // Words ("no", "cm") are not products of variables.
            size_t j = i_;
            while (j < s_.size() && s_[j] == ' ') ++j;
            if (j < s_.size() && is_alpha(s_[j])) throw ParseFail{};
            return variable(c);
        }
        if (c == '\\') {
            const std::string_view cmd = command_at(i_);
            i_ += 1 + cmd.size();
            Value v;
            if (cmd == "pi") {
                v = inexact(M_PI);
            } else if (cmd == "infty") {
                v = inexact(INFINITY);
            } else if (cmd == "frac") {
                const Value a = argument();
                const Value b = argument();
                v = divide(a, b);
            } else if (cmd == "sqrt") {
                skip();
                Value index = exact_value(make_rat(2, 1));
                if (i_ < s_.size() && s_[i_] == '[') {
                    ++i_;
                    index = expr();
                    if (!peek(']')) throw ParseFail{};
                    ++i_;
                }
                const Value x = argument();
                v = root(x, index);
            } else {
                throw ParseFail{};
            }
            last_number_ = false;
            return v;
        }
        throw ParseFail{};
    }

    static Value root(const Value& x, const Value& index) {
        if (!(index.v > 0)) throw ParseFail{};
        if (x.v < 0) {
            // Odd integer roots of negatives are real.
            if (index.exact && index.r.den == 1 && index.r.num % 2 == 1)
                return inexact(-std::pow(-x.v, 1.0 / index.v));
            throw ParseFail{};
        }
        // Exact when the result is a small integer ("\sqrt{16}").
        const double r = std::pow(x.v, 1.0 / index.v);
        if (x.exact && x.r.den == 1 && index.exact && index.r.den == 1) {
            const double rr = std::round(r);
            if (std::fabs(rr - r) < 1e-6 && rr < 1e15) {
                Value p = exact_value(make_rat(static_cast<__int128>(rr), 1));
                if (power(p, index).exact && power(p, index).r.num == x.r.num) return p;
            }
        }
        return inexact(r);
    }

    bool last_number_ = false;
    int depth_ = 0;
};

struct Parsed {
    bool ok = false;
    std::set<char> vars;
};

Parsed analyze(std::string_view s) {
    Parsed p;
    std::array<double, 128> dummy{};
    dummy.fill(1.0);
    try {
        ExprParser(s, &dummy, &p.vars).parse();
        p.ok = true;
    } catch (const ParseFail&) {
    }
    return p;
}

std::optional<Value> evaluate_at(std::string_view s, const std::array<double, 128>* point) {
    try {
        Value v = ExprParser(s, point, nullptr).parse();
        if (std::isnan(v.v)) return std::nullopt;
        return v;
    } catch (const ParseFail&) {
        return std::nullopt;
    }
}

bool close_enough(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return false;
    if (std::isinf(a) || std::isinf(b)) return a == b;
    return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)) + 1e-12;
}

// ---- comparison -------------------------------------------------------------------------------

// Decimal literal in canonical form: no sign for zero, no leading/trailing zeros.
std::string canonical_decimal(std::string s) {
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        s = s.substr(1);
    }
    std::string ip = s, fp;
    if (const size_t dot = s.find('.'); dot != std::string::npos) {
        ip = s.substr(0, dot);
        fp = s.substr(dot + 1);
    }
    ip.erase(0, std::min(ip.find_first_not_of('0'), ip.size()));
    while (!fp.empty() && fp.back() == '0') fp.pop_back();
    if (ip.empty()) ip = "0";
    std::string out = ip + (fp.empty() ? "" : "." + fp);
    if (neg && out != "0") out = "-" + out;
    return out;
}

bool scalar_equivalent(const std::string& a, const std::string& b) {
    if (a.empty() || b.empty()) return false;
    if (is_plain_decimal(a) && is_plain_decimal(b)) return canonical_decimal(a) == canonical_decimal(b);
    const Parsed pa = analyze(a), pb = analyze(b);
    if (pa.ok && pb.ok) {
        if (pa.vars.empty() && pb.vars.empty()) {
            const auto va = evaluate_at(a, nullptr), vb = evaluate_at(b, nullptr);
            if (va && vb) {
                // Integers compare exactly (2^{60} is not 2^{60}+1); everything else within 1e-9.
                if (va->exact && vb->exact && va->r.den == 1 && vb->r.den == 1) return va->r.num == vb->r.num;
                return close_enough(va->v, vb->v);
            }
        } else if (pa.vars == pb.vars && !pa.vars.empty()) {
            // Same variables: equal at fixed, unrelated points (a polynomial identity test).
            static const double kPoints[3][4] = {{1.2345678, 2.7182818, 0.5772157, 1.6180339},
                                                 {2.2360679, 1.4142135, 3.3166247, 0.6931471},
                                                 {1.7320508, 0.8414709, 2.4494897, 1.0986122}};
            int compared = 0;
            for (const auto& pt : kPoints) {
                std::array<double, 128> point{};
                int k = 0;
                for (char v : pa.vars) {
                    point[static_cast<unsigned char>(v)] = pt[k % 4] + 0.1031 * k;
                    ++k;
                }
                const auto va = evaluate_at(a, &point), vb = evaluate_at(b, &point);
                if (!va || !vb) continue;
                if (std::isinf(va->v) || std::isinf(vb->v)) continue;
                if (!close_enough(va->v, vb->v)) return false;
                ++compared;
            }
            if (compared >= 2) return true;
        }
    }
    if (a == b) return true;
    // Words compare without case ("Yes" = "yes").
    const auto wordy = [](const std::string& s) {
        return s.size() >= 2 && std::all_of(s.begin(), s.end(), [](char c) { return is_alpha(c) || c == ' '; });
    };
    return wordy(a) && wordy(b) && lower(a) == lower(b);
}

struct Node {
    enum Kind { Scalar, Tuple, List, Union } kind = Scalar;
    char open = 0, close = 0;
    std::vector<Node> items;
    std::string text;
};

Node parse_node(std::string s, int depth = 0);

Node make_scalar(const std::string& s) {
    Node n;
    n.kind = Node::Scalar;
    n.text = collapse_spaces(join_thousands(strip_decorations(strip_assignment(strip_decorations(s)))));
    while (n.text.size() >= 2 && n.text.front() == '{' && match_brace(n.text, 0) == n.text.size() - 1)
        n.text = n.text.substr(1, n.text.size() - 2);
    return n;
}

Node parse_node(std::string s, int depth) {
    s = trim(s);
    if (depth > 8) return make_scalar(s);
    if (const auto parts = split_top(s, "\\cup"); parts.size() > 1) {
        Node n;
        n.kind = Node::Union;
        for (const auto& p : parts) n.items.push_back(parse_node(p, depth + 1));
        return n;
    }
    if (starts_with(s, "\\{") && ends_with(s, "\\}") && encloses(s)) {
        Node n;
        n.kind = Node::List;
        const std::string inner = s.substr(2, s.size() - 4);
        if (!trim(inner).empty())
            for (const auto& p : split_top(inner, ",")) n.items.push_back(parse_node(p, depth + 1));
        return n;
    }
    if (s.size() >= 2 && (s.front() == '(' || s.front() == '[') && (s.back() == ')' || s.back() == ']') &&
        encloses(s)) {
        const std::string inner = s.substr(1, s.size() - 2);
        const auto parts = split_top(inner, ",");
        if (parts.size() > 1) {
            Node n;
            n.kind = Node::Tuple;
            n.open = s.front();
            n.close = s.back();
            for (const auto& p : parts) n.items.push_back(parse_node(p, depth + 1));
            return n;
        }
    }
    const auto parts = split_top(s, ",");
    if (parts.size() > 1) {
        // "x = 5, y = 3": an ordered tuple (5, 3) when the variables differ; "x = 1, x = 2": a list.
        std::vector<std::string> vars, values;
        for (const auto& p : parts) {
            std::string var;
            const std::string rhs = strip_assignment(trim(p), &var);
            if (var.empty()) break;
            vars.push_back(var);
            values.push_back(rhs);
        }
        Node n;
        if (vars.size() == parts.size()) {
            const bool all_same = std::all_of(vars.begin(), vars.end(), [&](const auto& v) { return v == vars[0]; });
            const bool distinct = std::set<std::string>(vars.begin(), vars.end()).size() == vars.size();
            if (all_same || distinct) {
                n.kind = all_same ? Node::List : Node::Tuple;
                n.open = '(';
                n.close = ')';
                for (const auto& v : values) n.items.push_back(parse_node(v, depth + 1));
                return n;
            }
        }
        n.kind = Node::List;
        for (const auto& p : parts) n.items.push_back(parse_node(p, depth + 1));
        return n;
    }
    // "x = (1, 2)" and the like: strip the assignment and look again.
    const std::string stripped = strip_assignment(s);
    if (stripped != s) return parse_node(stripped, depth + 1);
    return make_scalar(s);
}

bool nodes_equivalent(const Node& a, const Node& b);

// A perfect matching between two lists under an equivalence that need not be transitive.
std::string serialize(const Node& n) {
    if (n.kind == Node::Scalar) return n.text;
    std::string out(1, n.kind == Node::Tuple ? n.open : n.kind == Node::List ? '{' : '<');
    for (const Node& c : n.items) out += serialize(c) + ",";
    return out + (n.kind == Node::Tuple ? n.close : n.kind == Node::List ? '}' : '>');
}

bool lists_match(const std::vector<Node>& a, const std::vector<Node>& b) {
    if (a.size() != b.size() || a.empty()) return false;
    const size_t n = a.size();
    if (n > 64) {
        // Long lists: the same normalized items, in any order (no value comparison).
        std::vector<std::string> sa, sb;
        for (const Node& x : a) sa.push_back(serialize(x));
        for (const Node& x : b) sb.push_back(serialize(x));
        std::sort(sa.begin(), sa.end());
        std::sort(sb.begin(), sb.end());
        return sa == sb;
    }
    std::vector<std::vector<bool>> eq(n, std::vector<bool>(n));
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j) eq[i][j] = nodes_equivalent(a[i], b[j]);
    std::vector<int> match_b(n, -1);
    std::function<bool(size_t, std::vector<bool>&)> augment = [&](size_t i, std::vector<bool>& seen) {
        for (size_t j = 0; j < n; ++j) {
            if (!eq[i][j] || seen[j]) continue;
            seen[j] = true;
            if (match_b[j] < 0 || augment(static_cast<size_t>(match_b[j]), seen)) {
                match_b[j] = static_cast<int>(i);
                return true;
            }
        }
        return false;
    };
    for (size_t i = 0; i < n; ++i) {
        std::vector<bool> seen(n);
        if (!augment(i, seen)) return false;
    }
    return true;
}

bool nodes_equivalent(const Node& a, const Node& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Node::Scalar:
            return scalar_equivalent(a.text, b.text);
        case Node::Tuple:
            if (a.open != b.open || a.close != b.close) return false;
            [[fallthrough]];
        case Node::Union:
            if (a.items.size() != b.items.size()) return false;
            for (size_t i = 0; i < a.items.size(); ++i)
                if (!nodes_equivalent(a.items[i], b.items[i])) return false;
            return true;
        case Node::List:
            return lists_match(a.items, b.items);
    }
    return false;
}

// ---- math extraction --------------------------------------------------------------------------

// Position of the last "\boxed" / "\fbox" (as a whole command) in s[0, end), or npos.
size_t last_box_command(std::string_view s, size_t end, size_t* len) {
    size_t best = std::string_view::npos;
    for (std::string_view tag : {"\\boxed", "\\fbox"}) {
        size_t at = end;
        while (at > 0) {
            at = s.substr(0, at).rfind(tag);
            if (at == std::string_view::npos) break;
            const size_t after = at + tag.size();
            if (after >= s.size() || !is_alpha(s[after])) {
                if (best == std::string_view::npos || at > best) {
                    best = at;
                    *len = tag.size();
                }
                break;
            }
        }
    }
    return best;
}

// The answer span after an answer phrase: a $...$ / \(...\) / \[...\] group, else the rest of the
// line up to the first sentence end.
std::string answer_span(std::string_view rest) {
    size_t i = 0;
    // Move past blank lines and markdown emphasis to the first content.
    while (i < rest.size() && (is_space(rest[i]) || rest[i] == '*' || rest[i] == '_' || rest[i] == ':')) ++i;
    rest = rest.substr(i);
    for (auto [o, c] : std::array<std::pair<std::string_view, std::string_view>, 4>{
             {{"$$", "$$"}, {"\\[", "\\]"}, {"\\(", "\\)"}, {"$", "$"}}}) {
        if (starts_with(rest, o)) {
            const size_t close = rest.find(c, o.size());
            if (close == std::string_view::npos) return {};  // cut off
            return trim(rest.substr(o.size(), close - o.size()));
        }
    }
    std::string line(rest.substr(0, rest.find('\n')));
    if (const size_t stop = line.find(". "); stop != std::string::npos) line = line.substr(0, stop);
    // A sentence that states the answer: "The number of ways is 34." -> 34.
    if (const size_t is = lower(line).rfind(" is "); is != std::string::npos) {
        std::string value = trim(line.substr(is + 4));
        // "... is $34$": the math group again.
        if (value.size() >= 2 && value.front() == '$') return answer_span(value);
        line = value;
    }
    // A reason after the answer: "42 because ...", "5, since ...".
    const std::string low = lower(line);
    for (std::string_view w : {" because ", " since ", " which ", " where ", " when ", " as ", " so ", " if ",
                               " but ", " hence ", " thus ", " i.e.", " given "}) {
        const size_t at = low.find(w);
        if (at != std::string::npos) {
            line = line.substr(0, at);
            while (!line.empty() && (line.back() == ',' || line.back() == ' ')) line.pop_back();
        }
    }
    // "not 5", "no solution"-style negations are not answers.
    if (starts_with(lower(line), "not ")) return {};
    line = trim(line);
    while (!line.empty() && (line.back() == '*' || line.back() == '.' || line.back() == '_')) line.pop_back();
    return trim(line);
}

std::string phrase_answer(std::string_view response) {
    // The tail: the last five non-empty lines.
    size_t start = response.size();
    int lines = 0;
    while (start > 0 && lines < 5) {
        const size_t nl = start >= 2 ? response.rfind('\n', start - 2) : std::string_view::npos;
        const size_t b = nl == std::string_view::npos ? 0 : nl + 1;
        if (!trim(response.substr(b, start - b)).empty()) ++lines;
        start = b;
    }
    const std::string tail = lower(response.substr(start));
    // Candidates: "answer" as a word, followed by ":" / "is" / "=", or "final answer" in bold or
    // ending its line.
    for (size_t at = tail.size(); at > 0;) {
        at = tail.rfind("answer", at - 1);
        if (at == std::string::npos) break;
        const size_t end = at + 6;
        if ((at > 0 && is_alpha(tail[at - 1])) || (end < tail.size() && is_alpha(tail[end]))) {
            if (at == 0) break;
            continue;
        }
        size_t j = end;
        bool markup = false;  // "**Final Answer** 42": a bold heading ends the phrase
        while (j < tail.size() && (tail[j] == ' ' || tail[j] == '*' || tail[j] == '_' || tail[j] == '\t')) {
            markup = markup || tail[j] == '*' || tail[j] == '_';
            ++j;
        }
        bool ok = false;
        if (j < tail.size() && (tail[j] == ':' || tail[j] == '=')) {
            ok = true;
            ++j;
        } else if (tail.compare(j, 2, "is") == 0 && (j + 2 >= tail.size() || !is_alpha(tail[j + 2]))) {
            ok = true;
            j += 2;
            if (j < tail.size() && tail[j] == ':') ++j;
        } else if (at >= 6 && tail.compare(at - 6, 6, "final ") == 0 &&
                   (markup || j >= tail.size() || tail[j] == '\n')) {
            ok = true;
        }
        if (ok) {
            const std::string span = answer_span(response.substr(start + j));
            if (!span.empty()) return span;
        }
        if (at == 0) break;
    }
    return {};
}

// ---- choice extraction ------------------------------------------------------------------------

enum class Field { None, Valid, Invalid };

struct ChoiceHit {
    Field field = Field::None;
    std::string letter;
};

bool label_like(const std::string& tok, const std::vector<std::string>& letters) {
    if (std::find(letters.begin(), letters.end(), tok) != letters.end()) return true;
    return tok.size() == 1 && is_upper(tok[0]);
}

// Words that may follow a bare letter in an answer field ("ANSWER: C because ...").
bool allowed_follow_word(const std::string& w) {
    static const std::set<std::string> ok = {"is",  "because", "since", "as",  "which", "that", "for",
                                             "with", "per",    "from",  "corresponds", "here", "it"};
    return ok.count(w) > 0;
}

// Reads a letter token at s[i] (after an answer separator or inside a box): skips wrappers
// (\boxed{, \text{, **, "(", quotes, $), reads an alphanumeric run, checks what follows.
ChoiceHit read_choice(std::string_view s, size_t i, const std::vector<std::string>& letters) {
    bool wrapped = false;
    for (bool again = true; again;) {
        again = false;
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '*' || s[i] == '"' || s[i] == '\'' ||
                                s[i] == '$' || s[i] == '_' || s[i] == '`')) {
            if (s[i] == '*' || s[i] == '"' || s[i] == '\'' || s[i] == '$' || s[i] == '`') wrapped = true;
            ++i;
        }
        for (std::string_view w : {"\\boxed{", "\\fbox{", "\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{", "\\(",
                                   "\\[", "(", "[", "{", "option ", "Option ", "OPTION ", "choice ", "Choice ",
                                   "CHOICE ", "letter ", "Letter "}) {
            if (starts_with(s.substr(i), w)) {
                i += w.size();
                wrapped = true;
                again = true;
                break;
            }
        }
    }
    size_t e = i;
    while (e < s.size() && is_alnum(s[e])) ++e;
    const std::string tok(s.substr(i, e - i));
    if (tok.empty() || !label_like(tok, letters)) return {};
    // The token must end there: "B^2", "C_1", "A+B", "C = 5", "C.5" are not labels.
    if (e < s.size() && std::string_view("^_+=<>|").find(s[e]) != std::string_view::npos) return {};
    if (e + 1 < s.size() && s[e] == '.' && is_digit(s[e + 1])) return {};
    {
        size_t f = e;
        while (f < s.size() && s[f] == ' ') ++f;
        if (f < s.size() && std::string_view("=<>").find(s[f]) != std::string_view::npos) return {};
    }
    // Closers right after the token.
    size_t j = e;
    while (j < s.size() && (s[j] == ')' || s[j] == ']' || s[j] == '}' || s[j] == '*' || s[j] == '"' ||
                            s[j] == '\'' || s[j] == '$' || s[j] == '`' || s[j] == '\\')) {
        if (s[j] == '\\' && !(j + 1 < s.size() && (s[j + 1] == ')' || s[j + 1] == ']'))) break;
        ++j;
    }
    const bool closed = j > e;
    // A hedge: "C or D", "C, D", "C/D", "C and D", "C & D".
    size_t k = j;
    while (k < s.size() && (s[k] == ' ' || s[k] == '\t')) ++k;
    std::string_view after = s.substr(k, 40);
    size_t conj = 0;
    if (!after.empty() && (after[0] == ',' || after[0] == '/' || after[0] == '&')) conj = 1;
    else if (starts_with(after, "or ") || starts_with(after, "\\text{ or }")) conj = starts_with(after, "or ") ? 3 : 11;
    else if (starts_with(after, "and/or ")) conj = 7;
    else if (starts_with(after, "and ")) conj = 4;
    if (conj > 0) {
        size_t m = conj;
        while (m < after.size() && (after[m] == ' ' || after[m] == '(' || after[m] == '*' || after[m] == '"' ||
                                    after[m] == '$'))
            ++m;
        for (std::string_view w : {"\\text{", "\\textbf{", "\\boxed{"})
            if (starts_with(after.substr(m), w)) m += w.size();
        size_t me = m;
        while (me < after.size() && is_alnum(after[me])) ++me;
        const std::string tok2(after.substr(m, me - m));
        if (!tok2.empty() && label_like(tok2, letters)) return {Field::Invalid, {}};
    }
    // Prose: "the answer is A good ..." - a bare letter followed by an ordinary word is an article.
    if (!wrapped && !closed && k > j && k < s.size() && std::islower(static_cast<unsigned char>(s[k]))) {
        size_t we = k;
        while (we < s.size() && is_alpha(s[we])) ++we;
        if (!allowed_follow_word(std::string(s.substr(k, we - k)))) return {};
    }
    if (std::find(letters.begin(), letters.end(), tok) == letters.end()) return {Field::Invalid, {}};
    return {Field::Valid, tok};
}

// An "answer" field at `at` (the word's start): "ANSWER: C", "Answer: (C)", "The answer is C",
// "\"ANSWER\": \"C\"", "**ANSWER:** C", "answer choice is C".
ChoiceHit answer_field(std::string_view s, size_t at, size_t word_len, const std::vector<std::string>& letters) {
    size_t j = at + word_len;
    const auto skip = [&] {
        while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '*' || s[j] == '"' || s[j] == '\'' ||
                                s[j] == '_'))
            ++j;
    };
    skip();
    for (std::string_view w : {"choice", "option", "letter"}) {
        if (j + w.size() <= s.size() && lower(s.substr(j, w.size())) == w &&
            (j + w.size() == s.size() || !is_alpha(s[j + w.size()]))) {
            j += w.size();
            skip();
            break;
        }
    }
    if (j < s.size() && (s[j] == ':' || s[j] == '=')) {
        ++j;
    } else if (j + 2 <= s.size() && lower(s.substr(j, 2)) == "is" && (j + 2 == s.size() || !is_alpha(s[j + 2]))) {
        j += 2;
        if (j < s.size() && s[j] == ':') ++j;
    } else {
        return {};
    }
    // Stay on the line (after a possible bold closer): "**ANSWER:**\nC" still counts.
    size_t k = j;
    while (k < s.size() && (s[k] == ' ' || s[k] == '\t' || s[k] == '*')) ++k;
    if (k < s.size() && s[k] == '\n') {
        while (k < s.size() && is_space(s[k])) ++k;
        j = k;
    }
    return read_choice(s, j, letters);
}

void check_letters(const std::vector<std::string>& letters) {
    if (letters.empty()) throw Error("grade: the list of choice letters is empty");
    std::set<std::string> seen;
    for (const auto& l : letters) {
        if (l.empty() || !std::all_of(l.begin(), l.end(), [](char c) { return is_alnum(c); }))
            throw Error("grade: invalid choice letter '" + l + "' (letters are alphanumeric, e.g. A,B,C,D)");
        if (!seen.insert(l).second) throw Error("grade: duplicate choice letter '" + l + "'");
    }
}

}  // namespace

// ---- public API -------------------------------------------------------------------------------

std::string normalize_math_answer(std::string_view answer) { return normalize_impl(answer); }

std::optional<double> evaluate_math_expression(std::string_view expr) {
    const auto v = evaluate_at(expr, nullptr);
    if (!v) return std::nullopt;
    return v->v;
}

bool math_equivalent(std::string_view a, std::string_view b) {
    const std::string na = normalize_impl(a), nb = normalize_impl(b);
    if (na.empty() || nb.empty()) return false;
    // Very long answers (not something a person would box) compare as normalized text only.
    if (na.size() > kLongAnswer || nb.size() > kLongAnswer) return na == nb;
    return nodes_equivalent(parse_node(na), parse_node(nb));
}

// An explicit final-answer phrase after the last box ("Final Answer: The final answer is
// $10,455$." after an intermediate \boxed{255}) is the answer a reader takes: the box was a step.
std::string final_phrase_after_boxes(std::string_view response) {
    size_t len = 0;
    const size_t box = last_box_command(response, response.size(), &len);
    if (box == std::string_view::npos) return {};
    const size_t at = lower(response).rfind("final answer");
    if (at == std::string::npos || at < box) return {};
    return phrase_answer(response.substr(at));
}

std::string extract_math_answer(std::string_view response) {
    if (std::string phrase = final_phrase_after_boxes(response); !phrase.empty()) return phrase;
    size_t end = response.size();
    for (;;) {
        size_t len = 0;
        const size_t at = last_box_command(response, end, &len);
        if (at == std::string_view::npos) break;
        size_t i = at + len;
        while (i < response.size() && (response[i] == ' ' || response[i] == '\t')) ++i;
        if (i < response.size() && response[i] == '{') {
            // Up to `end`: later boxes (empty ones, mentions) were already passed over.
            const std::string content = trim(last_boxed(response.substr(at, end - at)));
            if (!content.empty()) return content;
            // Empty box ("\boxed{}") is skipped; an unclosed one means the answer was cut off.
            size_t k = i + 1;
            while (k < response.size() && is_space(response[k])) ++k;
            if (k >= end || response[k] != '}') return {};
        } else if (i < response.size() && !is_space(response[i]) && !is_alpha(response[i])) {
            // "\boxed 5", "\boxed5": the next token (not a word: "\boxed command" is a mention).
            size_t e = i;
            while (e < response.size() && !is_space(response[e]) && response[e] != '$') ++e;
            std::string tok(response.substr(i, e - i));
            while (!tok.empty() && (tok.back() == '.' || tok.back() == ',')) tok.pop_back();
            if (!tok.empty()) return tok;
        } else if (i >= response.size()) {
            return {};  // "\boxed" at the very end: cut off
        }
        end = at;
        if (end == 0) break;
    }
    return phrase_answer(response);
}

std::string extract_choice_answer(std::string_view response, const std::vector<std::string>& letters) {
    check_letters(letters);
    ChoiceHit best;
    size_t best_at = 0;
    bool found = false;
    const auto consider = [&](size_t at, const ChoiceHit& hit) {
        if (hit.field == Field::None) return;
        if (!found || at >= best_at) {
            best = hit;
            best_at = at;
            found = true;
        }
    };
    const std::string low = lower(response);
    // "answer" fields, and "correct/final/best option|choice" fields.
    for (std::string_view word : {"answer", "option", "choice"}) {
        for (size_t at = low.find(word); at != std::string::npos; at = low.find(word, at + 1)) {
            const size_t end = at + word.size();
            if ((at > 0 && is_alpha(low[at - 1])) || (end < low.size() && is_alpha(low[end]))) continue;
            if (word != "answer") {
                size_t b = at;
                while (b > 0 && low[b - 1] == ' ') --b;
                bool qualified = false;
                for (std::string_view q : {"correct", "final", "best", "right"})
                    if (b >= q.size() && std::string_view(low).substr(b - q.size(), q.size()) == q &&
                        (b == q.size() || !is_alpha(low[b - q.size() - 1])))
                        qualified = true;
                if (!qualified) continue;
            }
            consider(at, answer_field(response, at, word.size(), letters));
        }
    }
    for (std::string_view tag : {"\\boxed", "\\fbox"}) {
        for (size_t at = response.find(tag); at != std::string_view::npos; at = response.find(tag, at + 1)) {
            size_t i = at + tag.size();
            while (i < response.size() && response[i] == ' ') ++i;
            if (i >= response.size() || response[i] != '{') continue;
            const size_t close = match_brace(response, i);
            if (close == std::string_view::npos) continue;
            // The whole box must be the label: "\boxed{C}", "\boxed{\text{(C)}}", "\boxed{C or D}".
            const std::string inner = normalize_impl(response.substr(i + 1, close - i - 1));
            std::string bare = inner;
            bare.erase(std::remove_if(bare.begin(), bare.end(), [](char c) { return c == '(' || c == ')'; }),
                       bare.end());
            ChoiceHit hit = read_choice(response.substr(i + 1, close - i - 1), 0, letters);
            if (hit.field == Field::Valid && !label_like(bare, letters)) {
                // "\boxed{C) 42}" / "\boxed{\text{(B) } 42}": a label followed by its option text.
                static const std::regex labelled(R"(^\(?[A-Za-z0-9]+\)\s*.*)");
                if (inner.size() > kRegexLimit || !std::regex_match(inner, labelled)) hit = {};
            }
            consider(at, hit);
        }
    }
    return best.field == Field::Valid ? best.letter : std::string();
}

Grade grade_math(std::string_view response, std::string_view gold) {
    if (trim(gold).empty()) throw Error("grade: the gold answer is empty");
    Grade g;
    g.extracted = extract_math_answer(response);
    g.correct = !g.extracted.empty() && math_equivalent(g.extracted, gold);
    return g;
}

Grade grade_choice(std::string_view response, std::string_view gold_letter, const std::vector<std::string>& letters) {
    check_letters(letters);
    const std::string gold = trim(gold_letter);
    if (std::find(letters.begin(), letters.end(), gold) == letters.end()) {
        std::string list;
        for (const auto& l : letters) list += (list.empty() ? "" : ",") + l;
        throw Error("grade: gold letter '" + gold + "' is not one of the choices " + list);
    }
    Grade g;
    g.extracted = extract_choice_answer(response, letters);
    g.correct = !g.extracted.empty() && g.extracted == gold;
    return g;
}

}  // namespace leap
