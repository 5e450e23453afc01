// leap report: synthetic results folders in the docs/results.md format, summarized and rendered.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "core/error.h"
#include "eval/metrics.h"
#include "eval/outcome.h"
#include "eval/report.h"
#include "eval/results_trace.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A results line: one char per path, '1' correct; the vote is correct when most paths are.
json line(const std::string& bench, int index, const std::string& paths, double wall_s = 3.0) {
    json ps = json::array();
    int correct = 0;
    for (char c : paths) {
        ps.push_back({{"answer", c == '1' ? "7" : "8"},
                      {"correct", c == '1'},
                      {"finish", "stop"},
                      {"tokens", {{"reasoning", 100}, {"summary", 10}, {"injected", 20}, {"answer", 5}}}});
        correct += c == '1';
    }
    const int n = (int)paths.size();
    const json vote = {{"answer", "7"}, {"votes", correct}, {"voters", n}, {"correct", 2 * correct > n}};
    return {{"id", bench + "-" + std::to_string(index)},
            {"bench", bench},
            {"index", index},
            {"gold", "7"},
            {"multiple_choice", false},
            {"paths", ps},
            {"vote", vote},
            {"shortest_majority", vote},
            {"tokens", {{"prompt", 40}, {"reasoning", 100 * n}, {"summary", 10 * n}, {"injected", 20 * n}, {"answer", 5 * n}}},
            {"trace", json::object()},
            {"timings", {{"wall_s", wall_s}, {"paths_done_s", json::array()}}}};
}

json identity(const std::string& method, uint64_t seed, const std::string& model = "tiny.gguf",
              const std::string& router = "dispersed", int top_k = 2) {
    return {{"model", model},
            {"config",
             {{"method", method}, {"paths", 2}, {"segment_tokens", 64}, {"segments", 3}, {"summary_tokens", 16},
              {"answer_tokens", 16}, {"single_block", 0}, {"router", router}, {"top_k", top_k},
              {"similarity", "levenshtein"}, {"reference_parity", false}, {"seed", seed}}},
            {"prompts", "builtin"},
            {"shuffle_options", true},
            {"shuffle_seed", 0},
            {"limit", 0}};
}

// Writes RUN/run.json and RUN/<bench>.jsonl, one line per pattern entry.
std::string make_run(const std::string& name, const json& id, const std::map<std::string, std::vector<std::string>>& benches) {
    const fs::path dir = fs::path(LEAP_TEST_TMP) / "report" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "run.json") << json{{"identity", id}, {"leap_version", "test"}}.dump(2) << "\n";
    for (const auto& [bench, problems] : benches) {
        std::ofstream out(dir / (bench + ".jsonl"));
        for (size_t i = 0; i < problems.size(); ++i) out << line(bench, (int)i, problems[i]).dump() << "\n";
    }
    return dir.string();
}

std::vector<leap::ProblemOutcome> outcomes(const std::string& bench, const std::vector<std::string>& problems) {
    std::vector<leap::ProblemOutcome> out;
    for (size_t i = 0; i < problems.size(); ++i) out.push_back(leap::outcome_of(line(bench, (int)i, problems[i])));
    return out;
}

// The Markdown table row whose first cell is `label` under the "## <title>" section.
std::string md_row(const std::string& md, const std::string& section, const std::string& label) {
    const size_t at = md.find("\n## " + section);
    if (at == std::string::npos) return "";
    const size_t end = md.find("\n## ", at + 1);
    const std::string part = md.substr(at, end == std::string::npos ? std::string::npos : end - at);
    const size_t row = part.find("\n| " + label + " |");
    if (row == std::string::npos) return "";
    return part.substr(row + 1, part.find('\n', row + 1) - row - 1);
}

