#pragma once
// The check every --seed option gets: the text must be a seed (core/seed_text.h) before CLI11
// converts it, since its conversion wraps -1 and saturates 2^64 and 1e23 to 2^64-1.
#include <CLI/CLI.hpp>

#include "core/seed_text.h"

namespace leap::cli {

inline CLI::Validator seed_range() {
    return CLI::Validator([](std::string& text) { return seed_problem(text); }, "SEED", "seed");
}

}  // namespace leap::cli
