#pragma once
// `leap grade`: grades one response (stdin) against a gold answer; see cmd_grade.cpp.
#include <CLI/CLI.hpp>

namespace leap::cli {

void register_grade(CLI::App& app);

}  // namespace leap::cli
