#include "eval/report.h"
#include "eval/report_adaptive.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <unistd.h>

#include "core/error.h"
#include "eval/outcome.h"
#include "eval/report_labels.h"
#include "eval/results_trace.h"
#include "viewer/page.h"

namespace leap {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Reading results folders

struct Line {
    std::string id;
    ProblemOutcome outcome;
    bool has_trace = false;  // the line holds the problem's trace (a viewer page can be made)
};

struct Folder {
    std::string path;
    json identity;
    uint64_t seed = 0;
    std::map<std::string, std::vector<Line>> benches;  // bench key -> lines, in file order
};

std::string slurp(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(std::string(what) + " '" + path + "' cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Reads a results file without touching it (a run may still be appending to it): a last line
// without its newline is skipped with a warning, any other unreadable line is an error.
std::vector<Line> read_results(const std::string& path, std::vector<std::string>& warnings) {
    const std::string text = slurp(path, "results file");
    std::vector<Line> lines;
    std::set<std::string> ids;
    size_t start = 0;
    int number = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        ++number;
        if (nl == std::string::npos) {
            warnings.push_back("'" + path + "', line " + std::to_string(number) +
                               ": skipped a partly written last line (a run still writing, or killed mid-write)");
            break;
        }
        const std::string raw = text.substr(start, nl - start);
        start = nl + 1;
        if (raw.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = "'" + path + "', line " + std::to_string(number);
        json j;
        try {
            j = json::parse(raw);
        } catch (const json::exception& e) {
            throw Error(where + ": not JSON (" + e.what() + ")");
        }
        Line l;
        try {
            l.id = j.at("id").get<std::string>();
            l.outcome = outcome_of(j);
            l.has_trace = line_has_trace(j);
        } catch (const json::exception& e) {
            throw Error(where + ": not a results line (docs/results.md): " + e.what());
        }
        if (l.outcome.correct.empty()) throw Error(where + ": problem '" + l.id + "' has no paths");
        if (!ids.insert(l.id).second) throw Error(where + ": problem '" + l.id + "' appears twice");
        lines.push_back(std::move(l));
    }
    return lines;
}

Folder read_folder(const std::string& path, std::vector<std::string>& warnings) {
    if (!fs::is_directory(path)) throw Error("results folder '" + path + "' does not exist or is not a folder");
    const std::string run_json = (fs::path(path) / "run.json").string();
    if (!fs::exists(run_json))
        throw Error("'" + path + "' is not a results folder of leap eval (no run.json)");
    Folder f;
    f.path = path;
    json run;
    try {
        run = json::parse(slurp(run_json, "run description"));
    } catch (const json::exception& e) {
        throw Error("'" + run_json + "' is not JSON (" + e.what() + ")");
    }
    if (!run.is_object() || !run.contains("identity") || !run["identity"].is_object())
        throw Error("'" + run_json + "' has no \"identity\" object (docs/results.md)");
    f.identity = run["identity"];
    const json& cfg = f.identity.contains("config") ? f.identity["config"] : json();
    if (!cfg.is_object() || !cfg.contains("method") || !cfg["method"].is_string())
        throw Error("'" + run_json + "': identity.config.method is missing");
    if (cfg.contains("seed") && cfg["seed"].is_number_unsigned()) f.seed = cfg["seed"].get<uint64_t>();
    else if (cfg.contains("seed") && cfg["seed"].is_number_integer()) f.seed = (uint64_t)cfg["seed"].get<int64_t>();

    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(path))
        if (e.is_regular_file() && e.path().extension() == ".jsonl" && e.path().filename().string()[0] != '.')
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        std::vector<Line> lines = read_results(file.string(), warnings);
        if (!lines.empty()) f.benches[file.stem().string()] = std::move(lines);
    }
    if (f.benches.empty()) warnings.push_back("'" + path + "' holds no finished problems yet");
    return f;
}

json without_seed(json identity) {
    if (identity.contains("config") && identity["config"].is_object()) identity["config"].erase("seed");
    return identity;
}

int bench_rank(const std::string& key) {
    static const char* known[] = {"aime24", "aime25", "aimo25", "gpqa"};
    for (int i = 0; i < 4; ++i)
        if (key == known[i]) return i;
    return 4;
}

// ---------------------------------------------------------------------------------------------
// The paper's numbers (Luo et al. 2025, arXiv 2505.07787): Pass@1, dispersed top-4 LeaP vs
// independent sampling.

struct PaperNumber {
    const char* model;
    const char* bench;
    double leap, baseline;
};
const PaperNumber kPaper[] = {
    {"R1-Distill-Qwen-7B", "aime24", 60.52, 51.35},
    {"R1-Distill-Qwen-7B", "aime25", 38.44, 37.81},
    {"R1-Distill-Qwen-7B", "aimo25", 45.00, 37.50},
    {"R1-Distill-Qwen-7B", "gpqa", 55.56, 46.91},
    {"R1-Distill-Qwen-14B", "aime24", 77.29, 64.47},
    {"QwQ-32B", "average", 72.00, 67.39},
};
const char* kCitation = "Luo et al. 2025, \"Learning from Peers in Reasoning Models\" (arXiv 2505.07787)";

// Which of the paper's models a model file is: QwQ-32B, R1-Distill-Qwen-14B or -7B; anything
// else is compared with the 7B numbers (the paper's main table) and flagged as assumed.
std::pair<std::string, bool> paper_model_of(const json& identity) {
    std::string m = identity.contains("model") && identity["model"].is_string() ? identity["model"].get<std::string>() : "";
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    if (m.find("qwq") != std::string::npos) return {"QwQ-32B", false};
    if (std::regex_search(m, std::regex("(^|[^0-9.])14b"))) return {"R1-Distill-Qwen-14B", false};
    if (std::regex_search(m, std::regex("(^|[^0-9.])7b"))) return {"R1-Distill-Qwen-7B", false};
    return {"R1-Distill-Qwen-7B", true};
}

std::string config_str(const json& identity, const std::string& key) {
    // Results written before the flags took llama.cpp's names called the peers "top_k".
    if (key == "peers" && identity.contains("config") && !identity["config"].contains("peers"))
        return config_str(identity, "top_k");
    if (!identity.contains("config") || !identity["config"].contains(key)) return "";
    const json& v = identity["config"][key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

// True when a leap run's routing differs from the paper's dispersed top-4.
bool differs_from_paper_setting(const json& identity) {
    return config_str(identity, "method") == "leap" &&
           (config_str(identity, "router") != "dispersed" || config_str(identity, "peers") != "4");
}

// ---------------------------------------------------------------------------------------------
// Formatting

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string pct(double v) { return fmt("%.2f", 100 * v); }
std::string pct_ci(const Interval& i) { return pct(i.mean) + " [" + fmt("%.1f", 100 * i.lo) + ", " + fmt("%.1f", 100 * i.hi) + "]"; }

std::string duration(double s) {
    char buf[48];
    if (s < 0) return "—";
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else std::snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
}

std::string passk_cell(const Summary& s) {
    std::string out;
    for (const auto& [k, i] : s.pass_k) {
        if (!out.empty()) out += ", ";
        out += std::to_string(k) + ": " + fmt("%.1f", 100 * i.mean);
    }
    return out.empty() ? "—" : out;
}

const char* kDash = "—";
const std::vector<std::string> kKinds = {"reasoning", "summary", "injected", "answer", "prompt"};

// The kinds to show for a bench: the standard five, then any other kind some run recorded.
std::vector<std::string> kinds_for(const Report& r, const std::string& bench) {
    std::vector<std::string> kinds = kKinds;
    for (const auto& run : r.runs) {
        auto it = run.benches.find(bench);
        if (it == run.benches.end()) continue;
        for (const auto& [k, v] : it->second.tokens_per_problem)
            if (k != "total" && std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
    }
    return kinds;
}

std::string tokens_cell(const Summary& s, const std::string& kind) {
    auto it = s.tokens_per_problem.find(kind);
    return fmt("%.0f", it == s.tokens_per_problem.end() ? 0.0 : it->second);
}

std::string paper_cell(const Report& r, const ReportRun& run, const std::string& bench) {
    const auto v = paper_pass1(run.paper_model, config_str(run.identity, "method"), bench);
    if (!v) return kDash;
    return fmt("%.2f", *v) + (differs_from_paper_setting(run.identity) ? " †" : "");
}

// "55.0 / 60.0" (Pass@1 / Cons@N, %), or a dash where the results lack the metric.
std::string pair_cell(const std::optional<Interval>& p1, const std::optional<Interval>& cn) {
    if (!p1 || !cn) return kDash;
    return fmt("%.1f", 100 * p1->mean) + " / " + fmt("%.1f", 100 * cn->mean);
}

// Whether some run of the bench is LeaP-S (has representatives-only figures).
bool any_representatives(const Report& r, const std::string& bench) {
    for (const auto& run : r.runs) {
        auto it = run.benches.find(bench);
        if (it != run.benches.end() && it->second.pass1_representatives) return true;
    }
    return false;
}

// One row of a bench table, as plain cell strings (escaped later for the target format).
std::vector<std::string> bench_row(const Report& r, const ReportRun& run, const std::string& bench,
                                   const std::vector<std::string>& kinds) {
    std::vector<std::string> row{run.label};
    auto it = run.benches.find(bench);
    const bool reps = any_representatives(r, bench);
    const size_t cols = 8 + (r.options.paper ? 1 : 0) + (reps ? 1 : 0) + kinds.size() + 4;  // as bench_header
    if (it == run.benches.end()) {
        row.resize(cols, kDash);
        if (r.options.paper) row[5] = paper_cell(r, run, bench);
        return row;
    }
    const Summary& s = it->second;
    row.push_back(std::to_string(s.n));
    row.push_back(std::to_string(s.paths));
    row.push_back(std::to_string(s.runs));
    row.push_back(pct_ci(s.pass1));
    if (r.options.paper) row.push_back(paper_cell(r, run, bench));
    row.push_back(pct_ci(s.cons));
    row.push_back(pair_cell(s.pass1_reference, s.cons_reference));
    if (reps) row.push_back(pair_cell(s.pass1_representatives, s.cons_representatives));
    row.push_back(passk_cell(s));
    for (const auto& k : kinds) row.push_back(tokens_cell(s, k));
    row.push_back(tokens_cell(s, "total"));
    row.push_back(duration(s.wall_s));
    row.push_back(s.wall_s > 0 ? fmt("%.1f", s.tokens_per_s) : kDash);
    row.push_back(s.n * s.runs > 0 ? fmt("%.1f", s.wall_s / (s.n * s.runs)) : kDash);
    return row;
}

std::vector<std::string> bench_header(const Report& r, const std::string& bench, const std::vector<std::string>& kinds) {
    std::vector<std::string> h{"run", "n", "N", "seeds", "Pass@1 % [95% CI]"};
    if (r.options.paper) h.push_back("paper Pass@1 %");
    h.push_back("Cons@N % [95% CI]");
    h.push_back("reference check Pass@1 / Cons@N %");
    if (any_representatives(r, bench)) h.push_back("LeaP-S representatives Pass@1 / Cons@N %");
    h.push_back("pass@k %");
    for (const auto& k : kinds) h.push_back(k + " tok");
    h.push_back("total tok");
    h.push_back("wall");
    h.push_back("tok/s");
    h.push_back("s/problem");
    return h;
}

std::vector<std::string> runs_header(const Report& r) {
    std::vector<std::string> h{"#", "run", "method", "model", "N", "T x M", "router", "peers", "seeds", "folders"};
    if (r.options.paper) h.push_back("compared with (paper)");
    return h;
}

std::vector<std::string> runs_row(const Report& r, size_t i) {
    const ReportRun& run = r.runs[i];
    const json& id = run.identity;
    const std::string method = config_str(id, "method");
    const bool blocks = method != "independent";
    std::string seeds, folders;
    for (size_t s = 0; s < run.seeds.size(); ++s) {
        seeds += (s ? ", " : "") + std::to_string(run.seeds[s]);
        folders += (s ? ", " : "") + run.folders[s];
    }
    std::vector<std::string> row{std::to_string(i + 1), run.label, method,
                                 id.contains("model") && id["model"].is_string() ? id["model"].get<std::string>() : kDash,
                                 config_str(id, "paths"),
                                 config_str(id, "segment_tokens") + " x " + config_str(id, "segments"),
                                 blocks ? config_str(id, "router") : kDash, blocks ? config_str(id, "peers") : kDash,
                                 seeds, folders};
    if (r.options.paper) row.push_back(run.paper_model + (run.paper_model_assumed ? " (assumed)" : ""));
    return row;
}

std::string md_escape(const std::string& s) {
    std::string out;
    auto word = [&](size_t i) { return i < s.size() && std::isalnum((unsigned char)s[i]); };
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\n' || c == '\r') {
            out += ' ';
            continue;
        }
        // Backslash escapes (CommonMark) for what could start markup; an underscore inside a word
        // (Q4_K_M) cannot, and is left as it is.
        const bool inner_underscore = c == '_' && i > 0 && word(i - 1) && word(i + 1);
        if (std::string_view("\\`*_<>&|").find(c) != std::string_view::npos && !inner_underscore) out += '\\';
        out += c;
    }
    return out;
}

// The first `left` columns are text (left-aligned), the others numbers (right-aligned).
std::string md_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                     size_t left) {
    std::string out = "|";
    for (const auto& h : header) out += " " + md_escape(h) + " |";
    out += "\n|";
    for (size_t i = 0; i < header.size(); ++i) out += i < left ? " :--- |" : " ---: |";
    out += "\n";
    for (const auto& row : rows) {
        out += "|";
        for (const auto& c : row) out += " " + md_escape(c) + " |";
        out += "\n";
    }
    return out;
}

// A cell "50.00 [25.0, 75.0]": the interval on a line of its own, so the column stays narrow.
std::string html_cell(const std::string& text) {
    const size_t at = text.find(" [");
    if (at != std::string::npos && !text.empty() && text.back() == ']')
        return html_escape(text.substr(0, at)) + "<span class=\"ci\">" + html_escape(text.substr(at + 1)) + "</span>";
    return html_escape(text);
}

// The first `left` columns are text (left-aligned, wrapping), the others numbers; the columns in
// `wrap` may wrap too. Headers wrap; a table still too wide scrolls inside its own box, never the page.
std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       size_t left, const std::set<size_t>& wrap = {}, const std::string& cls = "") {
    std::string out = "<div class=\"table-wrap\"><table" + (cls.empty() ? "" : " class=\"" + cls + "\"") + ">\n<thead><tr>";
    for (size_t i = 0; i < header.size(); ++i)
        out += std::string(i < left || wrap.count(i) ? "<th class=\"l\">" : "<th>") + html_escape(header[i]) + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (size_t i = 0; i < row.size(); ++i)
            out += std::string(i < left ? "<td class=\"l\">" : wrap.count(i) ? "<td class=\"w\">" : "<td>") + html_cell(row[i]) + "</td>";
        out += "</tr>\n";
    }
    return out + "</tbody>\n</table></div>\n";
}

