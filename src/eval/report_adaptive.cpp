#include "eval/report_adaptive.h"

#include <algorithm>
#include <cstdio>

namespace leap {

namespace {

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}
std::string pct_ci(const Interval& i) {
    return fmt("%.1f", 100 * i.mean) + " [" + fmt("%.1f", 100 * i.lo) + ", " + fmt("%.1f", 100 * i.hi) + "]";
}
double tokens(const Summary& s) {
    const auto it = s.tokens_per_problem.find("total");
    return it == s.tokens_per_problem.end() ? 0.0 : it->second;
}
bool adaptive(const nlohmann::json& identity) {
    if (!identity.contains("config") || !identity["config"].is_object()) return false;
    const auto& c = identity["config"];
    const std::string router = c.contains("router") && c["router"].is_string() ? c["router"].get<std::string>() : "";
    return c.contains("confidence") || c.contains("early_exit_quorum") || c.contains("prune_share") ||
           router.rfind("confident", 0) == 0;
}

std::vector<std::string> header() {
    return {"run", "tok/problem", "Pass@1 % [95% CI]", "Cons@N % [95% CI]", "Cons@N confidence-weighted %",
            "stopped paths/problem", "confidence AUROC", "confidence right / wrong"};
}

std::vector<std::vector<std::string>> rows(const Report& r, const std::string& bench) {
    std::vector<std::vector<std::string>> out;
    for (const auto& run : r.runs) {
        const auto it = run.benches.find(bench);
        if (it == run.benches.end()) continue;
        const Summary& s = it->second;
        out.push_back({run.label, fmt("%.0f", tokens(s)), pct_ci(s.pass1), pct_ci(s.cons),
                       s.cons_confidence ? pct_ci(*s.cons_confidence) : "-", fmt("%.2f", s.stopped_per_problem),
                       s.confidence_auroc ? fmt("%.3f", *s.confidence_auroc) : "-",
                       s.confidence_auroc ? fmt("%.3f", s.confidence_correct) + " / " + fmt("%.3f", s.confidence_wrong)
                                          : "-"});
    }
    return out;
}

std::string names(const Report& r, const std::vector<size_t>& idx) {
    std::string s;
    for (size_t i : idx) s += (s.empty() ? "" : "; ") + r.runs[i].label;
    return s;
}

const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                         "#b07aa1", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"};

// Pass@1 (circles) and Cons@N (squares) against tokens per problem, whiskers the 95% intervals.
std::string chart(const Report& r, const std::string& bench, const std::string& id) {
    struct Point { size_t run; double x; const Summary* s; };
    std::vector<Point> pts;
    for (size_t i = 0; i < r.runs.size(); ++i) {
        const auto it = r.runs[i].benches.find(bench);
        if (it != r.runs[i].benches.end()) pts.push_back({i, tokens(it->second), &it->second});
    }
    if (pts.empty()) return "";
    double xmax = 0;
    for (const auto& p : pts) xmax = std::max(xmax, p.x);
    xmax = xmax <= 0 ? 1 : xmax * 1.08;
    const double ml = 64, mt = 36, pw = 480, ph = 260, W = 760;
    const double H = mt + ph + 44 + 18.0 * (double)pts.size() + 10;
    auto X = [&](double v) { return ml + pw * v / xmax; };
    auto Y = [&](double v) { return mt + ph * (1 - v); };
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + id + "\" width=\"" + fmt("%.0f", W) +
                    "\" height=\"" + fmt("%.0f", H) + "\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" "
                    "aria-label=\"accuracy versus tokens per problem\">\n";
    s += "<text class=\"title\" x=\"" + fmt("%.0f", ml) + "\" y=\"20\">" +
         html_escape(bench_title(bench) + ": accuracy vs tokens per problem (circle Pass@1, square Cons@N; 95% CI)") +
         "</text>\n";
    for (int t = 0; t <= 10; t += 2) {
        const double y = Y(t / 10.0);
        s += "<line stroke=\"#e4e4e4\" x1=\"" + fmt("%.1f", ml) + "\" y1=\"" + fmt("%.1f", y) + "\" x2=\"" +
             fmt("%.1f", ml + pw) + "\" y2=\"" + fmt("%.1f", y) + "\"/>\n";
        s += "<text x=\"" + fmt("%.1f", ml - 6) + "\" y=\"" + fmt("%.1f", y + 4) + "\" text-anchor=\"end\">" +
             fmt("%.0f", t * 10.0) + "</text>\n";
    }
    for (int t = 0; t <= 4; ++t) {
        const double v = xmax * t / 4, x = X(v);
        s += "<text x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", mt + ph + 16) + "\" text-anchor=\"middle\">" +
             fmt("%.0f", v) + "</text>\n";
    }
    s += "<line stroke=\"#333\" x1=\"" + fmt("%.1f", ml) + "\" y1=\"" + fmt("%.1f", mt + ph) + "\" x2=\"" +
         fmt("%.1f", ml + pw) + "\" y2=\"" + fmt("%.1f", mt + ph) + "\"/>\n";
    s += "<line stroke=\"#333\" x1=\"" + fmt("%.1f", ml) + "\" y1=\"" + fmt("%.1f", mt) + "\" x2=\"" + fmt("%.1f", ml) +
         "\" y2=\"" + fmt("%.1f", mt + ph) + "\"/>\n";
    s += "<text x=\"" + fmt("%.1f", ml + pw / 2) + "\" y=\"" + fmt("%.1f", mt + ph + 32) +
         "\" text-anchor=\"middle\">tokens per problem (all kinds, summed over paths)</text>\n";
    s += "<text transform=\"translate(16," + fmt("%.1f", mt + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">%</text>\n";
    for (size_t k = 0; k < pts.size(); ++k) {
        const Point& p = pts[k];
        const std::string c = kColors[p.run % 10];
        const double x = X(p.x);
        for (const Interval* iv : {&p.s->pass1, &p.s->cons})
            s += "<line stroke=\"" + c + "\" x1=\"" + fmt("%.1f", x) + "\" y1=\"" + fmt("%.1f", Y(iv->lo)) + "\" x2=\"" +
                 fmt("%.1f", x) + "\" y2=\"" + fmt("%.1f", Y(iv->hi)) + "\"/>\n";
        s += "<circle class=\"pass1\" cx=\"" + fmt("%.1f", x) + "\" cy=\"" + fmt("%.1f", Y(p.s->pass1.mean)) +
             "\" r=\"4\" fill=\"" + c + "\"><title>" + html_escape(r.runs[p.run].label) + ": Pass@1 " +
             fmt("%.1f", 100 * p.s->pass1.mean) + "%, " + fmt("%.0f", p.x) + " tokens</title></circle>\n";
        s += "<rect class=\"cons\" x=\"" + fmt("%.1f", x - 4) + "\" y=\"" + fmt("%.1f", Y(p.s->cons.mean) - 4) +
             "\" width=\"8\" height=\"8\" fill=\"" + c + "\"><title>" + html_escape(r.runs[p.run].label) + ": Cons@N " +
             fmt("%.1f", 100 * p.s->cons.mean) + "%</title></rect>\n";
        const double ly = mt + ph + 50 + 18.0 * (double)k;
        s += "<rect x=\"" + fmt("%.1f", ml) + "\" y=\"" + fmt("%.1f", ly - 9) + "\" width=\"10\" height=\"10\" fill=\"" + c +
             "\"/><text x=\"" + fmt("%.1f", ml + 16) + "\" y=\"" + fmt("%.1f", ly) + "\">" +
             html_escape(r.runs[p.run].label) + "</text>\n";
    }
    return s + "</svg>\n";
}

}  // namespace

