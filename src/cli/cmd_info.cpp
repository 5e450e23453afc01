// leap info: what a GGUF file is (architecture, shape, parameters, tokenizer, chat template, types),
// read from its metadata without loading the model. Fails clearly on missing/empty/non-GGUF/truncated files.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "model/gguf_file.h"

namespace leap::cli {

void register_info(CLI::App& app) {
    struct Args {
        std::string path;
        bool json = false;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand(
        "info",
        "Describe a GGUF model: architecture, shape, parameter count, vocab and tokenizer, chat template, file "
        "type and tensor types, file size (reads the metadata only)");
    cmd->add_option("MODEL", args->path, "GGUF file")->required();
    cmd->add_flag("--json", args->json, "Print JSON instead of text");
    cmd->callback([args] {
        const GgufInfo info = read_gguf_info(args->path);
        if (args->json) {
            std::printf("%s\n", gguf_info_json(info).dump(2).c_str());
        } else {
            std::fputs(format_gguf_info(info).c_str(), stdout);
        }
    });
}

}  // namespace leap::cli