// Columns [0, n) of a row or header, and column 0 with columns [n, end).
std::vector<std::string> head_columns(const std::vector<std::string>& row, size_t n) {
    return std::vector<std::string>(row.begin(), row.begin() + (long)std::min(n, row.size()));
}
std::vector<std::string> tail_columns(const std::vector<std::string>& row, size_t n) {
    std::vector<std::string> out{row.empty() ? std::string() : row[0]};
    if (n < row.size()) out.insert(out.end(), row.begin() + (long)n, row.end());
    return out;
}

// A problem id as a file name: letters, digits, '.', '_' and '-' kept, anything else '_' (then a
// hash of the id, so two ids cannot end up as one file).
std::string file_safe(const std::string& id) {
    std::string out;
    for (char c : id) out += std::isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' ? c : '_';
    if (out.empty() || out[0] == '.') out = "_" + out;
    if (out != id) out += "-" + std::to_string(std::hash<std::string>{}(id) % 1000000);
    return out;
}

// Where a problem's viewer page goes, relative to the pages folder: one folder per run (and seed)
// and benchmark.
std::string page_path(const ReportRun& run, size_t run_index, size_t folder, const std::string& bench, const std::string& id) {
    std::string dir = "run" + std::to_string(run_index + 1);
    if (run.folders.size() > 1) dir += "-seed" + std::to_string(run.seeds[folder]);
    return dir + "/" + file_safe(bench) + "/" + file_safe(id) + ".html";
}

