#include "backends/openai/http.h"

// llama.cpp's vendored cpp-httplib with a source checkout; the system's (Debian
// libcpp-httplib-dev) with a llama.cpp install (CMakeLists.txt: leap_httplib).
#if __has_include(<cpp-httplib/httplib.h>)
#include <cpp-httplib/httplib.h>
#else
#include <httplib.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.h"

namespace leap::openai {

using Clock = std::chrono::steady_clock;

BaseUrl parse_base_url(const std::string& url) {
    BaseUrl b;
    b.text = url;
    const size_t sep = url.find("://");
    if (sep == std::string::npos)
        throw Error("--base-url '" + url + "': expected http://HOST:PORT (e.g. http://127.0.0.1:8000)");
    const std::string scheme = url.substr(0, sep);
    if (scheme == "https")
        throw Error("--base-url '" + url + "': https is not supported by this build (cpp-httplib without TLS); "
                    "use http:// inside the cluster, or a TLS-terminating proxy on this machine");
    if (scheme != "http") throw Error("--base-url '" + url + "': unknown scheme '" + scheme + "' (expected http)");
    const size_t host_start = sep + 3;
    const size_t slash = url.find('/', host_start);
    const std::string host_port = url.substr(host_start, slash == std::string::npos ? std::string::npos : slash - host_start);
    if (host_port.empty()) throw Error("--base-url '" + url + "': no host");
    const size_t colon = host_port.rfind(':');
    if (colon != std::string::npos && host_port.find(']') == std::string::npos) {
        const std::string port = host_port.substr(colon + 1);
        if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || std::stol(port) <= 0 ||
            std::stol(port) > 65535)
            throw Error("--base-url '" + url + "': bad port '" + port + "'");
    }
    b.scheme_host_port = "http://" + host_port;
    std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (prefix.size() >= 3 && prefix.compare(prefix.size() - 3, 3, "/v1") == 0) prefix.resize(prefix.size() - 3);
    b.prefix = prefix;
    return b;
}

bool retryable(const HttpReply& r) {
    // 501 Not Implemented is the server's final word (e.g. llama-server's slot actions without
    // --slot-save-path); every other 5xx may pass.
    return r.status == 0 || r.status == 408 || r.status == 429 || (r.status >= 500 && r.status != 501);
}

double backoff_seconds(const RetryPolicy& p, int retry) {
    return std::min(p.backoff_max_s, p.backoff_initial_s * std::pow(2.0, std::min(retry, 30)));
}

bool sleep_unless(double seconds, const std::atomic<bool>& cancel) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    while (Clock::now() < end) {
        if (cancel.load()) return false;
        const Clock::duration left = end - Clock::now();
        std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(20)));
    }
    return !cancel.load();
}

HttpConnection::HttpConnection(const BaseUrl& url, const RetryPolicy& policy, std::string api_key)
    : url_(url), policy_(policy), api_key_(std::move(api_key)) {
    client_ = std::make_unique<httplib::Client>(url_.scheme_host_port);
    if (!client_->is_valid()) throw Error("--base-url '" + url_.text + "' is not a valid address");
    const auto t = std::chrono::duration<double>(std::max(0.001, policy_.timeout_s));
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t);
    const time_t sec = (time_t)(us.count() / 1000000);
    const time_t usec = (time_t)(us.count() % 1000000);
    // Connecting takes at most 10 s (an unreachable host is retried with backoff, not waited on).
    const double connect_s = std::min(10.0, std::max(0.001, policy_.timeout_s));
    client_->set_connection_timeout((time_t)connect_s, (time_t)((connect_s - (time_t)connect_s) * 1e6));
    client_->set_read_timeout(sec, usec);
    client_->set_write_timeout(sec, usec);
    client_->set_keep_alive(true);
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::stop() { client_->stop(); }

HttpReply HttpConnection::once(const std::string& path, const std::string& body) {
    HttpReply r;
    const auto t0 = Clock::now();
    httplib::Headers headers;
    if (!api_key_.empty()) headers.emplace("Authorization", "Bearer " + api_key_);
    const std::string full = url_.prefix + path;
    httplib::Result res = body.empty() ? client_->Get(full, headers)
                                       : client_->Post(full, headers, body, "application/json");
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!res) {
        r.status = 0;
        r.error = httplib::to_string(res.error());
        return r;
    }
    r.status = res->status;
    r.body = std::move(res->body);
    return r;
}

HttpReply HttpConnection::with_retries(const std::string& path, std::string body, const std::atomic<bool>& cancel,
                                       const std::function<void(const HttpReply&)>& on_retry,
                                       const std::function<bool(const HttpReply&, std::string& body)>& fix) {
    HttpReply r;
    double waited = 0;
    bool fixed = false;
    for (int attempt = 0;; ++attempt) {
        if (cancel.load()) {
            r = HttpReply();
            r.error = "cancelled";
            r.attempts = attempt;
            break;
        }
        r = once(path, body);
        waited += r.seconds;
        r.attempts = attempt + 1;
        if (!fixed && fix && fix(r, body)) {
            fixed = true;
            --attempt;
            continue;
        }
        if (!retryable(r) || attempt >= policy_.retries || cancel.load()) break;
        if (on_retry) on_retry(r);
        const double b = backoff_seconds(policy_, attempt);
        if (!sleep_unless(b, cancel)) break;
        waited += b;
    }
    r.seconds = waited;
    return r;
}

std::string excerpt(const std::string& body, size_t max_bytes) {
    std::string out;
    for (char c : body) {
        if (out.size() >= max_bytes) {
            out += "...";
            break;
        }
        out += (unsigned char)c < 0x20 ? ' ' : c;
    }
    return out;
}

}  // namespace leap::openai
