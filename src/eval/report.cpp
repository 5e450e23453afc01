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

namespace leap {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Reading results folders

struct Line {
    std::string id;
    ProblemOutcome outcome;
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

// Flattens nested objects to "a.b" keys, for naming what differs between two runs.
void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
        return;
    }
    if (j.is_number_float()) {  // settings stored as float read 0.6000000238418579 at full precision
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", j.get<double>());
        out[prefix] = buf;
        return;
    }
    out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
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

std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       size_t left) {
    std::string out = "<table>\n<thead><tr>";
    for (const auto& h : header) out += "<th>" + html_escape(h) + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (size_t i = 0; i < row.size(); ++i)
            out += std::string(i < left ? "<td class=\"l\">" : "<td>") + html_escape(row[i]) + "</td>";
        out += "</tr>\n";
    }
    return out + "</tbody>\n</table>\n";
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

const char* kRunColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                            "#b07aa1", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"};
const char* kKindColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#bab0ac",
                             "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7"};

std::string num(double v) { return fmt("%.1f", v); }

struct Layout {
    double ml = 64, mr = 16, mt = 36, ph = 240, bw = 22, gap = 28, xlab = 34;
    double width = 0, plot_w = 0;
    int groups = 0, bars = 0;
    double group_w() const { return bars * bw + gap; }
    double bar_x(int g, int b) const { return ml + g * group_w() + gap / 2 + b * bw; }
    double base() const { return mt + ph; }
};

// Approximate width of a line of 12px sans-serif text (UTF-8 continuation bytes not counted).
double text_w(const std::string& t) {
    return 7.0 * (double)std::count_if(t.begin(), t.end(), [](char c) { return ((unsigned char)c & 0xC0) != 0x80; });
}

// min_width: room the title and legend lines need.
Layout layout(int groups, int bars, double min_width) {
    Layout L;
    L.groups = groups;
    L.bars = std::max(bars, 1);
    L.plot_w = std::max(groups * L.group_w(), 320.0);
    if (groups * L.group_w() < L.plot_w) L.gap = (L.plot_w / std::max(groups, 1)) - L.bars * L.bw;
    L.width = std::max(L.ml + L.plot_w + L.mr, min_width);
    return L;
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
    for (int g = 0; g < L.groups; ++g) {
        const double cx = L.ml + g * L.group_w() + L.group_w() / 2;
        s += "<text class=\"bench\" x=\"" + num(cx) + "\" y=\"" + num(L.base() + bench_dy) + "\" text-anchor=\"middle\">" +
             html_escape(bench_title(r.benches[g])) + "</text>\n";
    }
    return s;
}

std::string svg_open(double width, double height, const std::string& id, const std::string& label) {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + id + "\" width=\"" + num(width) + "\" height=\"" +
           num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"" +
           html_escape(label) + "\">\n";
}

