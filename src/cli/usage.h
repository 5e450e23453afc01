#pragma once
// Usage errors: the command line itself is wrong (unknown or refused flag, bad value, missing
// option). main() prints them like other errors but exits with status 2 instead of 1, so a
// script can tell "you typed it wrong" from "it failed while running" (docs/cli.md).
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/error.h"

namespace leap::cli {

struct UsageError : Error {
    using Error::Error;
};

// Exit statuses (docs/cli.md).
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

// Up to `most` of `names` nearest to `typed` by edit distance (close enough to be a typo, or
// containing it), nearest first.
std::vector<std::string> nearest_names(const std::string& typed, const std::vector<std::string>& names, size_t most = 3);

// " (did you mean --temp?)" or "" when nothing is near.
std::string did_you_mean(const std::string& typed, const std::vector<std::string>& names);

// Checks argv before CLI11 sees it and returns the arguments to parse: llama.cpp's multi-letter
// short flags (-ngl, -ctk, -fa, ...) become their long forms (CLI11 would read -ngl as -n gl);
// llama.cpp flags leap lacks are refused with what leap uses instead; unknown subcommands and
// flags are refused with the nearest names. Throws UsageError.
std::vector<std::string> checked_args(CLI::App& app, int argc, char** argv);

}  // namespace leap::cli