bool has_adaptive_runs(const Report& r) {
    return std::any_of(r.runs.begin(), r.runs.end(), [](const ReportRun& run) { return adaptive(run.identity); });
}

std::vector<size_t> frontier(const Report& r, const std::string& bench, bool cons) {
    std::vector<size_t> out;
    auto get = [&](size_t i) -> const Summary* {
        const auto it = r.runs[i].benches.find(bench);
        return it == r.runs[i].benches.end() ? nullptr : &it->second;
    };
    for (size_t i = 0; i < r.runs.size(); ++i) {
        const Summary* a = get(i);
        if (!a) continue;
        const double acc_a = cons ? a->cons.mean : a->pass1.mean;
        bool beaten = false;
        for (size_t j = 0; j < r.runs.size() && !beaten; ++j) {
            const Summary* b = get(j);
            if (j == i || !b) continue;
            const double acc_b = cons ? b->cons.mean : b->pass1.mean;
            beaten = acc_b >= acc_a && tokens(*b) <= tokens(*a) && (acc_b > acc_a || tokens(*b) < tokens(*a));
        }
        if (!beaten) out.push_back(i);
    }
    return out;
}

std::string adaptive_html(const Report& r) {
    std::string h = "<h2>Confidence-aware options</h2>\n<p class=\"note\">Experimental (docs/adaptive.md). Paths stopped "
                    "early (early exit, pruning before a block) have no answer and are left out of Pass@1 and Cons@N; "
                    "their tokens count. AUROC: how often a right path is more confident than a wrong one (0.5: no "
                    "signal).</p>\n";
    for (const auto& bench : r.benches) {
        const auto rs = rows(r, bench);
        h += "<h3>" + html_escape(bench_title(bench)) + "</h3>\n<table>\n<thead><tr>";
        for (const auto& c : header()) h += "<th>" + html_escape(c) + "</th>";
        h += "</tr></thead>\n<tbody>\n";
        for (const auto& row : rs) {
            h += "<tr>";
            for (size_t i = 0; i < row.size(); ++i) h += std::string(i == 0 ? "<td class=\"l\">" : "<td>") + html_escape(row[i]) + "</td>";
            h += "</tr>\n";
        }
        h += "</tbody>\n</table>\n";
        h += chart(r, bench, "chart-accuracy-tokens-" + bench);
        h += "<p class=\"note\">Not beaten on Pass@1 and tokens: " + html_escape(names(r, frontier(r, bench, false))) +
             ". On Cons@N and tokens: " + html_escape(names(r, frontier(r, bench, true))) + ".</p>\n";
    }
    return h;
}

std::string adaptive_markdown(const Report& r) {
    std::string md = "## Confidence-aware options\n\nExperimental (docs/adaptive.md). Stopped paths have no answer and "
                     "are left out of Pass@1 and Cons@N; their tokens count. The chart: the HTML version.\n\n";
    for (const auto& bench : r.benches) {
        md += "### " + bench_title(bench) + "\n\n|";
        for (const auto& c : header()) md += " " + c + " |";
        md += "\n|";
        for (size_t i = 0; i < header().size(); ++i) md += i == 0 ? " --- |" : " ---: |";
        md += "\n";
        for (const auto& row : rows(r, bench)) {
            md += "|";
            for (const auto& c : row) md += " " + c + " |";
            md += "\n";
        }
        md += "\nNot beaten on Pass@1 and tokens: " + names(r, frontier(r, bench, false)) +
              ". On Cons@N and tokens: " + names(r, frontier(r, bench, true)) + ".\n\n";
    }
    return md;
}

}  // namespace leap
