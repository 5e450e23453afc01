#pragma once
// Shared by the test suites that run a real (generated) model.
#include <filesystem>
#include <string>

#include "model/make_model.h"

namespace leap::test {

// A random-weight tiny qwen2 model in f32 (batched-vs-alone differences stay tiny) with the
// qwen2 vocabulary and the R1 chat template, written once per process under LEAP_TEST_TMP.
inline std::string make_tiny_f32_model(const std::string& file_name, uint64_t seed) {
    std::filesystem::create_directories(LEAP_TEST_TMP);
    MakeModelOptions o;
    o.out_path = std::string(LEAP_TEST_TMP) + "/" + file_name;
    o.preset = "tiny";
    o.type = WeightType::F32;
    o.seed = seed;
    o.vocab_path = default_vocab_path(LEAP_LLAMA_DIR);
    o.chat_template_path = std::string(LEAP_LLAMA_DIR) + "/models/templates/" + kFallbackChatTemplate;
    make_model(o);
    return o.out_path;
}

}  // namespace leap::test