// Percent-encodes what a relative URL cannot hold as it is.
std::string url_path(const std::string& path) {
    std::string out;
    for (unsigned char c : path) {
        if (std::isalnum(c) || std::string_view("-._~/").find((char)c) != std::string_view::npos) out += (char)c;
        else out += fmt("%%%02X", c);
    }
    return out;
}

// A benchmark's problems, one row each, one column per run: correct paths of N and the vote,
// linked to the problem's viewer page where the results hold its trace and pages are written.
std::string problems_table(const Report& r, const std::string& bench, const std::string& pages) {
    std::vector<std::string> ids;
    std::set<std::string> seen;
    for (const auto& run : r.runs) {
        auto it = run.problems.find(bench);
        if (it == run.problems.end()) continue;
        for (const auto& p : it->second)
            if (seen.insert(p.id).second) ids.push_back(p.id);
    }
    if (ids.empty()) return "";
    // aime24-2 before aime24-10: digits compare as numbers.
    std::stable_sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
        size_t i = 0, j = 0;
        while (i < a.size() && j < b.size()) {
            if (std::isdigit((unsigned char)a[i]) && std::isdigit((unsigned char)b[j])) {
                size_t ie = i, je = j;
                while (ie < a.size() && std::isdigit((unsigned char)a[ie])) ++ie;
                while (je < b.size() && std::isdigit((unsigned char)b[je])) ++je;
                const std::string x = a.substr(i, ie - i), y = b.substr(j, je - j);
                const size_t xs = x.find_first_not_of('0'), ys = y.find_first_not_of('0');
                const std::string xn = xs == std::string::npos ? "" : x.substr(xs), yn = ys == std::string::npos ? "" : y.substr(ys);
                if (xn.size() != yn.size()) return xn.size() < yn.size();
                if (xn != yn) return xn < yn;
                i = ie;
                j = je;
            } else {
                if (a[i] != b[j]) return a[i] < b[j];
                ++i;
                ++j;
            }
        }
        return a.size() - i < b.size() - j;
    });
    std::string h = "<details class=\"problems\" open=\"\"><summary>Problems (" + std::to_string(ids.size()) +
                    "): correct paths of N and the vote (✓ right, ✗ wrong) per run" +
                    (pages.empty() ? "" : "; a link opens the problem's page (its paths, summaries and routing)") +
                    "</summary>\n<div class=\"table-wrap\"><table class=\"problems\">\n<thead><tr><th>problem</th>";
    for (const auto& run : r.runs) h += "<th>" + html_escape(run.label) + "</th>";
    h += "</tr></thead>\n<tbody>\n";
    for (const auto& id : ids) {
        h += "<tr><td class=\"l\">" + html_escape(id) + "</td>";
        for (size_t k = 0; k < r.runs.size(); ++k) {
            const ReportRun& run = r.runs[k];
            std::string cell;
            auto it = run.problems.find(bench);
            if (it != run.problems.end())
                for (const auto& p : it->second) {
                    if (p.id != id) continue;
                    std::string text = std::to_string(p.correct) + "/" + std::to_string(p.paths) + (p.vote_correct ? " ✓" : " ✗");
                    if (run.folders.size() > 1) text = "seed " + std::to_string(run.seeds[p.folder]) + ": " + text;
                    const std::string cls = p.vote_correct ? "right" : "wrong";
                    if (!cell.empty()) cell += "<br>";
                    if (!pages.empty() && p.has_trace)
                        cell += "<a class=\"" + cls + "\" href=\"" + html_escape(url_path(pages + "/" + page_path(run, k, p.folder, bench, p.id))) +
                                "\" data-problem=\"" + html_escape(p.id) + "\">" + html_escape(text) + "</a>";
                    else
                        cell += "<span class=\"" + cls + "\">" + html_escape(text) + "</span>";
                }
            h += "<td>" + (cell.empty() ? std::string(kDash) : cell) + "</td>";
        }
        h += "</tr>\n";
    }
    return h + "</tbody>\n</table></div>\n</details>\n";
}

