// leap bench: a fixed LeaP workload on one model, measured against independent sampling, against
// llama.cpp's own ceiling (llama-batched-bench) and over HTTP (our OpenAI backend against a
// llama-server the bench starts itself). Lengths are fixed: end-of-generation is banned and the
// end-of-thinking marker is a string the model cannot produce, so every path runs its whole
// budget. One run prints a table (or, with --json, one JSON object). See docs/performance.md.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "backends/openai/http.h"
#include "cli/commands.h"
#include "cli/seed_flag.h"
#include "cli/engine_flags.h"
#include "core/run_problems.h"
#include "core/error.h"
#include "model/make_model.h"

extern char** environ;

namespace leap::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kBenchProblem = "Find the remainder when $7^{2024}$ is divided by $100$.";
// No model produces this, so `</think>` never ends a path's reasoning early.
constexpr const char* kNoEndOfThinking = "\x01leap-bench-no-end-of-thinking\x02";

struct BenchFlags {
    std::string model, preset, model_dir, paths = "4,8", problems = "1,2", depth, out, server_args;
    int threads = 0, summary_tokens = -1, answer_tokens = -1, peers = 2;
    bool quick = false, json_out = false, no_ceiling = false, no_ceiling_at_depth = false, no_openai = false,
         no_resend = false, no_unified = false, backend_sampling = false;
    uint64_t seed = 1;
};

std::vector<int> parse_int_list(const std::string& s, const char* what) {
    std::vector<int> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            int v = std::stoi(item, &used);
            if (used != item.size() || v < 1) throw std::invalid_argument("");
            out.push_back(v);
        } catch (const std::exception&) {
            throw Error(std::string(what) + " '" + s + "': expected positive integers separated by commas");
        }
    }
    if (out.empty()) throw Error(std::string(what) + " is empty");
    return out;
}

// Named depths (issue 7): short, about 1K reasoning tokens per path; long, about 8K.
std::pair<int, int> parse_depth(const std::string& s) {
    if (s == "short") return {4, 256};
    if (s == "long") return {8, 1024};
    const size_t x = s.find('x');
    try {
        if (x == std::string::npos) throw std::invalid_argument("");
        size_t u1 = 0, u2 = 0;
        const std::string a = s.substr(0, x), b = s.substr(x + 1);
        int segs = std::stoi(a, &u1), t = std::stoi(b, &u2);
        if (u1 != a.size() || u2 != b.size() || segs < 1 || t < 1) throw std::invalid_argument("");
        return {segs, t};
    } catch (const std::exception&) {
        throw Error("--depth '" + s + "': expected short (4x256), long (8x1024) or SEGMENTSxT, e.g. 4x256");
    }
}

std::string self_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : exe.parent_path().string();
}

long peak_rss_bytes(int who) {
    rusage ru{};
    getrusage(who, &ru);
    return (long)ru.ru_maxrss * 1024;  // Linux: KiB
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw Error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, (sockaddr*)&a, sizeof a) != 0 || ::getsockname(fd, (sockaddr*)&a, &len) != 0) {
        ::close(fd);
        throw Error("cannot find a free port on 127.0.0.1");
    }
    const int port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

// A child process (llama-server) killed and reaped when this goes out of scope.
struct Child {
    pid_t pid = -1;
    ~Child() { stop(); }
    void stop() {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        int st = 0;
        ::waitpid(pid, &st, 0);
        pid = -1;
    }
    bool alive() {
        if (pid <= 0) return false;
        int st = 0;
        if (::waitpid(pid, &st, WNOHANG) == pid) {
            pid = -1;
            return false;
        }
        return true;
    }
};

void spawn(Child& child, const std::vector<std::string>& args, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw Error("cannot start " + args[0] + ": " + std::strerror(rc));
    child.pid = pid;
}

