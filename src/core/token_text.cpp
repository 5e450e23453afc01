#include "core/token_text.h"

namespace leap {

void TokenText::reset(const std::vector<Token>& owned, const std::string& text, const TokenizerBase& tok) {
    text_.clear();
    tokens_.clear();
    ends_.clear();
    boundary_.clear();
    std::string joined;
    for (Token t : owned) {
        joined += tok.piece(t);
        tokens_.push_back(t);
        ends_.push_back(joined.size());
        boundary_.push_back(1);
    }
    if (joined != text) {  // pieces don't spell the text: only the end is a safe cut
        for (size_t i = 0; i < ends_.size(); ++i) {
            boundary_[i] = i + 1 == ends_.size();
            ends_[i] = text.size();
        }
    }
    text_ = text;
}

int TokenText::add_text(const std::string& s, const TokenizerBase& tok) {
    if (s.empty()) return 0;
    const std::vector<Token> toks = tok.tokenize(s, false);
    const size_t base = text_.size();
    const size_t first = tokens_.size();
    std::string joined;
    for (Token t : toks) {
        joined += tok.piece(t);
        tokens_.push_back(t);
        ends_.push_back(base + joined.size());
        boundary_.push_back(1);
    }
    if (joined != s)
        for (size_t i = first; i < tokens_.size(); ++i) {
            boundary_[i] = i + 1 == tokens_.size();
            ends_[i] = base + s.size();
        }
    text_ += s;
    return (int)toks.size();
}

TokenText::Edit TokenText::edit(size_t keep, const std::string& append, const TokenizerBase& tok) {
    Edit e;
    if (keep < text_.size()) {
        int i = (int)tokens_.size() - 1;
        while (i >= 0 && !(boundary_[i] && ends_[i] <= keep)) --i;
        const int n_keep = i + 1;
        const size_t base = i >= 0 ? ends_[i] : 0;
        e.rolled_back = (int)tokens_.size() - n_keep;
        const std::string fragment = text_.substr(base, keep - base);
        tokens_.resize(n_keep);
        ends_.resize(n_keep);
        boundary_.resize(n_keep);
        text_.resize(base);
        e.refed = add_text(fragment, tok);
    }
    e.appended = add_text(append, tok);
    return e;
}

void TokenText::push_sampled(Token t, const std::string& piece) {
    tokens_.push_back(t);
    text_ += piece;
    ends_.push_back(text_.size());
    boundary_.push_back(1);
}

}  // namespace leap