std::string intervals_note(const Report& r) {
    return "Intervals: " + fmt("%.0f", 100 * 0.95) + "% percentile bootstrap, B = " + std::to_string(r.options.bootstrap) +
           ", over problems; for a run with several seeds, over problems and seeds (docs/metrics.md). "
           "Tokens are per problem, summed over its N paths (and averaged over seeds); wall is the run's "
           "elapsed wall time (for results written before leap recorded it, the sum of the problems' wall times, "
           "which over-counts when problems ran at once); tok/s is sampled tokens (reasoning, summaries, answers) "
           "over that wall time, as in leap eval's progress lines and table. The reference check column grades "
           "the same texts as the reference implementation does (last \\boxed{} or else last number, substring "
           "match; docs/grading.md); LeaP-S representatives scores only each group's continuing path, as the "
           "reference does.";
}

std::vector<std::string> bench_notes(const Report& r, const std::string& bench) {
    std::vector<std::string> notes;
    for (const auto& run : r.runs) {
        auto it = run.notes.find(bench);
        if (it != run.notes.end()) notes.push_back(run.label + ": " + it->second);
    }
    bool dagger = false;
    if (r.options.paper)
        for (const auto& run : r.runs)
            if (differs_from_paper_setting(run.identity) && paper_pass1(run.paper_model, "leap", bench)) dagger = true;
    if (dagger) notes.push_back("† the paper's number is for dispersed top-4 routing; this run routes differently.");
    return notes;
}

std::vector<std::vector<std::string>> paper_rows() {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : kPaper)
        rows.push_back({p.model, bench_title(p.bench), fmt("%.2f", p.leap), fmt("%.2f", p.baseline)});
    return rows;
}
const std::vector<std::string> kPaperHeader = {"model", "benchmark", "LeaP (dispersed top-4)", "baseline (independent)"};

// ---------------------------------------------------------------------------------------------
// SVG charts

// Two palettes that share no colour, so a colour means one thing on the whole page: runs (bars of
// the accuracy charts, outlines in the tokens chart) and token kinds (the tokens chart's stacks;
// the first four are the trace viewer's, src/viewer/viewer.css, so a problem's page reads the same).
const char* kRunColors[] = {"#00798c", "#c1272d", "#3d405b", "#e377c2", "#8c564b",
                            "#a8a12a", "#17becf", "#222222", "#f4a582", "#92c5de"};
const char* kKindColors[] = {"#4a78c2", "#d98a00", "#7b52ab", "#2e8b57", "#9a9aa2",
                             "#c9a227", "#5f9ea0", "#a0522d", "#708090", "#bc8f8f"};

std::string num(double v) { return fmt("%.1f", v); }

// The charts are drawn for a page of kChartWidth px and scale with it (width 100%, viewBox), so
// they fill the report's column at any window width; the text scales a little with them.
constexpr double kChartWidth = 1200;

struct Layout {
    double ml = 64, mr = 16, mt = 36, ph = 240, xlab = 34;
    double width = kChartWidth, plot_w = 0, group_w = 0, bw = 0;
    int groups = 0, bars = 0;
    double bar_x(int g, int b) const { return ml + g * group_w + (group_w - bars * bw) / 2 + b * bw; }
    double base() const { return mt + ph; }
    // Labels too wide for a bar stand upright above it.
    bool upright_values() const { return bw < 40; }
};

Layout layout(int groups, int bars) {
    Layout L;
    L.groups = std::max(groups, 1);
    L.bars = std::max(bars, 1);
    L.plot_w = L.width - L.ml - L.mr;
    L.group_w = L.plot_w / L.groups;
    // Bars fill 80% of their group, at most 64 px each: a few runs do not make slabs.
    L.bw = std::min(64.0, 0.8 * L.group_w / L.bars);
    if (L.upright_values()) L.mt += 34;  // room for an upright label over a full bar
    return L;
}

// The value printed on a bar: above it, or upright when bars are narrow. `for_bar` ties it to
// its bar (data-for = the bar's data-bar) so a reader or a test can match the two.
std::string value_label(const Layout& L, double cx, double top_y, const std::string& text, const std::string& for_bar) {
    if (L.upright_values())
        return "<text class=\"value\" data-for=\"" + for_bar + "\" transform=\"translate(" + num(cx + 4) + "," + num(top_y - 4) +
               ") rotate(-90)\" text-anchor=\"start\">" + html_escape(text) + "</text>\n";
    return "<text class=\"value\" data-for=\"" + for_bar + "\" x=\"" + num(cx) + "\" y=\"" + num(top_y - 5) +
           "\" text-anchor=\"middle\">" + html_escape(text) + "</text>\n";
}

