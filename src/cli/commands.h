#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers itself on the app.
#include <CLI/CLI.hpp>

namespace leap::cli {

void register_make_model(CLI::App& app);
void register_info(CLI::App& app);
void register_route(CLI::App& app);
void register_solve(CLI::App& app);
void register_grade(CLI::App& app);
void register_eval(CLI::App& app);
void register_data(CLI::App& app);
void register_prefix_trap(CLI::App& app);
void register_report(CLI::App& app);
void register_bench(CLI::App& app);
void register_serve(CLI::App& app);
void register_nano_data(CLI::App& app);
void register_train(CLI::App& app);
void register_view(CLI::App& app);

}  // namespace leap::cli
