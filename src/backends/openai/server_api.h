#pragma once
// What is sent to and read from each kind of server.
//
// - vLLM and SGLang ("openai"): POST /v1/completions with `prompt` as token ids,
//   `return_token_ids: true`; the generated ids come back in choices[0].token_ids.
// - llama-server ("llama-server"): POST /completion, its native form of the same request
//   (its /v1/completions returns the generated ids only inside a debug field), with
//   `return_tokens: true` (ids in `tokens`), `id_slot` (the path's slot, so its prefix stays in
//   that slot's cache), `cache_prompt: true` and the in-process sampler order.
// Both: max tokens, stop strings, temperature, top-p, top-k, min-p, seed, ignore_eos.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "backends/llama/sampling.h"
#include "backends/openai/tokenizer.h"

namespace leap::openai {

enum class ServerKind { Auto, LlamaServer, OpenAI };
ServerKind parse_server_kind(const std::string& s);  // auto | llama-server | openai (also vllm, sglang)
const char* to_string(ServerKind k);

// Which OpenAI-compatible server it is: each gets only the fields its request model reads (vLLM
// warns on every request about a field it does not know). Told by /v1/models' `owned_by`
// ("vllm", "sglang") or by --server-kind vllm|sglang; Unknown gets both servers' fields.
enum class ServerFlavor { Unknown, Vllm, Sglang };
ServerFlavor flavor_of_kind(const std::string& s);  // "vllm" | "sglang" -> that one, else Unknown
const char* to_string(ServerFlavor f);

struct ServerInfo {
    ServerKind kind = ServerKind::OpenAI;
    ServerFlavor flavor = ServerFlavor::Unknown;  // kind OpenAI only
    std::string model;   // the "model" field to send ("" leaves it out)
    int n_slots = 0;     // llama-server: its slots (paths are pinned to them); 0 unknown
    int n_ctx = 0;       // tokens per sequence the server allows; 0 unknown
    std::string build;   // llama-server: its llama.cpp build ("build_info", e.g. b1-80fb11a)
    nlohmann::json to_json() const;
};

// Reads what a server is from its answers to GET /props (llama-server: "total_slots",
// "default_generation_settings.n_ctx") and GET /v1/models (first model id, "max_model_len").
// status 0 / body "" means no answer.
// `flavor`: the one --server-kind named (Unknown: from `owned_by`).
ServerInfo server_info_from(ServerKind requested, int props_status, const std::string& props_body,
                            int models_status, const std::string& models_body,
                            ServerFlavor flavor = ServerFlavor::Unknown);

// SGLang samples with `seed` only when started with --enable-deterministic-inference; its
// GET /get_server_info says whether it was. nullopt when the answer does not say.
std::optional<bool> sglang_seeds_honoured(int status, const std::string& body);

// A sentence saying which server setting or leap flag to change for a refused request, or "".
// vLLM with speculative decoding refuses min_p and logit_bias (leap's --min-p default 0.05, and
// the --ignore-eos ban).
std::string server_error_hint(const ServerInfo& s, int status, const std::string& body);

struct CompletionCall {
    std::vector<Token> prompt;  // the whole context: rendered prompt + the path's text
    std::string prompt_text;    // the same as text, used when `text_prompt`
    bool text_prompt = false;
    int max_tokens = 1;
    std::vector<std::string> stops;
    SamplingOptions sampling;
    uint32_t seed = 0;
    int id_slot = -1;           // llama-server only; -1: any
    // --ignore-eos on vLLM / SGLang: their `ignore_eos` only skips the stop check, so these ids
    // (every end-of-generation token) are banned with logit_bias -100, as the in-process engine
    // bans them. llama-server's ignore_eos bans them itself.
    std::vector<Token> banned;
};

const char* completion_path(const ServerInfo& s);
nlohmann::json completion_body(const ServerInfo& s, const CompletionCall& c);

struct CompletionReply {
    bool has_token_ids = false;
    std::vector<Token> tokens;  // generated ids, end-of-generation included when the server sends it
    std::string text;           // generated text as the server wrote it (stop string usually cut)
    std::string finish;         // "stop" (end-of-generation or a stop string), "length", or what the server said
    bool eos = false;           // the server says it stopped at end-of-generation (llama-server)
    bool aborted = false;       // SGLang's finish_reason "abort": the server dropped the request
    std::string matched_stop;   // the stop string the server matched, when it says so
    long prompt_evaluated = -1; // prompt tokens the server evaluated (not from its cache), when reported
    long prompt_cached = -1;    // prompt tokens it took from its cache, when reported
    // llama-server's timings.predicted_n / predicted_ms: tokens it generated for this request and
    // the time from the first to the last, when reported (its time per token with every slot's
    // work in the same steps: the server's own step time).
    long server_generated = -1;
    double server_generation_ms = -1;
};

// Parses a 200 answer; throws std::runtime_error saying what is missing.
CompletionReply parse_completion(const ServerInfo& s, const std::string& body);

// llama-server's slot files (the server started with --slot-save-path DIR): POST
// /slots/ID?action=save writes slot ID's cache and tokens to DIR/FILE, action=restore reads them
// into slot ID. A server without --slot-save-path answers 501.
std::string slot_action_path(int id_slot, const char* action);  // "/slots/3?action=save"
nlohmann::json slot_action_body(const std::string& filename);
bool is_slot_actions_unsupported(int status);

// llama-server (at least up to the llama.cpp this project pins) parses every finished generation
// with its chat parser and answers HTTP 500 "The model produced output that does not match the
// expected ... format" when the text holds invalid UTF-8 (llama.cpp issue #27543), though the
// tokens are fine. Random-weight models hit it all the time; real ones when they emit byte tokens
// out of order. The workaround: after such an answer, that server's requests carry
// `chat_parser` = a parser that accepts anything (built with the same llama.cpp's PEG library).
bool is_output_parser_failure(int status, const std::string& body);
const std::string& lenient_chat_parser();  // "" in builds without llama.cpp's common library
// The body with "chat_parser" set to lenient_chat_parser(); false when it is not a JSON object
// or there is no lenient parser.
bool add_lenient_chat_parser(std::string& body);
// True when the server is llama-server built from the llama.cpp leap links (same build_info), so
// its chat parser reads lenient_chat_parser() and every request can carry it from the first:
// otherwise the first answers that hit the failure are generated twice.
bool lenient_parser_from_start(const ServerInfo& s);

// The message in an error answer ({"error": {"message": ..}}, {"message": ..}, {"detail": ..}),
// else a short excerpt of the body.
std::string server_error_message(const std::string& body);

}  // namespace leap::openai