// Axes, horizontal grid lines and tick labels for [0, top], the benchmark names under the groups.
std::string axes(const Layout& L, const Report& r, double top, double step, const std::string& ylabel,
                 const std::string& title, double bench_dy) {
    std::string s;
    s += "<text class=\"title\" x=\"" + num(L.ml) + "\" y=\"20\">" + html_escape(title) + "</text>\n";
    for (double v = 0; v <= top + step / 1000; v += step) {
        const double y = L.base() - L.ph * v / top;
        s += "<line class=\"grid\" stroke=\"#e4e4e4\" x1=\"" + num(L.ml) + "\" y1=\"" + num(y) + "\" x2=\"" + num(L.ml + L.plot_w) +
             "\" y2=\"" + num(y) + "\"/>\n";
        s += "<text class=\"tick\" x=\"" + num(L.ml - 6) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
             fmt("%.0f", v) + "</text>\n";
    }
    s += "<line class=\"axis\" stroke=\"#333\" x1=\"" + num(L.ml) + "\" y1=\"" + num(L.mt) + "\" x2=\"" + num(L.ml) + "\" y2=\"" +
         num(L.base()) + "\"/>\n";
    s += "<line class=\"axis\" stroke=\"#333\" x1=\"" + num(L.ml) + "\" y1=\"" + num(L.base()) + "\" x2=\"" + num(L.ml + L.plot_w) +
         "\" y2=\"" + num(L.base()) + "\"/>\n";
    s += "<text class=\"ylabel\" transform=\"translate(16," + num(L.mt + L.ph / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + html_escape(ylabel) + "</text>\n";
    for (size_t g = 0; g < r.benches.size(); ++g) {
        const double cx = L.ml + g * L.group_w + L.group_w / 2;
        s += "<text class=\"bench\" x=\"" + num(cx) + "\" y=\"" + num(L.base() + bench_dy) + "\" text-anchor=\"middle\">" +
             html_escape(bench_title(r.benches[g])) + "</text>\n";
    }
    return s;
}

std::string svg_open(double width, double height, const std::string& id, const std::string& label) {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"" + id + "\" width=\"" + num(width) + "\" height=\"" +
           num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
           "\" preserveAspectRatio=\"xMinYMin meet\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"" +
           html_escape(label) + "\">\n";
}

// Legend entries laid out in columns across the chart's width: (colour or "" for none, text).
// Returns the SVG and the height used.
std::pair<std::string, double> legend(const Layout& L, double top, const std::vector<std::pair<std::string, std::string>>& items,
                                      const std::string& paper_entry = "") {
    size_t longest = 0;
    for (const auto& [c, t] : items) longest = std::max(longest, t.size());
    // ~7 px a character at 12 px; columns of the longest entry, as many as fit.
    const double col_w = std::min(L.plot_w, 24 + 7.0 * (double)longest);
    const int cols = std::max(1, (int)(L.plot_w / col_w));
    std::string s;
    int row = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        const int c = (int)i % cols;
        row = (int)i / cols;
        const double x = L.ml + c * col_w, y = top + row * 18;
        s += "<rect class=\"legend\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"12\" height=\"12\" fill=\"" +
             items[i].first + "\"/>\n";
        s += "<text class=\"legend\" x=\"" + num(x + 18) + "\" y=\"" + num(y + 10) + "\">" + html_escape(items[i].second) +
             "</text>\n";
    }
    double used = items.empty() ? 0 : (row + 1) * 18;
    if (!paper_entry.empty()) {
        const double y = top + used, cx = L.ml + 6;
        s += "<path class=\"paper\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\" d=\"M" + num(cx) + " " + num(y) + " L" +
             num(cx + 6) + " " + num(y + 6) + " L" + num(cx) + " " + num(y + 12) + " L" + num(cx - 6) + " " + num(y + 6) + " Z\"/>\n";
        s += "<text class=\"legend\" x=\"" + num(L.ml + 18) + "\" y=\"" + num(y + 10) + "\">" + html_escape(paper_entry) + "</text>\n";
        used += 18;
    }
    return {s, used};
}

// Pass@1 or Cons@N per benchmark, one bar per run, [0, 100] %, with CI error bars and the mean
// printed on each bar; with paper_marks the paper's Pass@1 as a diamond on the run's bar.
std::string accuracy_chart(const Report& r, bool cons, const std::string& id) {
    const int R = (int)r.runs.size();
    const std::string metric = cons ? "Cons@N" : "Pass@1";
    const bool paper_marks = r.options.paper && !cons;
    const std::string title = metric + " per benchmark, % (bars: mean; whiskers: 95% CI)";
    const std::string paper_legend = std::string("paper's Pass@1: ") + kCitation;
    const Layout L = layout((int)r.benches.size(), R);
    std::vector<std::pair<std::string, std::string>> items;
    for (int b = 0; b < R; ++b) items.push_back({kRunColors[b % 10], r.runs[b].label});
    const double legend_top = L.base() + L.xlab;
    const auto [legend_svg, legend_h] = legend(L, legend_top, items, paper_marks ? paper_legend : "");
    const double height = legend_top + legend_h + 10;
    std::string s = svg_open(L.width, height, id, metric + " per benchmark and run");
    s += axes(L, r, 100, 20, metric + " (%)", title, 20);
    for (size_t g = 0; g < r.benches.size(); ++g) {
        const std::string& bench = r.benches[g];
        for (int b = 0; b < R; ++b) {
            const ReportRun& run = r.runs[b];
            const double x = L.bar_x((int)g, b), cx = x + L.bw / 2;
            const std::string bar_id = id + "-" + std::to_string(g) + "-" + std::to_string(b);
            auto it = run.benches.find(bench);
            if (it == run.benches.end()) {
                s += "<text class=\"missing\" x=\"" + num(cx) + "\" y=\"" + num(L.base() - 4) +
                     "\" text-anchor=\"middle\">" + kDash + "<title>" + html_escape(run.label + " — " + bench_title(bench)) +
                     ": no data</title></text>\n";
            } else {
                const Interval& v = cons ? it->second.cons : it->second.pass1;
                auto y = [&](double frac) { return L.base() - L.ph * std::clamp(frac, 0.0, 1.0); };
                s += "<rect class=\"bar\" data-bar=\"" + bar_id + "\" x=\"" + num(x + 1) + "\" y=\"" + num(y(v.mean)) +
                     "\" width=\"" + num(L.bw - 2) + "\" height=\"" + num(L.base() - y(v.mean)) + "\" fill=\"" +
                     kRunColors[b % 10] + "\"><title>" +
                     html_escape(run.label + " — " + bench_title(bench) + ": " + metric + " " + pct_ci(v)) + "</title></rect>\n";
                s += "<path class=\"ci\" stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\" d=\"M" + num(cx) + " " + num(y(v.lo)) +
                     " V" + num(y(v.hi)) + " M" + num(cx - 4) + " " + num(y(v.lo)) + " H" + num(cx + 4) + " M" + num(cx - 4) +
                     " " + num(y(v.hi)) + " H" + num(cx + 4) + "\"/>\n";
                // Above the whisker, so neither hides the other.
                s += value_label(L, cx, std::min(y(v.mean), y(v.hi)), fmt("%.1f", 100 * v.mean), bar_id);
            }
            if (paper_marks) {
                const auto p = paper_pass1(run.paper_model, config_str(run.identity, "method"), bench);
                if (p) {
                    const double py = L.base() - L.ph * *p / 100;
                    s += "<path class=\"paper\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\" d=\"M" + num(cx) + " " +
                         num(py - 5) + " L" + num(cx + 5) + " " + num(py) + " L" + num(cx) + " " + num(py + 5) + " L" +
                         num(cx - 5) + " " + num(py) + " Z\"><title>" +
                         html_escape("paper (" + run.paper_model + "): " + fmt("%.2f", *p)) + "</title></path>\n";
                }
            }
        }
    }
    return s + legend_svg + "</svg>\n";
}

