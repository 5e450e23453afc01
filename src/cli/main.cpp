// leap: Learning from Peers inference engine. Subcommands are registered from cmd_*.cpp.
// Exit status: 0 done, 1 failed while running, 2 the command line is wrong (docs/cli.md).
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/usage.h"
#include "core/error.h"
#include "eval/outcome.h"

int main(int argc, char** argv) {
    CLI::App app{"leap: Learning from Peers (LeaP) inference engine. Exit status: 0 done, 1 failed while running, "
                 "2 usage error (docs/cli.md)"};
    app.set_version_flag("--version", std::string("leap ") + LEAP_VERSION);
    app.require_subcommand(1);
    leap::install_grader_judge();  // early exit compares answers as the grader does
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
    leap::cli::register_view(app);
    try {
        std::vector<std::string> args = leap::cli::checked_args(app, argc, argv);
        std::vector<char*> parsed{argv[0]};
        for (std::string& a : args) parsed.push_back(a.data());
        app.parse((int)parsed.size(), parsed.data());
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "leap: usage error: %s\n", e.what());
        return leap::cli::kExitUsage;
    } catch (const leap::cli::UsageError& e) {
        std::fprintf(stderr, "leap: usage error: %s\n", e.what());
        return leap::cli::kExitUsage;
    } catch (const leap::Error& e) {
        std::fprintf(stderr, "leap: error: %s\n", e.what());
        return leap::cli::kExitRuntime;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "leap: error: %s\n", e.what());
        return leap::cli::kExitRuntime;
    }
    return 0;
}
