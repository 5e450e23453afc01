#pragma once
// `leap data fetch DIR`: downloads the four benchmark files into DIR under the reference file
// names (aime.json, aime_2025.json, aimo.json, gpqa_diamond.json), converting the upstream rows
// into the reference format. Downloads go through the `curl` program (see docs/datasets.md for
// why not cpp-httplib). Nothing is written until every requested file has been downloaded and
// validated; each file is written to FILE.part and renamed, so a failure leaves no partial files.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace leap {

struct FetchOptions {
    // A mirror that serves files already in the reference format as <base_url>/<file>
    // (http://, https:// or file://). Empty: the environment variable LEAP_DATA_BASE_URL, and if
    // that is unset or empty too, the upstream sources (Hugging Face, the reference repository).
    std::string base_url;
    std::vector<std::string> names;  // benchmark names (aime24, ...); empty: all four
    bool force = false;              // download again files that already exist in DIR
    int timeout_s = 60;              // per request (curl --max-time); connecting gives up after 10 s
    std::string curl = "curl";       // the curl program (looked up in PATH)
    std::function<void(const std::string&)> log;  // progress lines; may be empty
};

// Where one benchmark comes from.
struct FetchSource {
    std::string name;    // aime24, ...
    std::string file;    // aime.json, ...
    std::string url;     // the mirror file, the raw file, or the first page of rows
    std::string origin;  // human-readable description of the source
};

// What fetch_benchmarks would download with these options (no network access).
std::vector<FetchSource> fetch_plan(const FetchOptions& options = {});

// Downloads the requested benchmarks into dir (created if missing). Throws leap::Error on the first
// failure: "cannot download <url>: <reason>; no network? copy the files into <dir> instead", or a
// conversion/validation error naming the url and row. Existing files are kept unless force.
void fetch_benchmarks(const std::string& dir, const FetchOptions& options = {});

// Exposed for tests. JSON travels as text: leap_eval and its users may see different copies of
// nlohmann_json (system vs llama.cpp's vendored one), so no json type crosses this interface.
namespace fetch_detail {
// The rows of one page of the Hugging Face datasets-server /rows API
// ({"rows":[{"row":{...}}], "num_rows_total":N}), as a JSON array text; total receives
// num_rows_total (or -1 when absent).
std::string parse_rows_page(std::string_view text, const std::string& origin, long* total);
// Turns a JSON array text of upstream rows of benchmark `name` into the reference format (a JSON
// array text of problem/answer/options... objects, indented by 4).
std::string convert_rows(const std::string& name, std::string_view rows, const std::string& origin);
}  // namespace fetch_detail

}  // namespace leap
