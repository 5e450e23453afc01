#include "backends/openai/server_tokenizer.h"

#include <atomic>

#include "backends/openai/server_api.h"
#include "core/error.h"

namespace leap::openai {

using json = nlohmann::json;

namespace {
// The token texts llama.cpp marks as end-of-generation by name (llama-vocab.cpp).
const char* const kEogNames[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                 "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                 "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                 "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["};

std::string piece_of(const json& p) {
    if (p.is_string()) return p.get<std::string>();
    std::string s;
    if (p.is_array())
        for (const json& b : p) s.push_back((char)(unsigned char)b.get<int>());
    return s;
}

bool is_cont(unsigned char c) { return (c & 0xc0) == 0x80; }
}  // namespace

std::string ServerTokenizer::sanitize_utf8(const std::string& s) {
    // The same acceptance as llama.cpp's unicode_cpt_from_utf8.
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = (unsigned char)s[i];
        size_t len = 0;
        if (!(c & 0x80)) len = 1;
        else if (!(c & 0x40)) len = 0;
        else if (!(c & 0x20)) len = 2;
        else if (!(c & 0x10)) len = 3;
        else if (!(c & 0x08)) len = 4;
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) ok = is_cont((unsigned char)s[i + k]);
        if (ok) {
            out.append(s, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

ServerTokenizer::ServerTokenizer(const BaseUrl& url, const RetryPolicy& policy, const std::string& api_key)
    : url_text_(url.text), conn_(std::make_unique<HttpConnection>(url, policy, api_key)) {
    std::lock_guard<std::mutex> lk(m_);
    const json props = call("/props", nullptr);
    if (!props.is_object() || !props.contains("total_slots"))
        throw Error("--backend openai needs the served model's tokenizer: " + url_text_ +
                    " is not llama-server, the only server asked for it; give --tokenizer GGUF");
    const json models = call("/v1/models", nullptr);
    try {
        const json& meta = models.at("data").at(0).at("meta");
        n_vocab_ = meta.at("n_vocab").get<int>();
        n_ctx_train_ = meta.value("n_ctx_train", 0);
    } catch (const std::exception&) {
        throw Error("server " + url_text_ + ": GET /v1/models does not say the vocabulary size (data[0].meta.n_vocab); "
                    "give --tokenizer GGUF");
    }
    if (n_vocab_ <= 0) throw Error("server " + url_text_ + " reports an empty vocabulary");

    // End of generation: the EOS and the tokens llama.cpp marks by name. One request.
    std::unordered_set<std::string> names(std::begin(kEogNames), std::end(kEogNames));
    std::string probe;
    for (const char* n : kEogNames) probe += std::string(n) + "\n";
    const std::string eos = props.value("eos_token", std::string());
    if (!eos.empty()) {
        names.insert(eos);
        probe += eos;
    }
    for (Token t : tokenize_locked(probe))
        if (names.count(pieces_[t])) eog_.insert(t);

    // BOS: whether the vocabulary adds one, and which.
    const std::string bos_text = props.value("bos_token", std::string());
    json body = {{"content", ""}, {"add_special", true}, {"parse_special", true}};
    const json with_special = call("/tokenize", &body);
    if (!bos_text.empty() && with_special.contains("tokens") && !with_special["tokens"].empty()) {
        const std::vector<Token> b = tokenize_locked(bos_text);
        if (b.size() == 1 && with_special["tokens"][0].is_number_integer() && with_special["tokens"][0].get<Token>() == b[0]) {
            add_bos_ = true;
            bos_ = b[0];
        }
    }
}

ServerTokenizer::~ServerTokenizer() = default;

json ServerTokenizer::call(const std::string& path, const json* body) const {
    static const std::atomic<bool> never{false};
    std::string text;
    if (body != nullptr) {
        try {
            text = body->dump();
        } catch (const json::exception& e) {
            throw Error("server tokenizer: cannot send this text to " + url_text_ + " (" + e.what() +
                        "); give --tokenizer GGUF");
        }
    }
    const HttpReply r = conn_->with_retries(path, text, never);
    if (r.status == 0)
        throw Error("server " + url_text_ + " does not answer (" + (body ? "POST " : "GET ") + path + ": " + r.error +
                    ", " + std::to_string(r.attempts) + " attempts; is it up? --retries, --timeout)");
    if (r.status != 200)
        throw Error("server " + url_text_ + ": " + (body ? "POST " : "GET ") + path + " answered HTTP " +
                    std::to_string(r.status) + " (" + server_error_message(r.body) +
                    "); the server tokenizer needs llama-server, or give --tokenizer GGUF");
    try {
        return json::parse(r.body);
    } catch (const json::exception&) {
        throw Error("server " + url_text_ + ": " + path + " answered with something that is not JSON: " + excerpt(r.body));
    }
}

std::vector<Token> ServerTokenizer::tokenize_locked(const std::string& text) const {
    json body = {{"content", sanitize_utf8(text)}, {"add_special", false}, {"parse_special", true}, {"with_pieces", true}};
    const json r = call("/tokenize", &body);
    std::vector<Token> out;
    try {
        for (const json& e : r.at("tokens")) {
            const Token t = e.at("id").get<Token>();
            out.push_back(t);
            pieces_.emplace(t, piece_of(e.at("piece")));
        }
    } catch (const json::exception&) {
        throw Error("server " + url_text_ + ": unexpected /tokenize answer: " + excerpt(r.dump()));
    }
    return out;
}

void ServerTokenizer::prefetch_locked(const std::vector<Token>& ids) const {
    json want = json::array();
    std::unordered_set<Token> seen;
    for (Token t : ids)
        if (t >= 0 && t < n_vocab_ && !pieces_.count(t) && seen.insert(t).second) want.push_back(t);
    if (want.empty()) return;
    json body = {{"content", want}, {"add_special", false}, {"with_pieces", true}};
    const json r = call("/tokenize", &body);
    try {
        for (const json& e : r.at("tokens")) pieces_.emplace(e.at("id").get<Token>(), piece_of(e.at("piece")));
    } catch (const json::exception&) {
        throw Error("server " + url_text_ + ": unexpected /tokenize answer: " + excerpt(r.dump()));
    }
}

std::vector<Token> ServerTokenizer::tokenize(const std::string& text, bool add_bos) const {
    std::lock_guard<std::mutex> lk(m_);
    std::vector<Token> out = text.empty() ? std::vector<Token>() : tokenize_locked(text);
    // As the in-process tokenizer: the chat template usually writes the BOS itself.
    if (add_bos && add_bos_ && (out.empty() || out[0] != bos_)) out.insert(out.begin(), bos_);
    return out;
}

void ServerTokenizer::prefetch(const std::vector<Token>& ids) const {
    std::lock_guard<std::mutex> lk(m_);
    prefetch_locked(ids);
}

std::string ServerTokenizer::piece(Token t) const {
    std::lock_guard<std::mutex> lk(m_);
    if (auto it = pieces_.find(t); it != pieces_.end()) return it->second;
    if (t < 0 || t >= n_vocab_) return "";
    prefetch_locked({t});
    auto it = pieces_.find(t);
    if (it == pieces_.end()) throw Error("server " + url_text_ + " did not return the piece of token " + std::to_string(t));
    return it->second;
}

bool ServerTokenizer::is_end_of_generation(Token t) const { return eog_.count(t) != 0; }

std::string ServerTokenizer::render_prompt(const std::string& user_message, const std::vector<ChatTurn>& earlier) const {
    std::lock_guard<std::mutex> lk(m_);
    json messages = json::array();
    for (const ChatTurn& t : earlier) messages.push_back({{"role", t.role}, {"content", sanitize_utf8(t.content)}});
    messages.push_back({{"role", "user"}, {"content", sanitize_utf8(user_message)}});
    json body = {{"messages", messages}};
    const json r = call("/apply-template", &body);
    if (!r.contains("prompt") || !r["prompt"].is_string())
        throw Error("server " + url_text_ + ": POST /apply-template did not return a prompt: " + excerpt(r.dump()));
    return r["prompt"].get<std::string>();
}

std::string ServerTokenizer::describe() const { return "the tokenizer of server " + url_text_; }

}  // namespace leap::openai