// Pass@1 or Cons@N per benchmark, one bar per run, [0, 100] %, with CI error bars; with
// paper_marks the paper's Pass@1 as a diamond on the run's bar.
std::string accuracy_chart(const Report& r, bool cons, const std::string& id) {
    const int R = (int)r.runs.size();
    const std::string metric = cons ? "Cons@N" : "Pass@1";
    const bool paper_marks = r.options.paper && !cons;
    const std::string title = metric + " per benchmark (bars: mean; whiskers: 95% CI)";
    const std::string paper_legend = std::string("paper's Pass@1: ") + kCitation;
    double min_w = 64 + text_w(title) + 16;
    for (const auto& run : r.runs) min_w = std::max(min_w, 64 + 18 + text_w(run.label) + 16);
    if (paper_marks) min_w = std::max(min_w, 64 + 18 + text_w(paper_legend) + 16);
    const Layout L = layout((int)r.benches.size(), R, min_w);
    const int legend_rows = R + (paper_marks ? 1 : 0);
    const double legend_top = L.base() + L.xlab;
    const double height = legend_top + legend_rows * 18 + 10;
    std::string s = svg_open(L.width, height, id, metric + " per benchmark and run");
    s += axes(L, r, 100, 20, metric + " (%)", title, 20);
    for (int g = 0; g < L.groups; ++g) {
        const std::string& bench = r.benches[g];
        for (int b = 0; b < R; ++b) {
            const ReportRun& run = r.runs[b];
            const double x = L.bar_x(g, b), cx = x + L.bw / 2;
            auto it = run.benches.find(bench);
            if (it == run.benches.end()) {
                s += "<text class=\"missing\" x=\"" + num(cx) + "\" y=\"" + num(L.base() - 4) +
                     "\" text-anchor=\"middle\">" + kDash + "<title>" + html_escape(run.label + " — " + bench_title(bench)) +
                     ": no data</title></text>\n";
            } else {
                const Interval& v = cons ? it->second.cons : it->second.pass1;
                auto y = [&](double frac) { return L.base() - L.ph * std::clamp(frac, 0.0, 1.0); };
                s += "<rect class=\"bar\" x=\"" + num(x + 1) + "\" y=\"" + num(y(v.mean)) + "\" width=\"" +
                     num(L.bw - 2) + "\" height=\"" + num(L.base() - y(v.mean)) + "\" fill=\"" + kRunColors[b % 10] +
                     "\"><title>" + html_escape(run.label + " — " + bench_title(bench) + ": " + metric + " " + pct_ci(v)) +
                     "</title></rect>\n";
                s += "<path class=\"ci\" stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\" d=\"M" + num(cx) + " " + num(y(v.lo)) + " V" + num(y(v.hi)) + " M" +
                     num(cx - 4) + " " + num(y(v.lo)) + " H" + num(cx + 4) + " M" + num(cx - 4) + " " + num(y(v.hi)) +
                     " H" + num(cx + 4) + "\"/>\n";
            }
            if (paper_marks) {
                const auto p = paper_pass1(run.paper_model, config_str(run.identity, "method"), bench);
                if (p) {
                    const double py = L.base() - L.ph * *p / 100;
                    s += "<path class=\"paper\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\" d=\"M" + num(cx) + " " + num(py - 5) + " L" + num(cx + 5) + " " +
                         num(py) + " L" + num(cx) + " " + num(py + 5) + " L" + num(cx - 5) + " " + num(py) +
                         " Z\"><title>" + html_escape("paper (" + run.paper_model + "): " + fmt("%.2f", *p)) +
                         "</title></path>\n";
                }
            }
        }
    }
    for (int b = 0; b < R; ++b) {
        const double y = legend_top + b * 18;
        s += "<rect class=\"legend\" x=\"" + num(L.ml) + "\" y=\"" + num(y) + "\" width=\"12\" height=\"12\" fill=\"" +
             kRunColors[b % 10] + "\"/>\n";
        s += "<text class=\"legend\" x=\"" + num(L.ml + 18) + "\" y=\"" + num(y + 10) + "\">" +
             html_escape(r.runs[b].label) + "</text>\n";
    }
    if (paper_marks) {
        const double y = legend_top + R * 18, cx = L.ml + 6;
        s += "<path class=\"paper\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\" d=\"M" + num(cx) + " " + num(y) + " L" + num(cx + 6) + " " + num(y + 6) + " L" +
             num(cx) + " " + num(y + 12) + " L" + num(cx - 6) + " " + num(y + 6) + " Z\"/>\n";
        s += "<text class=\"legend\" x=\"" + num(L.ml + 18) + "\" y=\"" + num(y + 10) + "\">" +
             html_escape(paper_legend) + "</text>\n";
    }
    return s + "</svg>\n";
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

// Tokens per problem per benchmark and run, stacked by kind.
std::string tokens_chart(const Report& r, const std::string& id) {
    const int R = (int)r.runs.size();
    const std::string title = "Tokens per problem, all paths, by kind";
    double min_w = 64 + text_w(title) + 16;
    for (int b = 0; b < R; ++b)
        min_w = std::max(min_w, 64 + 18 + text_w(std::to_string(b + 1) + " = " + r.runs[b].label) + 16);
    const Layout L = layout((int)r.benches.size(), R, min_w);
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
    const auto [top, step] = nice_scale(max_total);
    const int K = (int)kinds.size();
    const double legend_top = L.base() + L.xlab + 10;
    const double height = legend_top + (K + 1 + R) * 18 + 10;
    std::string s = svg_open(L.width, height, id, "tokens per problem per benchmark and run");
    s += axes(L, r, top, step, "tokens per problem", title, 30);
    for (int g = 0; g < L.groups; ++g) {
        const std::string& bench = r.benches[g];
        for (int b = 0; b < R; ++b) {
            const ReportRun& run = r.runs[b];
            const double x = L.bar_x(g, b), cx = x + L.bw / 2;
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
            s += "<rect class=\"bar\" x=\"" + num(x + 1) + "\" y=\"" + num(ytop) + "\" width=\"" + num(L.bw - 2) +
                 "\" height=\"" + num(L.base() - ytop) + "\" fill=\"none\" stroke=\"" + kRunColors[b % 10] +
                 "\"><title>" + html_escape(tip) + "</title></rect>\n</g>\n";
        }
    }
    for (int k = 0; k < K; ++k) {
        const double y = legend_top + k * 18;
        s += "<rect class=\"legend\" x=\"" + num(L.ml) + "\" y=\"" + num(y) + "\" width=\"12\" height=\"12\" fill=\"" +
             kKindColors[k % 10] + "\"/>\n";
        s += "<text class=\"legend\" x=\"" + num(L.ml + 18) + "\" y=\"" + num(y + 10) + "\">" + html_escape(kinds[k]) +
             "</text>\n";
    }
    s += "<text class=\"legend\" x=\"" + num(L.ml) + "\" y=\"" + num(legend_top + K * 18 + 10) +
         "\">bars, left to right in each group:</text>\n";
    for (int b = 0; b < R; ++b)
        s += "<text class=\"legend\" x=\"" + num(L.ml + 18) + "\" y=\"" + num(legend_top + (K + 1 + b) * 18 + 10) +
             "\">" + html_escape(std::to_string(b + 1) + " = " + r.runs[b].label) + "</text>\n";
    return s + "</svg>\n";
}

const char* kStyle = R"(body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f2f2f2}td.l{text-align:left}
.note{color:#555;font-size:0.9em}
svg{display:block;margin:1em 0;font-size:12px}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#333}svg .ci{stroke:#222;fill:none;stroke-width:1.2}
svg .paper{fill:#fff;stroke:#000;stroke-width:1.5}svg .title{font-weight:bold;font-size:13px}
svg .missing{fill:#888}svg .runno{fill:#555;font-size:10px}
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

std::string run_label(const json& identity) {
    const std::string method = config_str(identity, "method");
    std::string label = method.empty() ? "run" : method;
    const std::string paths = config_str(identity, "paths");
    if (!paths.empty()) label += " N=" + paths;
    if (method != "independent") {
        const std::string router = config_str(identity, "router"), k = config_str(identity, "peers");
        if (!router.empty()) label += " " + router;
        if (!k.empty()) label += " k=" + k;
        if (method == "single") label += " block=" + config_str(identity, "single_block");
    }
    return label;
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

    // Labels: method and settings; where two runs would read the same, add what differs.
    std::vector<std::string> labels;
    for (const auto& run : report.runs) labels.push_back(run_label(run.identity));
    for (size_t i = 0; i < labels.size(); ++i) {
        std::vector<size_t> same;
        for (size_t j = 0; j < labels.size(); ++j)
            if (labels[j] == labels[i]) same.push_back(j);
        if (same.size() < 2) continue;
        std::vector<std::map<std::string, std::string>> flat(same.size());
        for (size_t s = 0; s < same.size(); ++s) flatten(without_seed(report.runs[same[s]].identity), "", flat[s]);
        std::set<std::string> differing;
        for (size_t s = 1; s < same.size(); ++s)
            for (const auto& m : {flat[0], flat[s]})
                for (const auto& [k, v] : m) {
                    auto a = flat[0].find(k), b = flat[s].find(k);
                    if (a == flat[0].end() || b == flat[s].end() || a->second != b->second) differing.insert(k);
                }
        for (size_t s = 0; s < same.size(); ++s) {
            std::string extra;
            for (const auto& k : differing) {
                auto it = flat[s].find(k);
                const std::string shortk = k.rfind("config.", 0) == 0 ? k.substr(7) : k;
                extra += " " + shortk + "=" + (it == flat[s].end() ? std::string("none") : it->second);
            }
            if (differing.empty()) extra = " (" + fs::path(report.runs[same[s]].folders[0]).filename().string() + ")";
            labels[same[s]] += extra;
        }
    }
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

std::string report_html(const Report& r) {
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                    html_escape(r.options.title) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n";
    h += "<h1>" + html_escape(r.options.title) + "</h1>\n";
    h += "<p class=\"note\">Generated by <code>leap report</code> from " + std::to_string(r.runs.size()) +
         " run(s).</p>\n";
    h += "<h2>Runs</h2>\n";
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < r.runs.size(); ++i) rows.push_back(runs_row(r, i));
    h += html_table(runs_header(r), rows, 99);
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
        rows.clear();
        for (const auto& run : r.runs) rows.push_back(bench_row(r, run, bench, kinds));
        h += html_table(bench_header(r, bench, kinds), rows, 1);
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

void write_report(const Report& report, const std::string& out_prefix) {
    if (out_prefix.empty()) throw Error("the output prefix (-o) is empty");
    write_atomic(out_prefix + ".md", report_markdown(report));
    write_atomic(out_prefix + ".html", report_html(report));
}

}  // namespace leap
