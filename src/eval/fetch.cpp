#include "eval/fetch.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "eval/dataset.h"

extern char** environ;

namespace leap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- sources ---------------------------------------------------------------------------------

constexpr const char* kRowsApi = "https://datasets-server.huggingface.co/rows";
constexpr int kPageRows = 100;  // the datasets-server's largest page

struct Upstream {
    const char* name;
    const char* hf_dataset;  // empty: `raw` is a file already in the reference format
    const char* hf_config;
    const char* hf_split;
    const char* raw;
    size_t expected;         // rows the benchmark has
};

constexpr Upstream kUpstream[] = {
    {"aime24", "Maxwell-Jia/AIME_2024", "default", "train", "", 30},
    {"aime25", "yentinglin/aime_2025", "default", "train", "", 30},
    // The AIMO 2025 reference problems come from Kaggle, not Hugging Face; the LeaP reference
    // repository ships them in the reference format.
    {"aimo25", "", "", "", "https://raw.githubusercontent.com/tongxuluo/LeaP/main/data/aimo.json", 10},
    {"gpqa", "Idavidrein/gpqa", "gpqa_diamond", "train", "", 198},  // gated: set HF_TOKEN
};

const Upstream& upstream(const std::string& name) {
    for (const auto& u : kUpstream)
        if (name == u.name) return u;
    throw Error("no download source for benchmark '" + name + "'");
}

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string rows_url(const Upstream& u, long offset) {
    return std::string(kRowsApi) + "?dataset=" + url_encode(u.hf_dataset) +
           "&config=" + url_encode(u.hf_config) + "&split=" + url_encode(u.hf_split) +
           "&offset=" + std::to_string(offset) + "&length=" + std::to_string(kPageRows);
}

