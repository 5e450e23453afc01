// libFuzzer target: a POST /v1/chat/completions body (src/server/chat_request.cpp), the one place
// the server parses untrusted input. Every bad body must end in ApiError (a 4xx); any other
// exception escaping, a crash, or what ASan/UBSan report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/chat_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const leap::server::RequestDefaults defaults = [] {
        leap::server::RequestDefaults d;
        d.max_paths = 8;
        d.ctx_per_path = 4096;
        d.config.segment_tokens = 256;
        d.config.segments = 4;
        return d;
    }();
    try {
        leap::server::ChatRequest r = leap::server::parse_chat_request(std::string((const char*)data, size), defaults);
        (void)r;
    } catch (const leap::server::ApiError& e) {
        (void)e.body();  // the error object is built for every refusal: it must be buildable
    }
    return 0;
}