// Strict well-formedness of the generated page: every tag closed in order (void elements and
// self-closed "/>" excepted), attribute values quoted, no stray '<' or '&' in text.
std::string check_markup(const std::string& html) {
    static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "link", "input"};
    std::vector<std::string> stack;
    size_t i = 0;
    if (html.rfind("<!DOCTYPE html>", 0) != 0) return "no doctype";
    i = html.find('>') + 1;
    static const std::regex entity("&(amp|lt|gt|quot|#39);");
    while (i < html.size()) {
        if (html[i] == '&') {
            std::smatch m;
            const std::string rest = html.substr(i, 8);
            if (!std::regex_search(rest, m, entity) || m.position(0) != 0)
                return "bare & at " + std::to_string(i) + ": " + html.substr(i, 20);
            ++i;
            continue;
        }
        if (html[i] != '<') {
            if (html[i] == '>') return "bare > at " + std::to_string(i);
            ++i;
            continue;
        }
        // In <style>, skip to </style> (CSS may hold '>').
        if (!stack.empty() && stack.back() == "style") {
            if (html.compare(i, 8, "</style>") != 0) return "'<' inside <style>";
        }
        const size_t close = html.find('>', i);
        if (close == std::string::npos) return "unterminated tag";
        std::string tag = html.substr(i + 1, close - i - 1);
        i = close + 1;
        if (tag.find('<') != std::string::npos) return "'<' inside a tag: " + tag;
        if (!tag.empty() && tag[0] == '/') {
            const std::string name = tag.substr(1);
            if (stack.empty() || stack.back() != name)
                return "</" + name + "> closes <" + (stack.empty() ? "nothing" : stack.back()) + ">";
            stack.pop_back();
            continue;
        }
        const bool self_closed = !tag.empty() && tag.back() == '/';
        if (self_closed) tag.pop_back();
        const std::string name = tag.substr(0, tag.find_first_of(" \n"));
        if (!std::regex_match(name, std::regex("[a-z][a-z0-9]*"))) return "bad tag name '" + name + "'";
        // attributes: name="value" pairs only
        const std::string attrs = tag.substr(name.size());
        if (!std::regex_match(attrs, std::regex("(\\s+[a-zA-Z][a-zA-Z0-9:-]*=\"[^\"<]*\")*\\s*"))) return "bad attributes in <" + tag + ">";
        if (name == "style") {
            const size_t end = html.find("</style>", i);
            if (end == std::string::npos) return "unclosed style";
            i = end;
        }
        if (!self_closed && !kVoid.count(name)) stack.push_back(name);
    }
    if (!stack.empty()) return "unclosed <" + stack.back() + ">";
    return "";
}

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

const std::vector<std::string> kLeapAime = {"11", "10", "00", "10"};   // Pass@1 50.00, Cons@N 25.00
const std::vector<std::string> kIndepAime = {"10", "00", "00", "00"};  // Pass@1 12.50, Cons@N 0.00

TEST(Report, MarkdownTableHoldsTheMetricsOfEachRun) {
    const std::string a = make_run("md-a", identity("leap", 1), {{"aime24", kLeapAime}, {"gpqa", {"11", "01"}}});
    const std::string b = make_run("md-b", identity("independent", 1), {{"aime24", kIndepAime}});
    leap::ReportOptions opt;
    opt.bootstrap = 500;
    const leap::Report r = leap::load_report({a, b}, opt);
    ASSERT_EQ(r.runs.size(), 2u);
    EXPECT_EQ(r.benches, (std::vector<std::string>{"aime24", "gpqa"}));
    EXPECT_EQ(r.runs[0].label, "LeaP, 2 paths, 2 peers (dispersed)");
    EXPECT_EQ(r.runs[1].label, "Independent, 2 paths");

    // The same numbers summarize() gives on the same outcomes (same B and bootstrap seed).
    leap::MetricsOptions mo;
    mo.bootstrap = 500;
    const leap::Summary want = leap::summarize(outcomes("aime24", kLeapAime), mo);
    const leap::Summary& got = r.runs[0].benches.at("aime24");
    EXPECT_DOUBLE_EQ(got.pass1.mean, 0.5);
    EXPECT_DOUBLE_EQ(got.pass1.lo, want.pass1.lo);
    EXPECT_DOUBLE_EQ(got.pass1.hi, want.pass1.hi);
    EXPECT_DOUBLE_EQ(got.cons.mean, 0.25);
    EXPECT_EQ(got.tokens_per_problem.at("reasoning"), 200);

    const std::string md = leap::report_markdown(r);
    char ci[64];
    std::snprintf(ci, sizeof ci, "50.00 [%.1f, %.1f]", 100 * want.pass1.lo, 100 * want.pass1.hi);
    const std::string leap_row = md_row(md, "AIME24", "LeaP, 2 paths, 2 peers (dispersed)");
    ASSERT_FALSE(leap_row.empty()) << md;
    EXPECT_NE(leap_row.find("| 4 | 2 | 1 | " + std::string(ci) + " | 25.00 ["), std::string::npos) << leap_row;
    EXPECT_NE(leap_row.find("| 1: 50.0, 2: 75.0 |"), std::string::npos) << leap_row;  // pass@k
    EXPECT_NE(leap_row.find("| 200 | 20 | 40 | 10 | 40 | 310 | 12.0s | 76.7 | 3.0 |"), std::string::npos) << leap_row;
    EXPECT_NE(md_row(md, "AIME24", "Independent, 2 paths").find("| 12.50 ["), std::string::npos) << md;
    EXPECT_NE(md_row(md, "GPQA-D", "LeaP, 2 paths, 2 peers (dispersed)").find("| 75.00 ["), std::string::npos) << md;
    // gpqa is absent from the baseline: a row of dashes, as many cells as the header.
    const std::string dashes = md_row(md, "GPQA-D", "Independent, 2 paths");
    EXPECT_EQ(dashes.rfind("| Independent, 2 paths | — | — | — | — |", 0), 0u) << md;
    EXPECT_EQ(count(dashes, " | "), count(leap_row, " | ")) << dashes;
    EXPECT_EQ(md.find("60.52"), std::string::npos);  // no --paper
}

