#include "server/chat_response.h"

#include "eval/outcome.h"
#include "server/shown_reasoning.h"
#include "server/utf8_text.h"

namespace leap::server {

using nlohmann::json;

json summarize_run(const ProblemRun& run, const ThinkingFormat& format) {
    const std::vector<std::string> answers = extracted_answers(run);
    json paths = json::array();
    std::array<long, (size_t)TokenKind::Count> total{};
    for (size_t i = 0; i < run.paths().size(); ++i) {
        const Path& p = run.paths()[i];
        json tokens = json::object();
        for (size_t k = 0; k < (size_t)TokenKind::Count; ++k) {
            if ((TokenKind)k == TokenKind::Prompt) continue;
            tokens[std::string(to_string((TokenKind)k))] = p.tokens[k];
            total[k] += p.tokens[k];
        }
        paths.push_back({{"answer", answers[i]}, {"finish", to_string(p.finish)}, {"blocks", p.blocks.size()},
                         {"tokens", tokens}, {"final", p.answer}});
    }
    const VoteResult vote = vote_paths(run, answers);
    // The message: the final part (after end-of-thinking) of the first path in the majority
    // group; with no answer anywhere, path 0's.
    const int chosen = vote.majority.empty() ? 0 : vote.majority.front();
    const Path& win = run.paths().at(chosen);
    // The reasoning shown is the streamed path's, so that a stream adds up to this response.
    const std::string reasoning = path_reasoning(run.paths().at(kShownPath), format);
    const bool natural = win.finish == FinishReason::EndOfThinking || win.finish == FinishReason::EndOfSequence;

    // usage: what the client pays for. Prompt: the shared prompt (evaluated once) plus the text
    // the method fed into paths (peers' summaries, cues); completion: every sampled token.
    const long prompt = run.prompt_tokens() + total[(size_t)TokenKind::Injected];
    const long completion =
        total[(size_t)TokenKind::Reasoning] + total[(size_t)TokenKind::Summary] + total[(size_t)TokenKind::Answer];
    const RunConfig& c = run.config();
    return {{"answer", valid_utf8(win.answer)},
            {"reasoning", reasoning},
            {"finish_reason", natural ? "stop" : "length"},
            {"usage",
             {{"prompt_tokens", prompt},
              {"completion_tokens", completion},
              {"total_tokens", prompt + completion},
              {"completion_tokens_details", {{"reasoning_tokens", total[(size_t)TokenKind::Reasoning] + total[(size_t)TokenKind::Summary]}}}}},
            {"leap",
             {{"method", to_string(c.method)},
              {"paths", paths},
              {"chosen_path", chosen},
              {"reasoning_path", kShownPath},
              {"vote", {{"answer", vote.answer}, {"votes", vote.votes}, {"voters", vote.voters}, {"majority", vote.majority}}},
              {"config",
               {{"paths", c.n_paths},
                {"segment_tokens", c.segment_tokens},
                {"segments", c.segments},
                {"summary_tokens", c.summary_tokens},
                {"answer_tokens", c.answer_tokens},
                {"peers", c.router.k},
                {"router", to_string(c.router.kind)},
                {"similarity", to_string(c.router.similarity)},
                {"seed", c.seed}}},
              {"prompt_tokens_shared", run.prompt_tokens()}}}};
}

json completion_body(const json& summary, const std::string& id, long created, const std::string& model) {
    return {{"id", id},
            {"object", "chat.completion"},
            {"created", created},
            {"model", model},
            {"choices",
             json::array({{{"index", 0},
                           {"message",
                            {{"role", "assistant"},
                             {"content", summary["answer"]},
                             {"reasoning_content", summary["reasoning"]}}},
                           {"finish_reason", summary["finish_reason"]}}})},
            {"usage", summary["usage"]},
            {"leap", summary["leap"]}};
}

json completion_chunk(const std::string& id, long created, const std::string& model, const json& delta,
                      const json& finish_reason) {
    json choices = json::array();
    if (!delta.is_null() || !finish_reason.is_null())
        choices.push_back({{"index", 0}, {"delta", delta.is_null() ? json::object() : delta}, {"finish_reason", finish_reason}});
    return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model}, {"choices", choices}};
}

}  // namespace leap::server
