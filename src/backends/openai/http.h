#pragma once
// HTTP for the OpenAI-compatible backend: base URLs, one keep-alive connection per worker and
// server, retries with exponential backoff on connection errors, timeouts, 408/429 and 5xx.
// Built on the cpp-httplib copy llama.cpp vendors (plain http; no TLS in this build).
#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace httplib {
class Client;
}

namespace leap::openai {

// A server's base URL, e.g. "http://10.0.0.5:8000" or "http://host:8000/v1" (a trailing "/v1"
// is dropped: the backend adds the paths it calls).
struct BaseUrl {
    std::string text;        // as given
    std::string scheme_host_port;  // "http://host:port"
    std::string prefix;      // a path prefix before the API paths ("" or e.g. "/serving/m1")
};
BaseUrl parse_base_url(const std::string& url);

struct HttpReply {
    int status = 0;           // 0: no HTTP answer (connection refused/reset, timeout)
    std::string body;
    std::string error;        // what went wrong when status is 0
    int attempts = 0;
    double seconds = 0;       // from the first attempt to the answer, backoff included
};

struct RetryPolicy {
    int retries = 10;                 // further attempts after the first
    double backoff_initial_s = 0.5;   // wait before the first retry; doubles each time
    double backoff_max_s = 30;
    double timeout_s = 600;           // connect, read and write timeout of one attempt
};

// Whether an answer is worth trying again: no answer at all, 408, 429 or 5xx but 501.
bool retryable(const HttpReply& r);

// One keep-alive connection to one server; used by one thread at a time. stop() may be called
// from another thread to abort the request in progress.
class HttpConnection {
public:
    HttpConnection(const BaseUrl& url, const RetryPolicy& policy, std::string api_key);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    // One attempt. `path` is appended to the base URL's prefix; an empty body means GET.
    HttpReply once(const std::string& path, const std::string& body);
    // Attempts until an answer that is not retryable, the retries are spent, or `cancel` is set.
    // `on_retry` (may be empty) hears about each failed attempt before the backoff. `fix` (may be
    // empty) may rewrite the body after an answer and return true to try again at once (once).
    HttpReply with_retries(const std::string& path, std::string body, const std::atomic<bool>& cancel,
                           const std::function<void(const HttpReply&)>& on_retry = {},
                           const std::function<bool(const HttpReply&, std::string& body)>& fix = {});
    void stop();
    const BaseUrl& url() const { return url_; }

private:
    BaseUrl url_;
    RetryPolicy policy_;
    std::string api_key_;
    std::unique_ptr<httplib::Client> client_;
};

// Sleeps `seconds` in small steps; returns false early when `cancel` is set.
bool sleep_unless(double seconds, const std::atomic<bool>& cancel);
double backoff_seconds(const RetryPolicy& p, int retry);  // retry = 0, 1, ...

// A short, printable excerpt of a server's answer for error messages.
std::string excerpt(const std::string& body, size_t max_bytes = 300);

}  // namespace leap::openai
