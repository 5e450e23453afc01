// leap info: what a GGUF file is (architecture, shape, parameters, tokenizer, chat template, types),
// read from its metadata without loading the model. Fails clearly on missing/empty/non-GGUF/truncated files.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/llama/model.h"
#include "cli/commands.h"
#include "model/gguf_file.h"

namespace leap::cli {

namespace {
// JSON text escaped for one line: the tags hold newlines ("\n</think>\n\n").
std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

// The thinking format as llama.cpp's chat code shows it for this template (vocabulary loaded,
// no weights), or why there is none.
nlohmann::json thinking_json(const std::string& path, const std::string& chat_template) {
    ModelOptions mo;
    mo.path = path;
    mo.chat_template_file = chat_template;
    mo.vocab_only = true;
    mo.n_gpu_layers = 0;
    const LlamaModel model(mo);
    const auto& f = model.thinking_format();
    if (!f) return {{"supported", false}, {"template", model.template_origin()}, {"why", model.thinking_note()}};
    return {{"supported", true},
            {"template", model.template_origin()},
            {"start", f->start},
            {"ends", f->ends},
            {"close", f->close},
            {"template_opens", f->template_opens},
            {"source", f->source}};
}

std::string format_thinking(const nlohmann::json& t) {
    std::string out = "thinking:     ";
    if (!t.value("supported", false))
        return out + "none shown by " + t.value("template", "") + " (" + t.value("why", "") +
               "); runs use the prompt set's marker\n";
    std::string ends;
    for (const auto& e : t["ends"]) ends += (ends.empty() ? "" : ", ") + quoted(e.get<std::string>());
    out += "start " + quoted(t.value("start", "")) + ", ends " + ends + ", close " + quoted(t.value("close", "")) + "\n";
    out += std::string("              ") +
           (t.value("template_opens", false) ? "opened by the template's generation prompt"
                                             : "closed after the generation prompt: leap opens it as the template continues a reasoning") +
           "\n";
    return out;
}
}  // namespace

void register_info(CLI::App& app) {
    struct Args {
        std::string path;
        std::string chat_template;
        bool json = false;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand(
        "info",
        "Describe a GGUF model: architecture, shape, parameter count, vocab and tokenizer, chat template and the "
        "thinking format it shows, file type and tensor types, file size (reads the metadata and vocabulary, not the weights)");
    cmd->add_option("MODEL", args->path, "GGUF file")->required();
    cmd->add_option("--chat-template-file", args->chat_template, "a .jinja file to read the thinking format from instead of the GGUF's template");
    cmd->add_flag("--json", args->json, "Print JSON instead of text");
    cmd->callback([args] {
        const GgufInfo info = read_gguf_info(args->path);
        const nlohmann::json thinking = thinking_json(args->path, args->chat_template);
        if (args->json) {
            nlohmann::json j = gguf_info_json(info);
            j["thinking"] = thinking;
            std::printf("%s\n", j.dump(2).c_str());
        } else {
            std::fputs(format_gguf_info(info).c_str(), stdout);
            std::fputs(format_thinking(thinking).c_str(), stdout);
        }
    });
}

}  // namespace leap::cli