std::string tail_of(const std::string& path, size_t bytes = 600) {
    std::string s;
    try {
        s = read_file(path, "log");
    } catch (const Error&) {
        return "";
    }
    return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

struct Shape {
    long n_layer = 0, n_head = 0, n_head_kv = 0, n_embd = 0;
    long kv_bytes_per_token() const {  // K and V, f16 cache (llama.cpp's default type)
        return n_head ? 2L * n_layer * n_head_kv * (n_embd / n_head) * 2 : 0;
    }
};

// One measured run as JSON (the fields every run has).
json run_json(const std::string& name, const std::string& kind, const std::string& layout, int paths,
              const EngineStats& s, long evaluated, long prompt_len, const Shape& shape, long peak, int problems = 1) {
    json by_kind = json::object();
    for (size_t k = 0; k < (size_t)TokenKind::Count; ++k) by_kind[std::string(to_string((TokenKind)k))] = s.tokens[k];
    const long all_paths = (long)paths * problems;
    const long per_path_tokens =
        prompt_len + (all_paths ? (s.sampled + s.tokens[(size_t)TokenKind::Injected] + s.refed) / all_paths : 0);
    return {{"name", name},
            {"kind", kind},
            {"layout", layout},
            {"paths", paths},
            {"problems", problems},
            {"seconds", s.seconds},
            {"sampled", s.sampled},
            {"evaluated", evaluated},
            {"sampled_per_s", s.seconds > 0 ? s.sampled / s.seconds : 0.0},
            {"evaluated_per_s", s.seconds > 0 ? evaluated / s.seconds : 0.0},
            {"tokens", by_kind},
            {"history_reevaluated", s.history_reevaluated},
            {"mean_batch", s.mean_batch()},
            {"tokens_per_path", per_path_tokens},
            {"kv_bytes_per_path", per_path_tokens * shape.kv_bytes_per_token()},
            {"peak_rss_bytes", peak}};
}

// One finished run in a line for stderr, so a run cut short (a timeout) still leaves its figures.
std::string run_line(const json& r) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: %ld sampled, %ld evaluated in %.2f s: %.1f sampled/s, %.1f evaluated/s",
                  r["name"].get<std::string>().c_str(), r["sampled"].get<long>(), r["evaluated"].get<long>(),
                  r["seconds"].get<double>(), r["sampled_per_s"].get<double>(), r["evaluated_per_s"].get<double>());
    return buf;
}

long sum_kinds(const EngineStats& s) {
    long n = 0;
    for (long v : s.tokens) n += v;
    return n + s.refed;
}

struct Workload {
    int segments = 0, t = 0, summary = 0, answer = 0, peers = 2;
    uint64_t seed = 1;
    RunConfig config(Method m, int n) const {
        RunConfig c;
        c.method = m;
        c.n_paths = n;
        c.segments = segments;
        c.segment_tokens = t;
        c.summary_tokens = summary;
        c.answer_tokens = answer;
        c.router.k = std::min(peers, std::max(1, n - 1));
        c.seed = seed;
        c.validate();
        return c;
    }
};

// P copies of the bench problem (distinct ids, so distinct seeds: their paths differ).
std::vector<Problem> bench_problems(int n) {
    std::vector<Problem> out;
    for (int i = 0; i < n; ++i) {
        Problem p;
        p.id = n == 1 ? "bench" : "bench-" + std::to_string(i + 1);
        p.text = kBenchProblem;
        out.push_back(p);
    }
    return out;
}

