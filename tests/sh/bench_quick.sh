#!/usr/bin/env bash
# leap bench --quick: the whole comparison (LeaP in both KV layouts with 1 and 2 problems in
# flight, independent sampling, llama-batched-bench, the OpenAI backend over a llama-server the
# bench starts and kills, and the resend pattern: no slot affinity) on a small generated model;
# the JSON has every run's fields and positive ratios, no history was re-evaluated LeaP's way,
# and the resend pattern really made the server evaluate more.
set -euo pipefail
tmp="$LEAP_TEST_TMP/bench_quick"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

"$LEAP" bench --quick --json -t 1 --model-dir "$tmp" -o "$tmp/copy.json" --server-args "-tb 1" \
    > "$tmp/bench.json" 2> "$tmp/bench.err" \
    || fail "leap bench --quick failed: $(tail -20 "$tmp/bench.err")"

python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
d = json.load(open(f"{tmp}/bench.json"))
assert json.load(open(f"{tmp}/copy.json")) == d, "-o wrote something else than --json printed"
r = d["ratios"]
for k in ("leap_vs_ceiling", "leap_vs_independent", "leap_vs_resend", "openai_vs_inprocess", "leap_vs_ceiling_same_work",
          "leap_vs_ceiling_at_depth", "leap_vs_ceiling_at_depth_same_work", "leap_feed_vs_ceiling_prompt"):
    assert isinstance(r.get(k), (int, float)) and r[k] > 0, (k, r)
runs = {x["name"]: x for x in d["runs"]}
for name in ("leap/streams/4", "leap/unified/4", "leap/streams/4/p2", "leap/unified/4/p2", "independent/streams/4",
             "ceiling/streams/4", "ceiling_at_depth/streams/4", "openai/streams/4", "resend/streams/4"):
    assert name in runs, (name, sorted(runs))
fields = ("kind", "layout", "paths", "problems", "seconds", "sampled", "evaluated", "sampled_per_s", "evaluated_per_s", "tokens",
          "history_reevaluated", "mean_batch", "tokens_per_path", "kv_bytes_per_path", "peak_rss_bytes")
for name, x in runs.items():
    for f in fields:
        assert f in x, (name, f)
    if x["kind"] != "resend":
        assert x["history_reevaluated"] == 0, (name, x["history_reevaluated"])
    assert x["sampled"] > 0 and x["seconds"] > 0 and x["kv_bytes_per_path"] > 0 and x["peak_rss_bytes"] > 0, x
    assert x["evaluated"] >= x["sampled"], x
w = d["workload"]
seg, t, s, a = w["segments"], w["segment_tokens"], w["summary_tokens"], w["answer_tokens"]
# Fixed lengths: every path ran its whole reasoning and summary budget (no end-of-generation, no
# end of thinking). A forced answer still ends once its box closes (nothing after it can change the
# grade), which the random model may write before its budget is spent: the answers' lengths
# depend on the text sampled, and that differs between runs whose numerics differ (a server that
# re-evaluates a context in one batch gets slightly other logits than one that fed it piecewise),
# and so do the peers' summaries injected (their text is tokenized again).
def same_work(x, y):
    return all(x["tokens"][k] == y["tokens"][k] for k in ("prompt", "reasoning", "summary")) \
        and 0 < x["tokens"]["answer"] <= 4 * a and 0 < y["tokens"]["answer"] <= 4 * a
leap = runs["leap/streams/4"]
assert leap["tokens"]["reasoning"] == 4 * seg * t, leap["tokens"]
assert leap["tokens"]["summary"] == 4 * (seg - 1) * s and 0 < leap["tokens"]["answer"] <= 4 * a, leap["tokens"]
assert leap["tokens"]["injected"] > 0 and leap["mean_batch"] > 1, leap
ind = runs["independent/streams/4"]
assert ind["tokens"]["reasoning"] == 4 * seg * t and ind["tokens"]["summary"] == 0, ind["tokens"]
assert same_work(runs["openai/streams/4"], leap), (runs["openai/streams/4"]["tokens"], leap["tokens"])
assert runs["ceiling/streams/4"]["decode_per_s"] > 0
# The ceiling at LeaP's depth: LeaP's decode steps attend deeper than the prompt-only ceiling's
# (its peers' summaries stay in context), and the second llama-batched-bench run matches them.
ceil, deep = runs["ceiling/streams/4"], runs["ceiling_at_depth/streams/4"]
assert leap["mean_step_depth"] > ceil["mean_step_depth"] > w["prompt_tokens"], \
    (leap["mean_step_depth"], ceil["mean_step_depth"])
assert abs(deep["mean_step_depth"] - leap["mean_step_depth"]) <= 1, (deep["mean_step_depth"], leap["mean_step_depth"])
assert deep["tokens"]["prompt"] > ceil["tokens"]["prompt"] and deep["decode_per_s"] > 0, (deep, ceil)
assert deep["batched_bench"]["pp"] == deep["tokens"]["prompt"], deep["batched_bench"]
# Two problems in flight: twice the work, in one engine.
p2 = runs["leap/streams/4/p2"]
assert p2["problems"] == 2 and p2["tokens"]["reasoning"] == 2 * 4 * seg * t and 0 < p2["tokens"]["answer"] <= 2 * 4 * a, p2
assert p2["mean_batch"] > leap["mean_batch"], (p2["mean_batch"], leap["mean_batch"])
# d) vs e): the same work; with each path pinned to its slot the server evaluates only new tokens,
# with requests rotating over the slots it re-evaluates what another path left there.
sticky, resend = runs["openai/streams/4"], runs["resend/streams/4"]
assert same_work(resend, leap), (resend["tokens"], leap["tokens"])
for x in (sticky, resend):
    assert x["server_prompt_evaluated"] > 0 and x["server_prompt_cached"] >= 0, x