// A round axis top and tick step for values up to max_v.
std::pair<double, double> nice_scale(double max_v) {
    if (max_v <= 0) return {1, 0.2};
    const double raw = max_v / 5;
    const double p = std::pow(10, std::floor(std::log10(raw)));
    double step = p;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * p >= raw) {
            step = m * p;
            break;
        }
    return {std::ceil(max_v / step) * step, step};
}

// 1234 as "1234", 52345 as "52.3k": a bar's total in a few characters.
std::string tokens_short(double v) { return v >= 10000 ? fmt("%.1fk", v / 1000) : fmt("%.0f", v); }

// Tokens per problem per benchmark and run, stacked by kind, the total printed on each bar.
std::string tokens_chart(const Report& r, const std::string& id) {
    const int R = (int)r.runs.size();
    const std::string title = "Tokens per problem, all paths, by kind (bars numbered by run)";
    const Layout L = layout((int)r.benches.size(), R);
    std::vector<std::string> kinds = kKinds;
    double max_total = 0;
    for (const auto& run : r.runs)
        for (const auto& [bench, s] : run.benches) {
            double total = 0;
            for (const auto& [k, v] : s.tokens_per_problem) {
                if (k == "total") continue;
                total += v;
                if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
            }
            max_total = std::max(max_total, total);
        }
    // Room above the tallest bar for its label.
    const auto [top, step] = nice_scale(max_total * 1.08);
    const int K = (int)kinds.size();
    std::vector<std::pair<std::string, std::string>> kind_items, run_items;
    for (int k = 0; k < K; ++k) kind_items.push_back({kKindColors[k % 10], kinds[k]});
    for (int b = 0; b < R; ++b) run_items.push_back({kRunColors[b % 10], std::to_string(b + 1) + ": " + r.runs[b].label});
    const double legend_top = L.base() + L.xlab + 10;
    const auto [kinds_svg, kinds_h] = legend(L, legend_top, kind_items);
    const double runs_title_y = legend_top + kinds_h + 6;
    const auto [runs_svg, runs_h] = legend(L, runs_title_y + 8, run_items);
    const double height = runs_title_y + 8 + runs_h + 10;
    std::string s = svg_open(L.width, height, id, "tokens per problem per benchmark and run");
    s += axes(L, r, top, step, "tokens per problem", title, 30);
    for (size_t g = 0; g < r.benches.size(); ++g) {
        const std::string& bench = r.benches[g];
        for (int b = 0; b < R; ++b) {
            const ReportRun& run = r.runs[b];
            const double x = L.bar_x((int)g, b), cx = x + L.bw / 2;
            const std::string bar_id = id + "-" + std::to_string(g) + "-" + std::to_string(b);
            s += "<text class=\"runno\" x=\"" + num(cx) + "\" y=\"" + num(L.base() + 14) + "\" text-anchor=\"middle\">" +
                 std::to_string(b + 1) + "</text>\n";
            auto it = run.benches.find(bench);
            if (it == run.benches.end()) {
                s += "<text class=\"missing\" x=\"" + num(cx) + "\" y=\"" + num(L.base() - 4) +
                     "\" text-anchor=\"middle\">" + kDash + "<title>" + html_escape(run.label + " — " + bench_title(bench)) +
                     ": no data</title></text>\n";
                continue;
            }
            const Summary& sm = it->second;
            s += "<g class=\"stack\">\n";
            double acc = 0;
            std::string tip = run.label + " — " + bench_title(bench) + ": tokens per problem";
            for (int k = 0; k < K; ++k) {
                auto t = sm.tokens_per_problem.find(kinds[k]);
                const double v = t == sm.tokens_per_problem.end() ? 0 : t->second;
                if (v <= 0) continue;
                const double y0 = L.base() - L.ph * acc / top, y1 = L.base() - L.ph * (acc + v) / top;
                s += "<rect class=\"seg\" x=\"" + num(x + 1) + "\" y=\"" + num(y1) + "\" width=\"" + num(L.bw - 2) +
                     "\" height=\"" + num(y0 - y1) + "\" fill=\"" + kKindColors[k % 10] + "\"><title>" +
                     html_escape(run.label + " — " + bench_title(bench) + ": " + kinds[k] + " " + fmt("%.0f", v)) +
                     "</title></rect>\n";
                tip += ", " + kinds[k] + " " + fmt("%.0f", v);
                acc += v;
            }
            const double ytop = L.base() - L.ph * acc / top;
            s += "<rect class=\"bar\" data-bar=\"" + bar_id + "\" x=\"" + num(x + 1) + "\" y=\"" + num(ytop) + "\" width=\"" +
                 num(L.bw - 2) + "\" height=\"" + num(L.base() - ytop) + "\" fill=\"none\" stroke=\"" + kRunColors[b % 10] +
                 "\" stroke-width=\"2\"><title>" + html_escape(tip) + "</title></rect>\n</g>\n";
            s += value_label(L, cx, ytop, tokens_short(acc), bar_id);
        }
    }
    s += kinds_svg;
    s += "<text class=\"legend\" x=\"" + num(L.ml) + "\" y=\"" + num(runs_title_y + 4) + "\">bars, left to right in each group (outline colour: run):</text>\n";
    return s + runs_svg + "</svg>\n";
}