void bench(const BenchFlags& f) {
    // What to run.
    const std::string preset = !f.preset.empty() ? f.preset : (f.quick ? "tiny" : "qwen2.5-0.5b");
    std::vector<int> sizes = parse_int_list(f.quick && f.paths == "4,8" ? "4" : f.paths, "--paths");
    if (f.quick) sizes.resize(1);
    const std::vector<int> in_flight = parse_int_list(f.problems, "--problems");
    const auto [segments, t] = parse_depth(!f.depth.empty() ? f.depth : (f.quick ? "3x48" : "short"));
    Workload w;
    w.segments = segments;
    w.t = t;
    w.summary = f.summary_tokens >= 0 ? f.summary_tokens : (f.quick ? 16 : 64);
    w.answer = f.answer_tokens >= 0 ? f.answer_tokens : (f.quick ? 8 : 32);
    w.peers = f.peers;
    w.seed = f.seed;
    const int threads = f.threads > 0 ? f.threads : (int)std::max(1u, std::thread::hardware_concurrency());
    auto note = [&](const std::string& s) { std::fprintf(stderr, "bench: %s\n", s.c_str()); };

    // The model: -m, or a generated one of the preset's shape (kept in --model-dir for reuse).
    std::string model_path = f.model;
    if (model_path.empty()) {
        std::string dir = f.model_dir;
        if (dir.empty()) {
            const char* xdg = std::getenv("XDG_CACHE_HOME");
            const char* home = std::getenv("HOME");
            dir = xdg && *xdg ? std::string(xdg) + "/leap" : home && *home ? std::string(home) + "/.cache/leap" : "/tmp/leap-cache";
        }
        fs::create_directories(dir);
        model_path = dir + "/bench-" + preset + "-f16-seed1.gguf";
        if (!fs::exists(model_path)) {
            note("generating " + preset + " (f16) into " + model_path);
            MakeModelOptions o;
            o.out_path = model_path;
            o.preset = preset;
            o.type = WeightType::F16;
            o.seed = 1;
            o.vocab_path = default_vocab_path(llama_dir(LEAP_LLAMA_DIR));
            o.n_threads = threads;
            make_model(o);
        }
    }
    const std::string bin = self_dir();
    const std::string tmp_dir = (fs::temp_directory_path() / ("leap-bench-" + std::to_string(::getpid()))).string();
    fs::create_directories(tmp_dir);
    struct RemoveDir {
        std::string dir;
        ~RemoveDir() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } remove_tmp{tmp_dir};

    PromptSet prompts = PromptSet::builtin();
    prompts.fix_end_of_thinking(kNoEndOfThinking);
    EngineOptions eo;
    eo.threads = threads;
    eo.sampling.ban_end_of_generation = true;
    eo.backend_sampling = f.backend_sampling;

    ModelOptions mo;
    mo.path = model_path;
    mo.n_gpu_layers = -1;
    LlamaModel model(mo);
    Shape shape{llama_model_n_layer(model.get()), llama_model_n_head(model.get()), llama_model_n_head_kv(model.get()),
                llama_model_n_embd(model.get())};

    // Refused before the first run, not after the in-process ones.
    if (!f.no_ceiling && !fs::exists(bin + "/llama-batched-bench"))
        throw Error("llama-batched-bench not found beside leap (" + bin + "/llama-batched-bench); --no-ceiling skips it");
    json runs = json::array();
    std::map<std::string, double> rate;  // "leap/streams/4" -> sampled t/s
    long prompt_len = 0;
    std::map<std::string, json> by_name;  // the runs, by name
    auto in_process = [&](Method m, int n, bool unified, int problems) {
        EngineOptions o = eo;
        o.kv_unified = unified;
        o.parallel_problems = problems;
        const RunConfig c = w.config(m, n);
        const std::string kind = m == Method::Leap ? "leap" : "independent";
        const std::string layout = unified ? "unified" : "streams";
        note("in-process " + kind + ", " + std::to_string(n) + " paths, " + layout +
             (problems > 1 ? ", " + std::to_string(problems) + " problems in flight" : ""));
        LlamaEngine engine(model, o, c, prompts);
        run_problems(engine, bench_problems(problems), {}, [](ProblemRun&, json) {});
        const EngineStats& s = engine.stats();
        const long plen = s.tokens[(size_t)TokenKind::Prompt] / problems;
        if (m == Method::Leap && !prompt_len) prompt_len = plen;
        const std::string name =
            kind + "/" + layout + "/" + std::to_string(n) + (problems > 1 ? "/p" + std::to_string(problems) : "");
        // Evaluated: what the method fed; the padding that evened the batches is reported apart.
        json r = run_json(name, kind, layout, n, s, s.batch_tokens - s.padding, plen, shape, peak_rss_bytes(RUSAGE_SELF),
                          problems);
        r["padding"] = s.padding;
        // Where the wall time went: in llama_decode (with the wait for its outputs), drawing
        // tokens, and the rest (batches, text, stop strings, routing).
        r["decode_seconds"] = s.decode_seconds;
        r["sample_seconds"] = s.sample_seconds;
        r["decode_calls"] = s.decode_calls;
        r["device_cut_draws"] = s.device_cut_draws;
        r["mean_step_depth"] = s.mean_step_depth();
        r["append_calls"] = s.append_calls;
        r["append_seconds"] = s.append_seconds;
        r["append_call_tokens"] = s.append_call_tokens;
        rate[name] = r["sampled_per_s"].get<double>();
        by_name[name] = r;
        runs.push_back(r);
        note(run_line(r));
    };
    // llama.cpp's ceiling: llama-batched-bench, batch = N, prompt = the LeaP prompt (shared),
    // generation = the depth. Then the same at LeaP's depth: a LeaP path keeps its peers'
    // summaries, so its decode steps attend over a deeper context than an independent path's; the
    // second run's prompt is chosen so that its decode steps' mean position equals LeaP's.
    std::map<int, double> ceiling, ceiling_prompt, deep_ceiling, deep_ceiling_prompt;
    auto batched_bench = [&](int n, long npp, int tg, const std::string& name) {
        const std::string exe = bin + "/llama-batched-bench";
        note("llama-batched-bench, " + std::to_string(n) + " sequences, prompt " + std::to_string(npp) + ", generation " +
             std::to_string(tg));
        const std::string cmd = shell_quote(exe) + " -m " + shell_quote(model_path) + " -c " +
                                std::to_string(n * (npp + tg + 64)) + " -b 2048 -ub 512 -npp " + std::to_string(npp) +
                                " -ntg " + std::to_string(tg) + " -npl " + std::to_string(n) + " -pps -no-kvu -t " +
                                std::to_string(threads) + " --output-format jsonl 2>" +
                                shell_quote(tmp_dir + "/batched.log");
        FILE* p = ::popen(cmd.c_str(), "r");
        if (!p) throw Error("cannot run " + exe);
        std::string out;
        char buf[4096];
        size_t got;
        while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
        const int rc = ::pclose(p);
        json row;
        std::stringstream ss(out);
        std::string line;
        while (std::getline(ss, line))
            if (!line.empty() && line[0] == '{') row = json::parse(line, nullptr, false);
        if (rc != 0 || !row.is_object() || !row.contains("speed_tg"))
            throw Error("llama-batched-bench failed: " + tail_of(tmp_dir + "/batched.log"));
        EngineStats s;
        s.sampled = (long)n * tg;
        s.seconds = row.value("t", 0.0);
        s.tokens[(size_t)TokenKind::Prompt] = npp;
        s.tokens[(size_t)TokenKind::Reasoning] = s.sampled;
        json r = run_json(name, "ceiling", "streams", n, s, npp + s.sampled, npp, shape, peak_rss_bytes(RUSAGE_CHILDREN));
        r["decode_per_s"] = row.value("speed_tg", 0.0);
        r["prompt_per_s"] = row.value("speed_pp", 0.0);
        r["mean_batch"] = n;
        r["mean_step_depth"] = npp + (tg - 1) / 2.0;
        r["batched_bench"] = row;
        runs.push_back(r);
        note(run_line(r));
        return r;
    };
    // a) LeaP, both layouts, each number of problems in flight; b) independent sampling (per-path
    // streams, the default layout, one problem); c) the two ceilings. All of one N run back to
    // back, before the next N: this machine's speed drifts over minutes (a shared host), and
    // the ratios compare runs of one N, so they should be taken as close together as they can.
    const int tg = w.segments * w.t;
    for (int n : sizes) {
        for (int p : in_flight) {
            in_process(Method::Leap, n, false, p);
            if (!f.no_unified) in_process(Method::Leap, n, true, p);
        }
        in_process(Method::Independent, n, false, 1);
        if (f.no_ceiling) continue;
        const json r = batched_bench(n, prompt_len, tg, "ceiling/streams/" + std::to_string(n));
        ceiling[n] = r["decode_per_s"].get<double>();
        ceiling_prompt[n] = r["prompt_per_s"].get<double>();
        if (f.no_ceiling_at_depth) continue;
        const double leap_depth = by_name["leap/streams/" + std::to_string(n)].value("mean_step_depth", 0.0);
        const long npp = std::max(prompt_len, std::lround(leap_depth - (tg - 1) / 2.0));
        const json d = batched_bench(n, npp, tg, "ceiling_at_depth/streams/" + std::to_string(n));
        deep_ceiling[n] = d["decode_per_s"].get<double>();
        deep_ceiling_prompt[n] = d["prompt_per_s"].get<double>();
    }

    // e) the OpenAI backend against a llama-server started here (one slot per path), each path
    // pinned to its slot; d) the reference implementation's access pattern against the same
    // server configuration (a fresh process, so no cache carries over): the whole context resent
    // each request, each path's requests rotating over the slots (--no-slot-affinity), so the
    // server re-evaluates what another path left in the slot.
    std::map<int, double> http_rate, resend_rate;
    std::vector<std::string> server_args;  // --server-args, split at spaces
    {
        std::stringstream ss(f.server_args);
        std::string a;
        while (ss >> a) server_args.push_back(a);
    }
    auto over_http = [&](int n, bool affinity) {
        const std::string exe = bin + "/llama-server";
        if (!fs::exists(exe))
            throw Error("llama-server not found beside leap (" + exe + "); --no-openai --no-resend skip it");
        const RunConfig c = w.config(Method::Leap, n);
        const long per_path = prompt_len + token_budget(c) / n + 512;
        const int port = free_port();
        const std::string kind = affinity ? "openai" : "resend";
        const std::string log = tmp_dir + "/server-" + kind + "-" + std::to_string(n) + ".log";
        note("llama-server on 127.0.0.1:" + std::to_string(port) + ", " + std::to_string(n) + " slots; OpenAI backend" +
             (affinity ? ", a slot per path" : ", no slot affinity (resend)"));
        // Slot files let the OpenAI backend evaluate each problem's prompt once (--share-prompt).
        const std::string slot_dir = tmp_dir + "/slots";
        fs::create_directories(slot_dir);
        std::vector<std::string> args = {exe, "-m", model_path, "--host", "127.0.0.1", "--port", std::to_string(port),
                                         "-np", std::to_string(n), "-c", std::to_string(n * per_path), "--no-kv-unified",
                                         "-ub", "2048", "-t", std::to_string(threads), "-tb", std::to_string(threads),
                                         "--no-webui", "--cache-ram", "0", "--slot-save-path", slot_dir};
        // Added last: llama-server takes the last value of a repeated flag, so these override.
        for (const std::string& a : server_args) args.push_back(a);
        Child server;
        spawn(server, args, log);
        const std::string url = "http://127.0.0.1:" + std::to_string(port);
        openai::RetryPolicy probe;
        probe.timeout_s = 1;
        probe.retries = 0;
        openai::HttpConnection conn(openai::parse_base_url(url), probe, "");
        const auto deadline = Clock::now() + std::chrono::seconds(120);
        while (true) {
            if (conn.once("/health", "").status == 200) break;
            if (!server.alive() || Clock::now() > deadline)
                throw Error("llama-server did not become ready: " + tail_of(log));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        openai::OpenAIOptions oo;
        oo.base_urls = {url};
        oo.server_kind = "llama-server";
        oo.retry.retries = 2;
        oo.slot_affinity = affinity;
        ModelOptions tok;
        tok.path = model_path;
        tok.vocab_only = true;
        tok.n_gpu_layers = 0;
        openai::OpenAIEngine engine(tok, oo, eo, c, prompts);
        run_problems(engine, bench_problems(1), {}, [](ProblemRun&, json) {});
        const EngineStats& s = engine.stats();
        const openai::HttpStats& h = engine.http_stats();
        server.stop();
        const std::string name = kind + "/streams/" + std::to_string(n);
        json r = run_json(name, kind, "streams", n, s, sum_kinds(s), s.tokens[(size_t)TokenKind::Prompt], shape,
                          std::max(peak_rss_bytes(RUSAGE_SELF), peak_rss_bytes(RUSAGE_CHILDREN)));
        // What the server itself evaluated of the prompts it was sent (timings.prompt_n), took
        // from its cache (timings.cache_n), and evaluated although the path's previous request
        // had already sent it: over HTTP, that is the history re-evaluated.
        r["server_prompt_evaluated"] = h.server_prompt_evaluated;
        r["server_prompt_cached"] = h.server_prompt_cached;
        r["history_reevaluated"] = h.server_prompt_reevaluated;
        r["requests_moved"] = h.requests_moved;
        r["prompt_shares"] = h.prompt_shares;
        // The server's own time per generated token (its step time, every slot's work included).
        r["server_ms_per_token"] = h.server_generated > 0 ? h.server_generation_ms / h.server_generated : 0.0;
        r["http"] = h.to_json();
        (affinity ? http_rate : resend_rate)[n] = r["sampled_per_s"].get<double>();
        by_name[name] = r;
        runs.push_back(r);
        note(run_line(r));
    };
    for (int n : sizes) {
        if (!f.no_openai) over_http(n, true);
        if (!f.no_resend) over_http(n, false);
    }

    // Ratios: worst (smallest) over the sizes.
    json ratios = json::object();
    auto worst = [&](auto ratio_of) {
        double w = -1;
        for (int n : sizes) {
            const double r = ratio_of(n);
            if (r > 0 && (w < 0 || r < w)) w = r;
        }
        return w;
    };
    auto leap_rate = [&](int n) { return rate["leap/streams/" + std::to_string(n)]; };
    if (!ceiling.empty()) ratios["leap_vs_ceiling"] = worst([&](int n) { return ceiling[n] > 0 ? leap_rate(n) / ceiling[n] : 0; });
    // The same ceiling for LeaP's own mix of work: llama-batched-bench's time to prefill what
    // LeaP fed without sampling (prompt, injected, refed tokens) at its prompt rate plus to decode
    // what LeaP sampled at its N-sequence decode rate, over LeaP's wall time. The ratio above
    // compares LeaP's sampled rate with a pure decode rate, so every injected token counts
    // against LeaP there.
    auto same_work = [&](std::map<int, double>& decode, std::map<int, double>& prompt) {
        return worst([&](int n) {
            const json& a = by_name["leap/streams/" + std::to_string(n)];
            if (decode[n] <= 0 || prompt[n] <= 0 || a.is_null()) return 0.0;
            const double sampled = a["sampled"].get<long>(), fed = a["evaluated"].get<long>() - sampled;
            const double ceiling_s = fed / prompt[n] + sampled / decode[n];
            return ceiling_s / a["seconds"].get<double>();
        });
    };
    if (!ceiling.empty()) ratios["leap_vs_ceiling_same_work"] = same_work(ceiling, ceiling_prompt);
    // The same two against the ceiling at LeaP's depth: what is left is LeaP's prefill of the
    // text it injects (first) and the engine's own overhead (second).
    if (!deep_ceiling.empty()) {
        ratios["leap_vs_ceiling_at_depth"] =
            worst([&](int n) { return deep_ceiling[n] > 0 ? leap_rate(n) / deep_ceiling[n] : 0; });
        ratios["leap_vs_ceiling_at_depth_same_work"] = same_work(deep_ceiling, deep_ceiling_prompt);
    }
    // LeaP's text feeds against llama.cpp's prompt rate (issue 28's target: >= 0.8): the tokens of
    // the calls that fed text (steps and padding that rode along included) per second of them,
    // over llama-batched-bench's prompt rate on the LeaP prompt. The feeds sit 300-2,000 cells
    // deep in their paths' streams, the prompt at depth 0, so this asks what depth costs them.
    if (!ceiling_prompt.empty())
        ratios["leap_feed_vs_ceiling_prompt"] = worst([&](int n) {
            const json& a = by_name["leap/streams/" + std::to_string(n)];
            if (a.is_null() || ceiling_prompt[n] <= 0 || a.value("append_seconds", 0.0) <= 0) return 0.0;
            return a.value("append_call_tokens", 0L) / a["append_seconds"].get<double>() / ceiling_prompt[n];
        });
    ratios["leap_vs_independent"] = worst([&](int n) {
        const double ind = rate["independent/streams/" + std::to_string(n)];
        return ind > 0 ? leap_rate(n) / ind : 0;
    });
    if (!resend_rate.empty())
        ratios["leap_vs_resend"] = worst([&](int n) { return resend_rate[n] > 0 ? leap_rate(n) / resend_rate[n] : 0; });
    if (!http_rate.empty())
        ratios["openai_vs_inprocess"] = worst([&](int n) { return leap_rate(n) > 0 ? http_rate[n] / leap_rate(n) : 0; });

    // The wall-time target (issue 7): LeaP's wall time over independent's, minus 1, at most the
    // share of extra tokens LeaP samples plus 5%. Per size, and the worst (largest) excess.
    json targets = json::object();
    json per_size = json::array();
    double worst_excess = -1e9, worst_excess_eval = -1e9;
    for (int n : sizes) {
        const json& a = by_name["leap/streams/" + std::to_string(n)];
        const json& b = by_name["independent/streams/" + std::to_string(n)];
        const double wall = a["seconds"].get<double>() / b["seconds"].get<double>() - 1;
        const double extra = (double)(a["sampled"].get<long>() - b["sampled"].get<long>()) / b["sampled"].get<long>();
        const double extra_eval =
            (double)(a["evaluated"].get<long>() - b["evaluated"].get<long>()) / b["evaluated"].get<long>();
        const double excess = wall - (extra + 0.05);
        // The same target read over every token LeaP makes the model process (its prompt, the
        // peers' summaries it injects, what it samples): the extra work, not only the extra text.
        const double excess_eval = wall - (extra_eval + 0.05);
        worst_excess = std::max(worst_excess, excess);
        worst_excess_eval = std::max(worst_excess_eval, excess_eval);
        per_size.push_back({{"paths", n},
                            {"wall_overhead", wall},
                            {"extra_sampled_share", extra},
                            {"extra_evaluated_share", extra_eval},
                            {"excess", excess},
                            {"excess_over_evaluated", excess_eval}});
    }
    long history = 0;  // over every run done LeaP's way (in-process, sticky HTTP); resend's is its point
    for (const json& r : runs)
        if (r["kind"] != "resend") history += r["history_reevaluated"].get<long>();
    targets["wall_vs_independent"] = per_size;
    targets["wall_excess"] = worst_excess;  // <= 0: target met
    targets["wall_target_met"] = worst_excess <= 0;
    targets["wall_excess_over_evaluated"] = worst_excess_eval;
    targets["wall_target_met_over_evaluated"] = worst_excess_eval <= 0;
    targets["history_reevaluated"] = history;  // target: 0

    json out = {{"leap_version", LEAP_VERSION},
                {"model", {{"path", model_path},
                           {"preset", f.model.empty() ? preset : ""},
                           {"n_layer", shape.n_layer},
                           {"n_head", shape.n_head},
                           {"n_head_kv", shape.n_head_kv},
                           {"n_embd", shape.n_embd},
                           {"kv_bytes_per_token", shape.kv_bytes_per_token()}}},
                {"workload",
                 {{"paths", sizes},
                  {"problems_in_flight", in_flight},
                  {"segments", w.segments},
                  {"segment_tokens", w.t},
                  {"summary_tokens", w.summary},
                  {"answer_tokens", w.answer},
                  {"peers", w.peers},
                  {"prompt_tokens", prompt_len},
                  {"threads", threads},
                  {"seed", w.seed},
                  {"server_args", f.server_args},
                  {"backend_sampling", f.backend_sampling},
                  {"ignore_eos", true},
                  {"end_of_thinking", "unreachable marker"}}},
                {"runs", runs},
                {"ratios", ratios},
                {"targets", targets}};
    if (!f.out.empty()) write_file_atomic(f.out, dump_json(out, 2) + "\n");
    if (f.json_out) {
        std::printf("%s\n", dump_json(out, 2).c_str());
        return;
    }
    std::printf("model %s (%ld layers, %ld KV heads, KV %ld bytes/token); %d segments x %d tokens, prompt %ld tokens, "
                "%d threads\n",
                model_path.c_str(), shape.n_layer, shape.n_head_kv, shape.kv_bytes_per_token(), w.segments, w.t, prompt_len,
                threads);
    std::printf("%-28s %8s %9s %11s %11s %8s %11s %10s  %s\n", "run", "seconds", "sampled", "sampled t/s", "eval t/s",
                "batch", "KV/path MiB", "peak MiB", "tokens by kind (prompt/reasoning/summary/injected/answer)");
    for (const json& r : runs) {
        std::string kinds;
        for (const char* k : {"prompt", "reasoning", "summary", "injected", "answer"})
            kinds += (kinds.empty() ? "" : "/") + std::to_string(r["tokens"].value(k, 0L));
        std::printf("%-28s %8.2f %9ld %11.1f %11.1f %8.1f %11.1f %10.0f  %s\n", r["name"].get<std::string>().c_str(),
                    r["seconds"].get<double>(), r["sampled"].get<long>(), r["sampled_per_s"].get<double>(),
                    r["evaluated_per_s"].get<double>(), r["mean_batch"].get<double>(),
                    r["kv_bytes_per_path"].get<long>() / 1048576.0, r["peak_rss_bytes"].get<long>() / 1048576.0,
                    kinds.c_str());
    }
    for (const json& r : runs) {
        if (r.contains("decode_calls") && r["seconds"].get<double>() > 0 && r["decode_calls"].get<long>() > 0) {
            const double wall = r["seconds"].get<double>(), dec = r["decode_seconds"].get<double>(),
                         smp = r["sample_seconds"].get<double>();
            const long calls = r["decode_calls"].get<long>(), app_calls = r.value("append_calls", 0L);
            const double app = r.value("append_seconds", 0.0);
            std::printf("%s: llama_decode %.1f%% of the wall time (%.2f ms a call), sampling %.1f%%, the rest %.1f%%; "
                        "%ld calls fed text (%.2f s, %.1f t/s), %ld were steps (%.2f ms each, mean depth %.0f)\n",
                        r["name"].get<std::string>().c_str(), 100 * dec / wall, 1000 * dec / calls, 100 * smp / wall,
                        100 * (wall - dec - smp) / wall, app_calls, app,
                        app > 0 ? r.value("append_call_tokens", 0L) / app : 0.0, calls - app_calls,
                        calls > app_calls ? 1000 * (dec - app) / (calls - app_calls) : 0.0, r.value("mean_step_depth", 0.0));
        }
        if (r.contains("server_prompt_evaluated"))
            std::printf("%s: server evaluated %ld prompt tokens (%ld from its cache; %ld history re-evaluated), "
                        "%ld of %ld requests moved to another slot; %.2f ms of server time per generated token\n",
                        r["name"].get<std::string>().c_str(), r["server_prompt_evaluated"].get<long>(),
                        r["server_prompt_cached"].get<long>(), r["history_reevaluated"].get<long>(),
                        r["requests_moved"].get<long>(), r["http"]["requests"].get<long>(),
                        r.value("server_ms_per_token", 0.0));
    }
    for (const auto& [k, v] : ratios.items()) std::printf("%s: %.3f\n", k.c_str(), v.get<double>());
    for (const json& x : targets["wall_vs_independent"])
        std::printf("wall vs independent, %d paths: LeaP wall %+.1f%%, extra sampled tokens %+.1f%% (evaluated %+.1f%%); "
                    "target wall <= extra + 5%%: %s\n",
                    x["paths"].get<int>(), 100 * x["wall_overhead"].get<double>(),
                    100 * x["extra_sampled_share"].get<double>(), 100 * x["extra_evaluated_share"].get<double>(),
                    x["excess"].get<double>() <= 0 ? "met" : "missed");
    std::printf("history re-evaluated (LeaP runs): %ld\n", targets["history_reevaluated"].get<long>());
    if (ratios.contains("leap_feed_vs_ceiling_prompt"))
        std::printf("text feeds vs llama-batched-bench's prompt rate: %.3f; target >= 0.8: %s\n",
                    ratios["leap_feed_vs_ceiling_prompt"].get<double>(),
                    ratios["leap_feed_vs_ceiling_prompt"].get<double>() >= 0.8 ? "met" : "missed");

}

}  // namespace