assert sticky["requests_moved"] == 0 and resend["requests_moved"] > 0, (sticky["requests_moved"], resend["requests_moved"])
assert resend["server_prompt_evaluated"] > 1.5 * sticky["server_prompt_evaluated"], \
    (resend["server_prompt_evaluated"], sticky["server_prompt_evaluated"])
assert resend["history_reevaluated"] > 0, resend
# Where the time went: in-process, llama_decode and sampling fit in the wall time; over HTTP, the
# server's own time per generated token.
for name in ("leap/streams/4", "independent/streams/4"):
    x = runs[name]
    assert x["decode_calls"] > 0 and 0 < x["decode_seconds"] <= x["seconds"] and x["sample_seconds"] > 0, x
    assert x["decode_seconds"] + x["sample_seconds"] <= x["seconds"] * 1.001, x
    # Calls that fed text (the prompt at least) and calls that were only steps.
    assert 1 <= x["append_calls"] < x["decode_calls"] and 0 < x["append_seconds"] <= x["decode_seconds"], x
    assert x["append_call_tokens"] >= x["tokens"]["prompt"], x
# The feeds' rate over the ceiling's prompt rate, from the runs' own figures.
leap, ceil = runs["leap/streams/4"], runs["ceiling/streams/4"]
feed = leap["append_call_tokens"] / leap["append_seconds"] / ceil["prompt_per_s"]
assert abs(r["leap_feed_vs_ceiling_prompt"] - feed) < 1e-9 * feed, (r["leap_feed_vs_ceiling_prompt"], feed)
for x in (sticky, resend):
    assert x["server_ms_per_token"] > 0 and x["http"]["timings"]["server_generated"] > 0, x
# The wall-time target's figures (printed, not asserted: benchmarks only measure).
tg = d["targets"]
assert tg["history_reevaluated"] == 0 and isinstance(tg["wall_target_met"], bool), tg
(x,) = tg["wall_vs_independent"]
assert x["paths"] == 4 and x["extra_sampled_share"] > 0 and x["wall_overhead"] > -1, x
assert abs(x["excess"] - (x["wall_overhead"] - x["extra_sampled_share"] - 0.05)) < 1e-9, x
assert d["model"]["kv_bytes_per_token"] > 0 and w["prompt_tokens"] > 0
assert w["server_args"] == "-tb 1", w
PY
# Each finished run leaves its line on stderr (a bench cut short keeps its figures).
for run in leap/streams/4 leap/unified/4/p2 independent/streams/4 ceiling/streams/4 ceiling_at_depth/streams/4 openai/streams/4 resend/streams/4; do
    grep -q "^bench: $run: [0-9]* sampled, [0-9]* evaluated in .* sampled/s" "$tmp/bench.err" || fail "no progress line for $run"
done
# The table form names every run and ratio.
"$LEAP" bench --quick -t 1 --model-dir "$tmp" --no-openai --no-resend --no-ceiling --problems 1 --depth 2x16 \
    > "$tmp/table.txt" 2>/dev/null \
    || fail "table run failed"
grep -q "^leap/streams/4 " "$tmp/table.txt" && grep -q "^leap_vs_independent: " "$tmp/table.txt" \
    || fail "table: $(cat "$tmp/table.txt")"
if grep -q "leap_vs_ceiling" "$tmp/table.txt"; then fail "--no-ceiling still reported a ceiling ratio"; fi
if grep -q "leap_vs_resend\|/p2 " "$tmp/table.txt"; then fail "--no-resend / --problems 1 ignored"; fi
grep -q "^leap/streams/4: llama_decode [0-9.]*% of the wall time.* calls fed text .* were steps (.* mean depth [0-9]*)" \
    "$tmp/table.txt" || fail "table lacks the time split"
grep -q "^wall vs independent, 4 paths: " "$tmp/table.txt" && grep -q "^history re-evaluated (LeaP runs): 0" "$tmp/table.txt" \
    || fail "table lacks the wall-time target: $(cat "$tmp/table.txt")"
if "$LEAP" bench --quick --depth 3 --no-openai --no-resend --no-ceiling > "$tmp/err.out" 2>&1; then fail "bad --depth accepted"; fi
grep -q "SEGMENTSxT" "$tmp/err.out" && grep -q "long (8x1024)" "$tmp/err.out" || fail "bad --depth: $(cat "$tmp/err.out")"
# --server-args reach llama-server: one it does not know stops the bench with the server's words.
if "$LEAP" bench --quick -t 1 --model-dir "$tmp" --no-resend --no-ceiling --problems 1 --depth 2x16 \
    --server-args "--no-such-server-flag" > "$tmp/args.out" 2>&1; then fail "an unknown llama-server flag was accepted"; fi
grep -q "llama-server did not become ready" "$tmp/args.out" && grep -q -- "--no-such-server-flag" "$tmp/args.out" \
    || fail "bad --server-args: $(tail -5 "$tmp/args.out")"
echo "ok: leap bench --quick reports every comparison with positive ratios"