TEST(Report, FoldersDifferingOnlyInSeedAreSummarizedOverSeeds) {
    const std::vector<std::string> s2 = {"11", "11", "00", "01"};
    const std::string a = make_run("seed-1", identity("leap", 1), {{"aime24", kLeapAime}});
    const std::string b = make_run("seed-2", identity("leap", 2), {{"aime24", s2}});
    const std::string c = make_run("seed-other", identity("leap", 1, "tiny.gguf", "clustered"), {{"aime24", s2}});
    const leap::Report r = leap::load_report({a, b, c}, {});
    ASSERT_EQ(r.runs.size(), 2u);
    EXPECT_EQ(r.runs[0].seeds, (std::vector<uint64_t>{1, 2}));
    const leap::Summary& s = r.runs[0].benches.at("aime24");
    EXPECT_EQ(s.runs, 2);
    const leap::Summary want = leap::summarize_runs({outcomes("aime24", kLeapAime), outcomes("aime24", s2)});
    EXPECT_DOUBLE_EQ(s.pass1.mean, (0.5 + 0.625) / 2);
    EXPECT_DOUBLE_EQ(s.pass1.lo, want.pass1.lo);
    EXPECT_DOUBLE_EQ(s.pass1.hi, want.pass1.hi);
    EXPECT_EQ(r.runs[1].label, "LeaP, 2 paths, 2 peers (clustered)");
    EXPECT_NE(md_row(leap::report_markdown(r), "AIME24", "LeaP, 2 paths, 2 peers (dispersed)").find("| 4 | 2 | 2 | 56.25 ["),
              std::string::npos);

    // A seed that finished fewer problems: only the problems every seed finished are compared.
    const std::string d = make_run("seed-3-short", identity("leap", 3), {{"aime24", {"00", "00"}}});
    const leap::Report r2 = leap::load_report({a, d}, {});
    ASSERT_EQ(r2.runs.size(), 1u);
    EXPECT_EQ(r2.runs[0].benches.at("aime24").n, 2);
    EXPECT_DOUBLE_EQ(r2.runs[0].benches.at("aime24").pass1.mean, (0.75 + 0) / 2);
    EXPECT_NE(r2.runs[0].notes.at("aime24").find("2 problem result(s) left out"), std::string::npos);
}

