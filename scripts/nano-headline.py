#!/usr/bin/env python3
"""The end of `make run`: a headline a newcomer reads at once, a short table, the report's path.

    scripts/nano-headline.py REPORT_HTML LABEL=METRICS_JSON ...

Each METRICS_JSON is `leap eval --json` output ({bench: summary}); the run whose label starts
with "LeaP" is compared with the best run whose label starts with "independent, temperature".
"""
import json
import sys


def pct(x):
    return 100.0 * x


def duration(s):
    if s >= 3600:
        return "%dh%02dm" % (s // 3600, (s // 60) % 60)
    if s >= 60:
        return "%dm%02ds" % (s // 60, s % 60)
    return "%.0fs" % s


def main(argv):
    report, pairs = argv[1], argv[2:]
    rows = []
    for pair in pairs:
        label, path = pair.split("=", 1)
        with open(path) as f:
            metrics = json.load(f)
        (bench, s), = metrics.items()
        rows.append((label, bench, s))
    leap = next((r for r in rows if r[0].startswith("LeaP")), None)
    independent = [r for r in rows if r[0].startswith("independent, temperature")]
    if leap is None or not independent:
        sys.exit("nano-headline: need a LeaP run and an independent run")
    best = max(independent, key=lambda r: r[2]["pass@1"])
    l, b = leap[2], best[2]
    lo_l, hi_l = l["pass@1_ci"]
    lo_b, hi_b = b["pass@1_ci"]
    gap = pct(l["pass@1"] - b["pass@1"])
    if lo_l > hi_b or lo_b > hi_l:
        overlap = "95% intervals do not overlap"
    else:
        overlap = "95% intervals overlap, so the gap is not certain"
    width = max(len(r[0]) for r in rows)
    print()
    print("%-*s  %-22s %-9s %11s %8s %8s" % (width, "run", "Pass@1 % [95% CI]", "Cons@N %", "tok/problem",
                                           "wall", "tok/s"))
    for label, _, s in rows:
        lo, hi = s["pass@1_ci"]
        print("%-*s  %-22s %-9s %11.0f %8s %8.0f" % (
            width, label, "%5.1f [%4.1f, %4.1f]" % (pct(s["pass@1"]), pct(lo), pct(hi)), "%5.1f" % pct(s["cons@n"]),
            s["tokens_per_problem"].get("total", 0.0), duration(s["wall_s"]), s["tokens_per_s"]))
    print("wall: elapsed time of the run; tok/s: sampled tokens over that time")
    print("report: %s" % report)
    print()
    print("%s %.1f%% vs best independent (%s) %.1f%% Pass@1 on %d held-out problems, %+.1f points, %s" % (
        leap[0].split(",")[0], pct(l["pass@1"]), best[0].split(", ", 1)[1], pct(b["pass@1"]), l["n"], gap, overlap))


if __name__ == "__main__":
    main(sys.argv)
