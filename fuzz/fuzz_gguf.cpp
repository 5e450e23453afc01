// libFuzzer target: a GGUF file's header and metadata, as `leap info` and every model load
// check them (src/model/gguf_file.cpp, over ggml's GGUF reader) before llama.cpp's loader
// sees the file. A bad file must end in leap::Error naming the file; any other exception
// escaping, an abort inside ggml, a crash, or what ASan/UBSan report is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The checks read a path: each input is an in-memory file reached through /proc.
    static const int fd = memfd_create("leap-fuzz.gguf", 0);
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) std::abort();
    try {
        leap::GgufInfo info = leap::read_gguf_info(path);  // runs check_gguf_file first
        (void)leap::format_gguf_info(info);
        (void)leap::gguf_info_json(info);
    } catch (const leap::Error&) {
    }
    return 0;
}
