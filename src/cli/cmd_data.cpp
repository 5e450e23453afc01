// leap data fetch: download the four benchmark files in the reference format.
#include <cstdio>

#include "cli/commands.h"
#include "eval/fetch.h"

namespace leap::cli {

void register_data(CLI::App& app) {
    CLI::App* data = app.add_subcommand("data", "benchmark data");
    data->require_subcommand(1);
    struct Flags {
        std::string dir, names;
        FetchOptions opt;
        bool dry_run = false;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* fetch = data->add_subcommand("fetch", "download aime24, aime25, aimo25, gpqa into DIR (reference format)");
    fetch->add_option("DIR", f->dir, "where to write aime.json, aime_2025.json, aimo.json, gpqa_diamond.json")->required();
    fetch->add_option("--only", f->names, "comma list of benchmark names (default: all four)");
    fetch->add_option("--base-url", f->opt.base_url, "a mirror serving the reference files (default: $LEAP_DATA_BASE_URL, else the public sources)");
    fetch->add_option("--timeout", f->opt.timeout_s, "seconds per download")->capture_default_str();
    fetch->add_flag("--force", f->opt.force, "download again files that already exist");
    fetch->add_flag("--dry-run", f->dry_run, "print what would be downloaded from where");
    fetch->callback([f] {
        f->opt.names.clear();
        for (size_t start = 0; start < f->names.size();) {
            const size_t comma = f->names.find(',', start);
            const std::string n = f->names.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            if (!n.empty()) f->opt.names.push_back(n);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        f->opt.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
        if (f->dry_run) {
            for (const FetchSource& s : fetch_plan(f->opt))
                std::printf("%s -> %s/%s from %s (%s)\n", s.name.c_str(), f->dir.c_str(), s.file.c_str(), s.url.c_str(), s.origin.c_str());
            return;
        }
        fetch_benchmarks(f->dir, f->opt);
    });
}

}  // namespace leap::cli