std::string effective_base(const FetchOptions& opt) {
    std::string base = opt.base_url;
    if (base.empty()) {
        if (const char* e = std::getenv("LEAP_DATA_BASE_URL")) base = e;
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base;
}

std::vector<std::string> requested(const FetchOptions& opt) {
    std::vector<std::string> names = opt.names.empty() ? benchmark_names() : opt.names;
    for (const auto& n : names) (void)benchmark_file(n);  // throws for an unknown name
    return names;
}

std::vector<json> rows_of_page(std::string_view text, const std::string& origin, long* total);
json convert(const std::string& name, const std::vector<json>& rows, const std::string& origin);

// ---- running curl ----------------------------------------------------------------------------

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

// Runs curl with argv (no shell). stdin_text, when not empty, is fed on standard input.
// Returns "" on success, else the reason (curl's own message when it printed one).
std::string run_curl(const std::string& curl, const std::vector<std::string>& args,
                     const std::string& stdin_text) {
    int err_pipe[2], in_pipe[2] = {-1, -1};
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
    if (!stdin_text.empty() && pipe2(in_pipe, O_CLOEXEC) != 0) {
        close(err_pipe[0]);
        close(err_pipe[1]);
        return std::string("pipe: ") + std::strerror(errno);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_pipe[0] >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);

    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(curl.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, curl.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(err_pipe[1]);
    if (in_pipe[0] >= 0) close(in_pipe[0]);
    if (rc != 0) {
        close(err_pipe[0]);
        if (in_pipe[1] >= 0) close(in_pipe[1]);
        return rc == ENOENT ? "the curl program was not found (install curl)"
                            : "cannot run " + curl + ": " + std::strerror(rc);
    }
    if (in_pipe[1] >= 0) {
        // curl may exit without reading: keep SIGPIPE from killing us.
        sigset_t pipe_set, old;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
        size_t off = 0;
        while (off < stdin_text.size()) {
            const ssize_t w = write(in_pipe[1], stdin_text.data() + off, stdin_text.size() - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += static_cast<size_t>(w);
        }
        close(in_pipe[1]);
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {}
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    std::string err;
    char buf[4096];
    for (;;) {
        const ssize_t n = read(err_pipe[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (err.size() < 16384) err.append(buf, static_cast<size_t>(n));
    }
    close(err_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    err = trim(err);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && err.empty())
        return "the curl program was not found (install curl)";
    if (!err.empty()) return err;
    if (WIFSIGNALED(status)) return "curl was killed by signal " + std::to_string(WTERMSIG(status));
    return "curl exited with status " + std::to_string(WEXITSTATUS(status));
}

bool is_hugging_face(const std::string& url) {
    return url.rfind("https://huggingface.co/", 0) == 0 ||
           url.rfind("https://datasets-server.huggingface.co/", 0) == 0;
}

// Everything created in DIR; removed unless the fetch succeeds.
struct Scratch {
    std::vector<fs::path> files;
    fs::path created_dir;
    bool keep = false;
    ~Scratch() {
        std::error_code ec;
        for (const auto& f : files) fs::remove(f, ec);
        if (!keep && !created_dir.empty() && fs::is_empty(created_dir, ec)) fs::remove(created_dir, ec);
    }
};

struct Fetcher {
    const FetchOptions& opt;
    fs::path dir;
    Scratch& scratch;

    void log(const std::string& s) const {
        if (opt.log) opt.log(s);
    }

    std::string download(const std::string& url, const std::string& tag) const {
        const fs::path tmp = dir / ("." + tag + ".download.part");
        scratch.files.push_back(tmp);
        const int timeout = opt.timeout_s > 0 ? opt.timeout_s : 60;
        std::vector<std::string> args = {
            "-fsSL", "--max-time", std::to_string(timeout), "--connect-timeout",
            std::to_string(std::min(timeout, 10)), "--proto", "=http,https,file",
            "-o", tmp.string()};
        std::string header;
        if (is_hugging_face(url)) {
            const char* token = std::getenv("HF_TOKEN");
            if (!token || !*token) token = std::getenv("HUGGING_FACE_HUB_TOKEN");
            if (token && *token) {
                header = std::string("Authorization: Bearer ") + token + "\n";
                args.push_back("-H");
                args.push_back("@-");  // from stdin, so the token is not on the command line
            }
        }
        args.push_back(url);
        const std::string why = run_curl(opt.curl, args, header);
        if (why.rfind("the curl program", 0) == 0)
            throw Error("cannot download " + url + ": " + why + "; or copy the files into " +
                        dir.string() + " instead");
        if (!why.empty())
            throw Error("cannot download " + url + ": " + why + "; no network? copy the files into " +
                        dir.string() + " instead");
        std::ifstream in(tmp, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        if (!in) throw Error("cannot read the download of " + url + " (" + tmp.string() + ")");
        std::error_code ec;
        fs::remove(tmp, ec);
        return ss.str();
    }

    // The reference-format text for one benchmark, validated.
    std::string fetch(const std::string& name, const std::string& base) const {
        const std::string file = benchmark_file(name);
        std::string text, origin;
        size_t expected = 0;
        if (!base.empty()) {
            origin = base + "/" + file;
            log("downloading " + name + " from " + origin);
            text = download(origin, file);
        } else {
            const Upstream& u = upstream(name);
            expected = u.expected;
            if (!*u.hf_dataset) {
                origin = u.raw;
                log("downloading " + name + " from " + origin);
                text = download(origin, file);
            } else {
                origin = rows_url(u, 0);
                log("downloading " + name + " from Hugging Face dataset " + u.hf_dataset + " (" +
                    u.hf_config + "/" + u.hf_split + ")");
                std::vector<json> rows;
                long total = -1;
                for (long offset = 0;; offset += kPageRows) {
                    const std::string url = rows_url(u, offset);
                    auto page = rows_of_page(download(url, file), url, &total);
                    const size_t got = page.size();
                    for (auto& r : page) rows.push_back(std::move(r));
                    if (got == 0 || (total >= 0 && static_cast<long>(rows.size()) >= total) ||
                        (total < 0 && got < static_cast<size_t>(kPageRows)))
                        break;
                    if (offset > 100000) throw Error(url + ": too many rows");
                }
                try {
                    text = convert(name, rows, origin).dump(4) + "\n";
                } catch (const json::exception& e) {
                    throw Error(origin + ": cannot write the converted rows: " + e.what());
                }
            }
        }
        DatasetOptions dopt;
        dopt.shuffle_options = false;
        const Dataset ds = parse_dataset(text, origin, name, dopt);  // throws naming origin + item
        if (expected && ds.items.size() != expected)
            throw Error(origin + ": expected " + std::to_string(expected) + " problems for " + name +
                        ", got " + std::to_string(ds.items.size()));
        return text;
    }
};

// ---- converters ------------------------------------------------------------------------------

const json* field(const json& row, std::initializer_list<const char*> names) {
    for (const char* n : names) {
        auto it = row.find(n);
        if (it != row.end() && !it->is_null()) return &*it;
    }
    return nullptr;
}

std::string need_text(const json& row, std::initializer_list<const char*> names,
                      const std::string& where) {
    const json* v = field(row, names);
    if (!v) throw Error(where + ": missing field \"" + *names.begin() + "\"");
    if (v->is_string()) return trim(v->get<std::string>());
    if (v->is_number_integer()) return v->dump();
    throw Error(where + ": field \"" + *names.begin() + "\" is not text");
}

void copy_if(json& out, const char* key, const json& row, std::initializer_list<const char*> names) {
    if (const json* v = field(row, names)) out[key] = *v;
}

std::vector<json> rows_of_page(std::string_view text, const std::string& origin, long* total) {
    json doc;
    try {
        doc = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        throw Error(origin + ": not valid JSON: " + e.what());
    }
    if (!doc.is_object() || !doc.contains("rows") || !doc["rows"].is_array())
        throw Error(origin + ": not a datasets-server rows page (no \"rows\" array)" +
                    (doc.is_object() && doc.contains("error") && doc["error"].is_string()
                         ? ": " + doc["error"].get<std::string>()
                         : std::string()));
    if (total) {
        *total = -1;
        if (doc.contains("num_rows_total") && doc["num_rows_total"].is_number_integer())
            *total = doc["num_rows_total"].get<long>();
    }
    std::vector<json> rows;
    for (size_t i = 0; i < doc["rows"].size(); ++i) {
        const json& r = doc["rows"][i];
        if (!r.is_object() || !r.contains("row") || !r["row"].is_object())
            throw Error(origin + ": rows[" + std::to_string(i) + "] has no \"row\" object");
        rows.push_back(r["row"]);
    }
    return rows;
}

json convert(const std::string& name, const std::vector<json>& rows, const std::string& origin) {
    json out = json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
        const json& row = rows[i];
        const std::string where = origin + ": row " + std::to_string(i);
        if (!row.is_object()) throw Error(where + ": not an object");
        json item = json::object();
        if (name == "gpqa") {
            item["problem"] = need_text(row, {"Question", "question"}, where);
            // The reference file keeps the correct answer at A; load_dataset shuffles.
            item["options"] = {{"A", need_text(row, {"Correct Answer"}, where)},
                               {"B", need_text(row, {"Incorrect Answer 1"}, where)},
                               {"C", need_text(row, {"Incorrect Answer 2"}, where)},
                               {"D", need_text(row, {"Incorrect Answer 3"}, where)}};
            item["answer"] = "A";
            copy_if(item, "domain", row, {"High-level domain"});
            copy_if(item, "explanation", row, {"Explanation"});
        } else if (name == "aime24" || name == "aime25" || name == "aimo25") {
            item["problem"] = need_text(row, {"problem", "Problem", "question"}, where);
            item["answer"] = need_text(row, {"answer", "Answer"}, where);
            copy_if(item, "id", row, {"id", "ID"});
            copy_if(item, "solution", row, {"solution", "Solution"});
            copy_if(item, "url", row, {"url"});
            copy_if(item, "year", row, {"year"});
        } else {
            throw Error("no converter for benchmark '" + name + "'");
        }
        out.push_back(std::move(item));
    }
    return out;
}

}  // namespace

namespace fetch_detail {

std::string parse_rows_page(std::string_view text, const std::string& origin, long* total) {
    return json(rows_of_page(text, origin, total)).dump();
}

std::string convert_rows(const std::string& name, std::string_view rows, const std::string& origin) {
    json doc;
    try {
        doc = json::parse(rows.begin(), rows.end());
    } catch (const json::parse_error& e) {
        throw Error(origin + ": not valid JSON: " + e.what());
    }
    if (!doc.is_array()) throw Error(origin + ": expected a JSON array of rows");
    try {
        return convert(name, doc.get<std::vector<json>>(), origin).dump(4) + "\n";
    } catch (const json::exception& e) {
        throw Error(origin + ": cannot write the converted rows: " + e.what());
    }
}

}  // namespace fetch_detail

std::vector<FetchSource> fetch_plan(const FetchOptions& options) {
    const std::string base = effective_base(options);
    std::vector<FetchSource> plan;
    for (const auto& name : requested(options)) {
        FetchSource s{name, benchmark_file(name), "", ""};
        if (!base.empty()) {
            s.url = base + "/" + s.file;
            s.origin = "mirror " + base + " (reference format)";
        } else {
            const Upstream& u = upstream(name);
            if (*u.hf_dataset) {
                s.url = rows_url(u, 0);
                s.origin = std::string("Hugging Face ") + u.hf_dataset + " (" + u.hf_config + "/" +
                           u.hf_split + "), converted";
            } else {
                s.url = u.raw;
                s.origin = "LeaP reference repository (reference format)";
            }
        }
        plan.push_back(std::move(s));
    }
    return plan;
}

void fetch_benchmarks(const std::string& dir_name, const FetchOptions& options) {
    if (dir_name.empty()) throw Error("leap data fetch needs a directory");
    const std::vector<std::string> names = requested(options);
    const std::string base = effective_base(options);
    const fs::path dir(dir_name);

    Scratch scratch;
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) throw Error(dir_name + " exists and is not a directory");
    } else {
        if (!fs::create_directories(dir, ec) || ec)
            throw Error("cannot create directory " + dir_name + ": " + ec.message());
        scratch.created_dir = dir;
    }

    Fetcher f{options, dir, scratch};
    // 1. Download and validate everything, in memory.
    std::vector<std::pair<std::string, std::string>> todo;  // file, text
    for (const auto& name : names) {
        const std::string file = benchmark_file(name);
        if (!options.force && fs::exists(dir / file, ec)) {
            f.log("kept " + (dir / file).string() + " (exists; force to download again)");
            continue;
        }
        todo.emplace_back(file, f.fetch(name, base));
    }
    // 2. Write each as FILE.part, then rename them into place.
    std::vector<std::pair<fs::path, fs::path>> renames;
    for (const auto& [file, text] : todo) {
        const fs::path part = dir / (file + ".part");
        scratch.files.push_back(part);
        std::ofstream out(part, std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.close();
        if (!out) throw Error("cannot write " + part.string());
        renames.emplace_back(part, dir / file);
    }
    for (const auto& [part, final_path] : renames) {
        fs::rename(part, final_path, ec);
        if (ec) throw Error("cannot rename " + part.string() + " to " + final_path.string() + ": " +
                            ec.message());
        f.log("wrote " + final_path.string());
    }
    scratch.keep = true;
}

}  // namespace leap