TEST(Report, LabelsDisambiguateAndOverride) {
    const std::string a = make_run("lab-a", identity("leap", 1, "small.gguf"), {{"aime24", kLeapAime}});
    const std::string b = make_run("lab-b", identity("leap", 1, "big.gguf"), {{"aime24", kLeapAime}});
    const leap::Report r = leap::load_report({a, b}, {});
    EXPECT_EQ(r.runs[0].label, "LeaP, 2 paths, 2 peers (dispersed), model small.gguf");
    EXPECT_EQ(r.runs[1].label, "LeaP, 2 paths, 2 peers (dispersed), model big.gguf");

    leap::ReportOptions opt;
    opt.labels = {"mine <&> \"x\""};
    const leap::Report o = leap::load_report({a, b}, opt);
    EXPECT_EQ(o.runs[0].label, "mine <&> \"x\"");
    EXPECT_EQ(o.runs[1].label, "LeaP, 2 paths, 2 peers (dispersed), model big.gguf");
    opt.labels = {"1", "2", "3"};
    EXPECT_THROW(leap::load_report({a, b}, opt), leap::Error);

    // A float setting (stored from a float) reads as written, not at full double precision.
    json hot = identity("leap", 1), cold = identity("leap", 1);
    hot["config"]["temperature"] = 1.0;
    cold["config"]["temperature"] = (double)0.6f;
    const leap::Report t = leap::load_report({make_run("lab-hot", hot, {{"aime24", kLeapAime}}),
                                              make_run("lab-cold", cold, {{"aime24", kLeapAime}})}, {});
    EXPECT_EQ(t.runs[0].label, "LeaP, 2 paths, 2 peers (dispersed), temperature 1");
    EXPECT_EQ(t.runs[1].label, "LeaP, 2 paths, 2 peers (dispersed), temperature 0.6");
}

TEST(Report, HtmlIsWellFormedEscapedAndHoldsThreeCharts) {
    const std::string a = make_run("html-a", identity("leap", 1, "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", "dispersed", 4),
                                   {{"aime24", kLeapAime}, {"gpqa", {"11", "01"}}});
    const std::string b = make_run("html-b", identity("independent", 1), {{"aime24", kIndepAime}});
    leap::ReportOptions opt;
    opt.labels = {"ours", "base <&> 'q' \"x\""};
    opt.paper = true;
    opt.title = "T <1> & 2";
    const leap::Report r = leap::load_report({a, b}, opt);
    EXPECT_EQ(r.runs[0].paper_model, "R1-Distill-Qwen-7B");
    EXPECT_FALSE(r.runs[0].paper_model_assumed);
    EXPECT_TRUE(r.runs[1].paper_model_assumed);
    const std::string html = leap::report_html(r);
    EXPECT_EQ(check_markup(html), "");
    EXPECT_EQ(count(html, "<svg "), 3);
    EXPECT_EQ(count(html, "</svg>"), 3);
    EXPECT_EQ(count(html, "<rect class=\"bar\""), 3 * 3);  // 3 charts x (2 runs x 2 benches - 1 missing)
    EXPECT_NE(html.find("base &lt;&amp;&gt; &#39;q&#39; &quot;x&quot;"), std::string::npos);
    EXPECT_EQ(html.find("<&>"), std::string::npos);
    EXPECT_NE(html.find("<title>T &lt;1&gt; &amp; 2</title>"), std::string::npos);
    // The paper: leap aime24 60.52 and gpqa 55.56, baseline aime24 51.35 and gpqa 46.91 (drawn
    // even where our run has no gpqa data); four diamonds plus the legend's.
    for (const char* v : {"60.52", "55.56", "51.35", "46.91", "2505.07787"}) EXPECT_NE(html.find(v), std::string::npos) << v;
    EXPECT_EQ(count(html, "<path class=\"paper\""), 4 + 1);
    // The leap run uses the paper's setting (dispersed top-4): no dagger in its paper cell.
    const std::string md = leap::report_markdown(r);
    EXPECT_NE(md_row(md, "AIME24", "ours").find("| 60.52 |"), std::string::npos) << md;
    EXPECT_NE(md.find("base \\<\\&\\> 'q' \"x\""), std::string::npos) << md;
    EXPECT_NE(md.find("Q4_K_M"), std::string::npos);  // an inner underscore is left alone
}

