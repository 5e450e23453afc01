#pragma once
// Reading a seed written as text. leap's runs are reproducible by their seed (a resumed run
// gives every problem the seed it had), so a seed is a plain integer in [0, 2^64-1]: no
// llama.cpp-style -1 for "random", and nothing that a lenient parser would wrap or saturate
// (-1, 2^64 and 1e23 all used to become 18446744073709551615 without a word).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leap {

// Why `text` is not a seed ("" when it is one), for a message such as "--seed: <why>".
std::string seed_problem(std::string_view text);
// The seed `text` holds; nullopt when seed_problem says it holds none.
std::optional<uint64_t> parse_seed(std::string_view text);

}  // namespace leap
