// leap: Learning from Peers inference engine. Subcommands are registered from cmd_*.cpp.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
    CLI::App app{"leap: Learning from Peers (LeaP) inference engine"};
    app.set_version_flag("--version", std::string("leap ") + LEAP_VERSION);
    app.require_subcommand(1);
    leap::cli::register_make_model(app);
    leap::cli::register_info(app);
    leap::cli::register_route(app);
    leap::cli::register_solve(app);
    leap::cli::register_grade(app);
    leap::cli::register_eval(app);
    leap::cli::register_data(app);
    leap::cli::register_prefix_trap(app);
    leap::cli::register_report(app);
    leap::cli::register_bench(app);
    leap::cli::register_serve(app);
    leap::cli::register_nano_data(app);
    leap::cli::register_train(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const leap::Error& e) {
        std::fprintf(stderr, "leap: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "leap: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
