#include "train/from_results.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace leap::train {

std::vector<ResultTrace> traces_from_results(const std::string& path,
                                             const std::function<int(const std::string&)>& count_tokens,
                                             const std::string& answer_opener, int max_summary_tokens,
                                             ResultsSelection& stats) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("train: cannot read results file " + path);
    std::vector<ResultTrace> out;
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ":" + std::to_string(lineno);
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
            throw Error(where + ": not valid JSON: " + e.what());
        }
        if (!j.contains("trace") || !j.contains("paths"))
            throw Error(where + ": no \"trace\"/\"paths\": not a leap eval results line");
        ++stats.problems;
        const auto& trace = j["trace"];
        const std::string user = trace.value("user_message", "");
        if (user.empty()) throw Error(where + ": the trace has no user_message");
        const std::string start = trace.value("prefill", "") + trace.value("assistant_prefix", "");
        for (size_t i = 0; i < j["paths"].size(); ++i) {
            ++stats.paths;
            if (!j["paths"][i].value("correct", false)) continue;
            ++stats.correct;
            const auto& tp = trace["paths"].at(i);
            const std::string text = tp.value("text", "");
            bool long_summary = false;
            for (const auto& b : tp["blocks"])
                if (count_tokens(b.value("summary", "")) >= max_summary_tokens) long_summary = true;
            if (long_summary) {
                ++stats.long_summary;
                continue;
            }
            ResultTrace r;
            r.id = j.value("id", "?") + "/path" + std::to_string(i);
            r.user_message = user;
            // The prefill and assistant prefix are the engine's (part of the shared prompt).
            size_t pos = 0;
            if (!start.empty()) {
                if (text.rfind(start, 0) != 0) throw Error(where + ": path " + std::to_string(i) + " does not start with its prefill");
                r.pieces.push_back({start, true, ""});
                pos = start.size();
            }
            auto take = [&](const std::string& injected, const std::string& alt, const char* what) {
                const size_t at = text.find(injected, pos);
                if (injected.empty() || at == std::string::npos)
                    throw Error(where + ": path " + std::to_string(i) + ": its " + what + " is not in its text");
                if (at > pos) r.pieces.push_back({text.substr(pos, at - pos), false, ""});
                r.pieces.push_back({injected, true, alt});
                pos = at + injected.size();
            };
            for (const auto& b : tp["blocks"]) {
                // What the trim removed is what the model would have written had no block come.
                take(b.value("summary_request", ""), b.value("trimmed", ""), "summary request");
                take(b.value("injected", ""), "", "comment block");
            }
            if (tp.value("finish", "") == "forced" && !answer_opener.empty() && text.find(answer_opener, pos) != std::string::npos)
                take(answer_opener, "", "answer opener");
            if (pos < text.size()) r.pieces.push_back({text.substr(pos), false, ""});
            ++stats.kept;
            out.push_back(std::move(r));
        }
    }
    return out;
}

}  // namespace leap::train