void register_bench(CLI::App& app) {
    auto f = std::make_shared<BenchFlags>();
    CLI::App* cmd = app.add_subcommand("bench", "fixed LeaP workload: throughput vs independent, llama-batched-bench, HTTP");
    cmd->add_option("-m,--model", f->model, "GGUF model (default: a generated f16 model of --preset)");
    cmd->add_option("--preset", f->preset, "shape of the generated model (default qwen2.5-0.5b; tiny with --quick)");
    cmd->add_option("--model-dir", f->model_dir, "where generated models are kept (default ~/.cache/leap)");
    cmd->add_option("-N,--paths", f->paths, "path counts N to measure, comma-separated")->capture_default_str();
    cmd->add_option("--depth", f->depth,
                    "short (4x256, about 1K tokens per path), long (8x1024, about 8K) or SEGMENTSxT (default short; 3x48 "
                    "with --quick)");
    cmd->add_option("--problems", f->problems, "problems in flight for the LeaP runs, comma-separated")
        ->capture_default_str();
    cmd->add_option("--summary-tokens", f->summary_tokens, "summary budget (default 64; 16 with --quick)");
    cmd->add_option("--answer-tokens", f->answer_tokens, "answer budget (default 32; 8 with --quick)");
    cmd->add_option("--peers", f->peers, "peers each path hears at a block (k: the paper's \"top-k\" routing; at most N-1)")
        ->capture_default_str();
    cmd->add_option("-t,--threads", f->threads, "CPU threads for every run (0: all)")->capture_default_str();
    cmd->add_option("-s,--seed", f->seed, "sampling seed")->check(seed_range())->capture_default_str();
    cmd->add_flag("--quick", f->quick, "one size, small depth, tiny model: a smoke run");
    cmd->add_flag("--no-ceiling", f->no_ceiling, "skip llama-batched-bench");
    cmd->add_flag("--no-ceiling-at-depth", f->no_ceiling_at_depth,
                  "skip the second llama-batched-bench run, at the mean context depth of LeaP's decode steps");
    cmd->add_flag("--no-openai", f->no_openai, "skip the OpenAI backend over llama-server (slot per path)");
    cmd->add_flag("--no-resend", f->no_resend, "skip the resend pattern (OpenAI backend, no slot affinity)");
    cmd->add_flag("--backend-sampling", f->backend_sampling,
                  "in-process runs: each path's top-k cut on the model's device (llama.cpp backend sampling)");
    cmd->add_option("--server-args", f->server_args,
                    "more llama-server arguments, separated by spaces, after the bench's own (so they override), "
                    "e.g. \"-t 4\" or \"--backend-sampling\"");
    cmd->add_flag("--no-unified", f->no_unified, "skip the unified KV layout");
    cmd->add_option("-o,--out,--output", f->out, "also write the JSON here");
    cmd->add_flag("--json", f->json_out, "print JSON instead of the table");
    cmd->callback([f] { bench(*f); });
}

}  // namespace leap::cli
