// libFuzzer target: a dataset file's text, JSON array or JSON Lines (src/eval/dataset.cpp).
// Bad input must end in leap::Error naming the file and item; any other exception escaping,
// a crash, or what ASan/UBSan report is a finding. The first byte picks the field names and
// the option shuffle, so both the default layout and a custom one are explored.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "eval/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    leap::DatasetOptions options;
    options.shuffle_options = data[0] & 1;
    options.shuffle_seed = data[0] >> 1;
    if (data[0] & 2) options.fields = {"question", "gold", "choices", "id"};
    try {
        leap::Dataset ds = leap::parse_dataset(std::string_view((const char*)data + 1, size - 1), "fuzz.jsonl", "fuzz", options);
        for (const leap::Item& item : ds.items) (void)item.answer.size();
    } catch (const leap::Error&) {
    }
    return 0;
}