TEST(Report, PaperNumbers) {
    EXPECT_EQ(leap::paper_pass1("R1-Distill-Qwen-7B", "leap", "aime24"), 60.52);
    EXPECT_EQ(leap::paper_pass1("R1-Distill-Qwen-7B", "independent", "aime24"), 51.35);
    EXPECT_EQ(leap::paper_pass1("R1-Distill-Qwen-7B", "leap", "aime25"), 38.44);
    EXPECT_EQ(leap::paper_pass1("R1-Distill-Qwen-7B", "independent", "aimo25"), 37.50);
    EXPECT_EQ(leap::paper_pass1("R1-Distill-Qwen-7B", "leap", "gpqa"), 55.56);
    EXPECT_EQ(leap::paper_pass1("R1-Distill-Qwen-14B", "leap", "aime24"), 77.29);
    EXPECT_EQ(leap::paper_pass1("R1-Distill-Qwen-14B", "independent", "aime24"), 64.47);
    EXPECT_EQ(leap::paper_pass1("QwQ-32B", "leap", "average"), 72.00);
    EXPECT_FALSE(leap::paper_pass1("R1-Distill-Qwen-14B", "leap", "gpqa").has_value());
    EXPECT_FALSE(leap::paper_pass1("R1-Distill-Qwen-7B", "leap-t", "aime24").has_value());
    EXPECT_EQ(leap::html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST(Report, ReadsWithoutModifyingAndNamesBadInput) {
    const std::string a = make_run("bad-a", identity("leap", 1), {{"aime24", kLeapAime}});
    const fs::path file = fs::path(a) / "aime24.jsonl";
    // A run still appending: a last line without its newline is skipped, the file left alone.
    { std::ofstream(file, std::ios::app) << "{\"id\":\"aime24-9\",\"paths\":["; }
    const auto size = fs::file_size(file);
    const leap::Report r = leap::load_report({a}, {});
    EXPECT_EQ(fs::file_size(file), size);
    EXPECT_EQ(r.runs[0].benches.at("aime24").n, 4);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("line 5"), std::string::npos) << r.warnings[0];

    { std::ofstream(file, std::ios::app) << "\n"; }  // now a whole line, but not a results line
    try {
        leap::load_report({a}, {});
        FAIL() << "no error";
    } catch (const leap::Error& e) {
        EXPECT_NE(std::string(e.what()).find("aime24.jsonl', line 5"), std::string::npos) << e.what();
    }
    try {
        leap::load_report({(fs::path(LEAP_TEST_TMP) / "report" / "no-such-run").string()}, {});
        FAIL() << "no error";
    } catch (const leap::Error& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-run"), std::string::npos) << e.what();
    }
    fs::remove(fs::path(a) / "run.json");
    EXPECT_THROW(leap::load_report({a}, {}), leap::Error);
    const std::string b = make_run("bad-b", identity("leap", 1), {{"aime24", kLeapAime}});
    EXPECT_THROW(leap::load_report({b, b}, {}), leap::Error);  // the same folder twice
}

TEST(Report, WritesBothFilesAtomicallyIntoNewFolders) {
    const std::string a = make_run("write-a", identity("leap", 1), {{"aime24", kLeapAime}});
    const fs::path out = fs::path(LEAP_TEST_TMP) / "report" / "out" / "x" / "y";
    fs::remove_all(out.parent_path().parent_path());
    leap::write_report(leap::load_report({a}, {}), (out / "rep").string());
    EXPECT_NE(read(out / "rep.md").find("| 50.00 ["), std::string::npos);
    EXPECT_EQ(check_markup(read(out / "rep.html")), "");
    int files = 0;
    for (const auto& e : fs::directory_iterator(out)) files += e.is_regular_file();
    EXPECT_EQ(files, 2);  // no temporary left
}

TEST(Report, ComputeMatchedBaselineIsNamedAfterTheRunWhoseBudgetItHas) {
    // LeaP, N=2, T=64, M=3, S=16, A=16, k=2: 2 x (3 x 64 + 2 x 16 x 3 + 16) = 608 tokens; independent
    // paths of 3 x 64 + 16 = 208 need 3 paths (--match-budget paths) or, at N=2, 5 segments (length).
    json by_paths = identity("independent", 1), by_length = identity("independent", 1), other = identity("independent", 1);
    by_paths["config"]["paths"] = 3;
    by_length["config"]["segments"] = 5;
    other["config"]["paths"] = 3;
    other["config"]["summary_tokens"] = 32;  // not what the flags of the LeaP run say
    const leap::Report r = leap::load_report({make_run("match-leap", identity("leap", 1), {{"aime24", kLeapAime}}),
                                              make_run("match-paths", by_paths, {{"aime24", kIndepAime}}),
                                              make_run("match-length", by_length, {{"aime24", kIndepAime}}),
                                              make_run("match-other", other, {{"aime24", kIndepAime}})}, {});
    EXPECT_EQ(r.runs[1].label, "Independent, 3 paths (LeaP's token budget)");
    EXPECT_EQ(r.runs[2].label, "Independent, 2 paths, 5 segments (LeaP's token budget)");
    EXPECT_EQ(r.runs[3].label, "Independent, 3 paths");
    for (const auto& run : r.runs) EXPECT_EQ(run.label.find('='), std::string::npos) << run.label;
}

// The values of attribute `attr` of every element whose opening tag starts with `start`.
std::vector<std::string> attrs_of(const std::string& html, const std::string& start, const std::string& attr) {
    std::vector<std::string> out;
    for (size_t at = html.find(start); at != std::string::npos; at = html.find(start, at + 1)) {
        const std::string tag = html.substr(at, html.find('>', at) - at);
        const size_t v = tag.find(" " + attr + "=\"");
        if (v != std::string::npos) out.push_back(tag.substr(v + attr.size() + 3, tag.find('"', v + attr.size() + 3) - v - attr.size() - 3));
    }
    return out;
}

TEST(Report, EveryBarHasItsValueAndRunsAndTokenKindsShareNoColour) {
    const std::string a = make_run("bars-a", identity("leap", 1), {{"aime24", kLeapAime}, {"gpqa", {"11", "01"}}});
    const std::string b = make_run("bars-b", identity("independent", 1), {{"aime24", kIndepAime}});
    const std::string html = leap::report_html(leap::load_report({a, b}, {}));
    EXPECT_EQ(check_markup(html), "");
    const auto bars = attrs_of(html, "<rect class=\"bar\"", "data-bar");
    ASSERT_EQ(bars.size(), 3u * 3);
    const auto values = attrs_of(html, "<text class=\"value\"", "data-for");
    EXPECT_EQ(std::set<std::string>(values.begin(), values.end()), std::set<std::string>(bars.begin(), bars.end()));
    // The Pass@1 bars print their means: 50.0 and 75.0 (LeaP), 12.5 (the baseline).
    for (const char* v : {">50.0</text>", ">75.0</text>", ">12.5</text>"}) EXPECT_NE(html.find(v), std::string::npos) << v;
    std::set<std::string> run_colours, kind_colours;
    for (const auto& c : attrs_of(html, "<rect class=\"bar\"", "fill")) run_colours.insert(c);
    for (const auto& c : attrs_of(html, "<rect class=\"bar\"", "stroke")) run_colours.insert(c);
    for (const auto& c : attrs_of(html, "<rect class=\"seg\"", "fill")) kind_colours.insert(c);
    run_colours.erase("none");
    EXPECT_EQ(run_colours.size(), 2u);
    EXPECT_GE(kind_colours.size(), 4u);
    for (const auto& c : run_colours) EXPECT_EQ(kind_colours.count(c), 0u) << c << " means a run and a token kind";
    // The charts scale with the page.
    EXPECT_EQ(count(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\""), 3);
    EXPECT_NE(html.find("svg.chart{display:block;margin:1em 0;width:100%"), std::string::npos);
}

// A results line that holds its trace, as leap eval writes it.
json traced_line(const std::string& bench, int index, const std::string& paths) {
    json l = line(bench, index, paths);
    json tpaths = json::array();
    for (size_t i = 0; i < paths.size(); ++i)
        tpaths.push_back({{"path", i}, {"finish", "end-of-thinking"}, {"segments", {"seg </script> " + std::to_string(i)}},
                          {"blocks", json::array()}, {"answer", "\\boxed{7}"}, {"text", "t"}, {"tokens", {{"reasoning", 100}}}});
    l["trace"] = {{"id", l["id"]}, {"index", index}, {"problem", "What is 3 + 4?"}, {"choices", json::object()}, {"paths", tpaths}};
    return l;
}

TEST(Report, LinksEachProblemToItsViewerPageWhereResultsHoldTraces) {
    const fs::path dir = fs::path(LEAP_TEST_TMP) / "report" / "pages";
    fs::remove_all(dir);
    fs::create_directories(dir / "run");
    std::ofstream(dir / "run" / "run.json") << json{{"identity", identity("leap", 1)}, {"leap_version", "test"}}.dump() << "\n";
    {
        std::ofstream out(dir / "run" / "aime24.jsonl");
        out << traced_line("aime24", 0, "10").dump() << "\n" << traced_line("aime24", 1, "11").dump() << "\n";
    }
    const std::string untraced = make_run("pages-untraced", identity("independent", 1), {{"aime24", kIndepAime}});
    const leap::Report r = leap::load_report({(dir / "run").string(), untraced}, {});
    leap::write_report(r, (dir / "out" / "rep").string());
    const std::string html = read(dir / "out" / "rep.html");
    EXPECT_EQ(check_markup(html), "");
    const auto links = attrs_of(html, "<a class=", "href");
    ASSERT_EQ(links.size(), 2u) << html;  // the traced run's two problems; the other run has no traces
    EXPECT_EQ(links[0], "rep-problems/run1/aime24/aime24-0.html");
    EXPECT_NE(html.find("data-problem=\"aime24-1\">2/2 ✓</a>"), std::string::npos);
    for (const auto& l : links) {
        const std::string page = read(dir / "out" / l);
        ASSERT_FALSE(page.empty()) << l;
        EXPECT_NE(page.find("<script id=\"leap-trace\" type=\"application/json\">{"), std::string::npos);
        EXPECT_EQ(page.find("seg </script>"), std::string::npos);  // the data cannot end its element
    }
    // Without pages (report_html alone), no link.
    EXPECT_EQ(leap::report_html(r).find("<a class="), std::string::npos);
}

TEST(ResultsTrace, ALineBecomesATraceWithTheVoteItsMajorityAndTheGrades) {
    json l = traced_line("aime24", 3, "101");
    l["paths"][1]["answer"] = "8";
    json run = {{"identity", identity("leap", 1)}, {"leap_version", "9.9"}};
    const json t = leap::trace_of_line(l, run);
    EXPECT_EQ(t["config"]["method"], "leap");
    EXPECT_EQ(t["model"], "tiny.gguf");
    EXPECT_EQ(t["leap_version"], "9.9");
    ASSERT_EQ(t["problems"].size(), 1u);
    const json& p = t["problems"][0];
    EXPECT_EQ(p["id"], "aime24-3");
    EXPECT_EQ(p["answers"], json::array({"7", "8", "7"}));
    EXPECT_EQ(p["vote"]["answer"], "7");
    EXPECT_EQ(p["vote"]["majority"], json::array({0, 2}));
    EXPECT_EQ(p["correct"], json::array({true, false, true}));
    EXPECT_EQ(p["gold"], "7");
    EXPECT_EQ(p["vote_correct"], true);
    EXPECT_EQ(p["paths"].size(), 3u);
    // A line without a trace, or of a problem that was not run, is refused naming the problem.
    json bare = line("aime24", 4, "11");
    EXPECT_FALSE(leap::line_has_trace(bare));
    try {
        leap::trace_of_line(bare, run);
        FAIL() << "no error";
    } catch (const leap::Error& e) {
        EXPECT_NE(std::string(e.what()).find("aime24-4"), std::string::npos) << e.what();
    }
}

TEST(Report, ARunOfSeveralSeedsLinksEachSeedsPage) {
    const fs::path dir = fs::path(LEAP_TEST_TMP) / "report" / "pages-seeds";
    fs::remove_all(dir);
    std::vector<std::string> folders;
    for (int seed : {1, 2}) {
        const fs::path run = dir / ("seed" + std::to_string(seed));
        fs::create_directories(run);
        std::ofstream(run / "run.json") << json{{"identity", identity("leap", seed)}, {"leap_version", "test"}}.dump() << "\n";
        std::ofstream(run / "aime24.jsonl") << traced_line("aime24", 0, seed == 1 ? "11" : "00").dump() << "\n";
        folders.push_back(run.string());
    }
    const leap::Report r = leap::load_report(folders, {});
    ASSERT_EQ(r.runs.size(), 1u);
    leap::write_report(r, (dir / "rep").string());
    const std::string html = read(dir / "rep.html");
    EXPECT_EQ(attrs_of(html, "<a class=", "href"),
              (std::vector<std::string>{"rep-problems/run1-seed1/aime24/aime24-0.html", "rep-problems/run1-seed2/aime24/aime24-0.html"}));
    EXPECT_NE(html.find(">seed 1: 2/2 ✓</a><br><a class=\"wrong\""), std::string::npos) << html;
    // Each seed's page holds that seed's run: its settings name the seed.
    for (int seed : {1, 2}) {
        const std::string page = read(dir / ("rep-problems/run1-seed" + std::to_string(seed)) / "aime24" / "aime24-0.html");
        EXPECT_NE(page.find("\"seed\":" + std::to_string(seed)), std::string::npos) << seed;
    }
}

}  // namespace