const char* kStyle = R"(*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;padding:1.5em 2em;color:#222;max-width:1400px}
.table-wrap{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;margin:0.5em 0 1em 0;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;vertical-align:top}
th{background:#f2f2f2;font-weight:600;white-space:normal;vertical-align:bottom;max-width:9em}th.l{text-align:left}
td{white-space:nowrap}
td.l{text-align:left;white-space:normal;overflow-wrap:anywhere;max-width:24em}
td.w{text-align:left;white-space:normal;overflow-wrap:anywhere;max-width:14em}
td .ci{display:block;color:#666;font-size:0.85em}
td a{text-decoration:none}td a.right{color:#1a7f37}td a.wrong{color:#b42318}
.note{color:#555;font-size:0.9em}
h3{font-size:1em;margin:1em 0 0.2em}
svg.chart{display:block;margin:1em 0;width:100%;height:auto}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#333}svg .ci{stroke:#222;fill:none;stroke-width:1.2}
svg .paper{fill:#fff;stroke:#000;stroke-width:1.5}svg .title{font-weight:bold;font-size:13px}
svg .missing{fill:#888}svg .runno{fill:#555;font-size:10px}svg .value{font-size:11px;fill:#222}
)";

void write_atomic(const fs::path& path, const std::string& text) {
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    const fs::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("cannot write '" + tmp.string() + "'");
        out << text;
        if (!out.flush()) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw Error("cannot write '" + tmp.string() + "' (disk full?)");
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error("cannot write '" + path.string() + "'");
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string bench_title(const std::string& key) {
    if (key == "aime24") return "AIME24";
    if (key == "aime25") return "AIME25";
    if (key == "aimo25") return "AIMO25";
    if (key == "gpqa") return "GPQA-D";
    if (key == "average") return "average";
    return key;
}

std::optional<double> paper_pass1(const std::string& model, const std::string& method, const std::string& bench) {
    if (method != "leap" && method != "independent") return std::nullopt;
    for (const auto& p : kPaper)
        if (model == p.model && bench == p.bench) return method == "leap" ? p.leap : p.baseline;
    return std::nullopt;
}

Report load_report(const std::vector<std::string>& folders, const ReportOptions& options) {
    if (folders.empty()) throw Error("no results folders given");
    if (options.bootstrap < 1) throw Error("--bootstrap must be at least 1, got " + std::to_string(options.bootstrap));
    Report report;
    report.options = options;

    std::vector<Folder> data;
    std::set<std::string> seen;
    for (const auto& f : folders) {
        std::error_code ec;
        const std::string canon = fs::weakly_canonical(f, ec).string();
        if (!seen.insert(ec ? f : canon).second) throw Error("results folder '" + f + "' is given twice");
        data.push_back(read_folder(f, report.warnings));
    }

    // Folders whose identities differ only in config.seed are seeds of one run (a seed already in
    // the group starts a new run: a repeat is not a new seed).
    std::vector<std::vector<size_t>> groups;
    for (size_t i = 0; i < data.size(); ++i) {
        const json key = without_seed(data[i].identity);
        bool placed = false;
        for (auto& g : groups) {
            if (without_seed(data[g[0]].identity) != key) continue;
            if (std::any_of(g.begin(), g.end(), [&](size_t j) { return data[j].seed == data[i].seed; })) continue;
            g.push_back(i);
            placed = true;
            break;
        }
        if (!placed) groups.push_back({i});
    }

    std::set<std::string> benches;
    MetricsOptions mo;
    mo.bootstrap = options.bootstrap;
    mo.seed = options.bootstrap_seed;
    for (const auto& g : groups) {
        ReportRun run;
        run.identity = data[g[0]].identity;
        for (size_t i : g) {
            run.folders.push_back(data[i].path);
            run.seeds.push_back(data[i].seed);
            for (const auto& [bench, lines] : data[i].benches)
                for (const auto& l : lines) {
                    ProblemResult p;
                    p.id = l.id;
                    p.folder = run.folders.size() - 1;
                    p.paths = (int)l.outcome.correct.size();
                    p.correct = (int)std::count(l.outcome.correct.begin(), l.outcome.correct.end(), true);
                    p.vote_correct = l.outcome.consensus_correct;
                    p.has_trace = l.has_trace;
                    run.problems[bench].push_back(std::move(p));
                }
        }
        std::set<std::string> keys;
        for (size_t i : g)
            for (const auto& [bench, lines] : data[i].benches) keys.insert(bench);
        for (const auto& bench : keys) {
            benches.insert(bench);
            std::vector<const Folder*> with;
            std::vector<std::string> without;
            for (size_t i : g) {
                if (data[i].benches.count(bench)) with.push_back(&data[i]);
                else without.push_back(data[i].path);
            }
            // Problems every seed finished, by problem id (as `leap eval` orders them, so the
            // intervals are equal and do not depend on the order the problems finished in).
            std::vector<std::vector<ProblemOutcome>> runs(with.size());
            std::vector<std::map<std::string, const ProblemOutcome*>> by_id(with.size());
            for (size_t r = 0; r < with.size(); ++r)
                for (const auto& l : with[r]->benches.at(bench)) by_id[r][l.id] = &l.outcome;
            int dropped = 0;
            for (const auto& [id, _] : by_id[0]) {
                bool everywhere = true;
                for (size_t r = 1; r < with.size(); ++r) everywhere = everywhere && by_id[r].count(id);
                if (!everywhere) {
                    ++dropped;
                    continue;
                }
                for (size_t r = 0; r < with.size(); ++r) runs[r].push_back(*by_id[r][id]);
            }
            for (size_t r = 1; r < with.size(); ++r)
                for (const auto& [id, o] : by_id[r])
                    if (!by_id[0].count(id)) ++dropped;
            std::string note;
            if (!without.empty()) {
                note = "no results in";
                for (const auto& w : without) note += " '" + w + "'";
                note += "; summarized over the other seeds";
            }
            if (dropped > 0) {
                if (!note.empty()) note += "; ";
                note += std::to_string(dropped) + " problem result(s) left out: only problems finished in every seed are compared";
            }
            if (runs[0].empty()) {
                run.notes[bench] = "no problem finished in every seed" + (note.empty() ? "" : " (" + note + ")");
                continue;
            }
            try {
                run.benches[bench] = summarize_runs(runs, mo);
            } catch (const Error& e) {
                throw Error("'" + with[0]->path + "', " + bench + ": " + e.what());
            }
            if (!note.empty()) run.notes[bench] = note;
        }
        if (options.paper) std::tie(run.paper_model, run.paper_model_assumed) = paper_model_of(run.identity);
        report.runs.push_back(std::move(run));
    }
    report.benches.assign(benches.begin(), benches.end());
    std::stable_sort(report.benches.begin(), report.benches.end(),
                     [](const std::string& a, const std::string& b) { return bench_rank(a) < bench_rank(b); });

    // Labels: method and settings; where two runs would read the same, what differs.
    std::vector<json> identities;
    std::vector<std::string> first_folders;
    for (const auto& run : report.runs) {
        identities.push_back(run.identity);
        first_folders.push_back(run.folders[0]);
    }
    std::vector<std::string> labels = run_labels(identities, first_folders);
    if (options.labels.size() > report.runs.size()) {
        std::string what = std::to_string(options.labels.size()) + " --label values for " +
                           std::to_string(report.runs.size()) + " run(s)";
        if (report.runs.size() < folders.size()) what += " (folders that differ only in the seed are one run)";
        throw Error(what);
    }
    for (size_t i = 0; i < options.labels.size(); ++i) labels[i] = options.labels[i];
    for (size_t i = 0; i < labels.size(); ++i) report.runs[i].label = labels[i];
    return report;
}

std::string report_markdown(const Report& r) {
    std::string md = "# " + md_escape(r.options.title) + "\n\n";
    md += "Generated by `leap report` from " + std::to_string(r.runs.size()) + " run(s). Charts: the HTML version.\n\n";
    md += "## Runs\n\n";
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < r.runs.size(); ++i) rows.push_back(runs_row(r, i));
    md += md_table(runs_header(r), rows, 99) + "\n";
    if (r.benches.empty()) md += "No finished problems in any run.\n\n";
    for (const auto& bench : r.benches) {
        md += "## " + md_escape(bench_title(bench)) + (bench_title(bench) != bench ? " (" + md_escape(bench) + ")" : "") + "\n\n";
        const auto kinds = kinds_for(r, bench);
        rows.clear();
        for (const auto& run : r.runs) rows.push_back(bench_row(r, run, bench, kinds));
        md += md_table(bench_header(r, bench, kinds), rows, 1) + "\n";
        for (const auto& n : bench_notes(r, bench)) md += "- " + md_escape(n) + "\n";
        if (!bench_notes(r, bench).empty()) md += "\n";
    }
    if (r.options.paper) {
        md += "## The paper's numbers\n\n";
        md += std::string("Pass@1 (%) from ") + kCitation +
              ". \"paper Pass@1\" above shows, for a `leap` run, the paper's dispersed top-4 LeaP number and, for an "
              "`independent` run, its baseline, for the paper model named in the Runs table.\n\n";
        md += md_table(kPaperHeader, paper_rows(), 2) + "\n";
    }
    md += md_escape(intervals_note(r)) + "\n";
    if (!r.warnings.empty()) {
        md += "\n## Warnings\n\n";
        for (const auto& w : r.warnings) md += "- " + md_escape(w) + "\n";
    }
    if (has_adaptive_runs(r)) md += adaptive_markdown(r);  // docs/adaptive.md
    return md;
}

std::string report_html(const Report& r, const std::string& pages) {
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                    html_escape(r.options.title) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n";
    h += "<h1>" + html_escape(r.options.title) + "</h1>\n";
    h += "<p class=\"note\">Generated by <code>leap report</code> from " + std::to_string(r.runs.size()) +
         " run(s).</p>\n";
    h += "<h2>Runs</h2>\n";
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < r.runs.size(); ++i) rows.push_back(runs_row(r, i));
    h += html_table(runs_header(r), rows, 3, {3, 6, 8, 9, 10});
    h += "<h2>Charts</h2>\n";
    if (r.benches.empty()) {
        h += "<p>No finished problems in any run.</p>\n";
    } else {
        h += accuracy_chart(r, false, "chart-pass1");
        h += accuracy_chart(r, true, "chart-cons");
        h += tokens_chart(r, "chart-tokens");
    }
    if (has_adaptive_runs(r)) h += adaptive_html(r);  // docs/adaptive.md
    for (const auto& bench : r.benches) {
        h += "<h2>" + html_escape(bench_title(bench)) +
             (bench_title(bench) != bench ? " <code>" + html_escape(bench) + "</code>" : "") + "</h2>\n";
        const auto kinds = kinds_for(r, bench);
        // Two tables, accuracy then cost, so that neither is wider than a laptop's window.
        const auto header = bench_header(r, bench, kinds);
        const size_t accuracy_columns = header.size() - kinds.size() - 4;  // run ... pass@k
        std::vector<std::vector<std::string>> accuracy, cost;
        for (const auto& run : r.runs) {
            const auto row = bench_row(r, run, bench, kinds);
            accuracy.push_back(head_columns(row, accuracy_columns));
            cost.push_back(tail_columns(row, accuracy_columns));
        }
        h += "<h3>Accuracy</h3>\n" + html_table(head_columns(header, accuracy_columns), accuracy, 1, {accuracy_columns - 1}, "accuracy");
        h += "<h3>Tokens per problem and time</h3>\n" + html_table(tail_columns(header, accuracy_columns), cost, 1, {}, "cost");
        h += problems_table(r, bench, pages);
        const auto notes = bench_notes(r, bench);
        if (!notes.empty()) {
            h += "<ul class=\"note\">\n";
            for (const auto& n : notes) h += "<li>" + html_escape(n) + "</li>\n";
            h += "</ul>\n";
        }
    }
    if (r.options.paper) {
        h += "<h2>The paper's numbers</h2>\n<p class=\"note\">Pass@1 (%) from " + html_escape(kCitation) +
             ". The paper column and the diamonds in the Pass@1 chart show, for a <code>leap</code> run, the paper's "
             "dispersed top-4 LeaP number and, for an <code>independent</code> run, its baseline, for the paper model "
             "named in the Runs table.</p>\n";
        h += html_table(kPaperHeader, paper_rows(), 2);
    }
    h += "<p class=\"note\">" + html_escape(intervals_note(r)) + "</p>\n";
    if (!r.warnings.empty()) {
        h += "<h2>Warnings</h2>\n<ul class=\"note\">\n";
        for (const auto& w : r.warnings) h += "<li>" + html_escape(w) + "</li>\n";
        h += "</ul>\n";
    }
    return h + "</body>\n</html>\n";
}

namespace {

// The viewer page of every problem whose results line holds its trace, under `dir`, at the
// paths report_html links to.
void write_problem_pages(const Report& report, const fs::path& dir) {
    for (size_t k = 0; k < report.runs.size(); ++k) {
        const ReportRun& run = report.runs[k];
        for (size_t f = 0; f < run.folders.size(); ++f) {
            json run_json;
            const fs::path run_file = fs::path(run.folders[f]) / "run.json";
            try {
                run_json = json::parse(slurp(run_file.string(), "run description"));
            } catch (const json::exception& e) {
                throw Error("'" + run_file.string() + "' is not JSON (" + e.what() + ")");
            }
            for (const auto& [bench, problems] : run.problems) {
                std::set<std::string> wanted;
                for (const auto& p : problems)
                    if (p.folder == f && p.has_trace) wanted.insert(p.id);
                if (wanted.empty()) continue;
                const std::string file = (fs::path(run.folders[f]) / (bench + ".jsonl")).string();
                for (const json& line : read_results_lines(file)) {
                    if (!line.contains("id") || !line["id"].is_string() || !wanted.count(line["id"].get<std::string>())) continue;
                    if (!line_has_trace(line)) continue;
                    const std::string id = line["id"].get<std::string>();
                    write_atomic(dir / page_path(run, k, f, bench, id), viewer::page_with_trace(trace_of_line(line, run_json)));
                }
            }
        }
    }
}

}  // namespace

void write_report(const Report& report, const std::string& out_prefix) {
    if (out_prefix.empty()) throw Error("the output prefix (-o) is empty");
    // The problems' pages first: the report that links to them appears once they are there.
    const fs::path pages = out_prefix + "-problems";
    bool any_trace = false;
    for (const auto& run : report.runs)
        for (const auto& [bench, problems] : run.problems)
            for (const auto& p : problems) any_trace = any_trace || p.has_trace;
    if (any_trace) write_problem_pages(report, pages);
    write_atomic(out_prefix + ".md", report_markdown(report));
    write_atomic(out_prefix + ".html", report_html(report, any_trace ? pages.filename().string() : ""));
}

}  // namespace leap
