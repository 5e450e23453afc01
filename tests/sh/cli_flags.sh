#!/usr/bin/env bash
# The command line a llama.cpp user knows (docs/cli.md): llama.cpp's flag names on leap solve,
# eval and serve (checked through --print-config, the settings they resolve to), -ngl not read as
# -n gl, llama.cpp flags leap lacks refused with what to use instead, --peers below -N, "did you
# mean", exit status 2 for usage errors and 1 for run-time errors, one spelling of -o/--out and
# one default seed, and tokens/s over real elapsed time; results folders written with the old
# config key (top_k for the peers) still resume and report.
set -euo pipefail
tmp="$LEAP_TEST_TMP/cli_flags"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

# expect STATUS TEXT CMD...: CMD exits with STATUS and its stderr contains TEXT.
expect() {
    local status=$1 text=$2 rc=0
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
    [[ $rc -eq $status ]] || fail "'$*' exited $rc, expected $status: $(cat "$tmp/err")"
    grep -qF -- "$text" "$tmp/err" || fail "'$*': stderr lacks '$text': $(cat "$tmp/err")"
}

# 1. llama.cpp's names, short and long, resolve to the settings on solve, eval and serve.
short=(-ngl 7 --temp 0.25 -s 9 -fa on -ctk q8_0 -ctv q4_0 -c 1234 -t 3 -b 256 -ub 128 --top-k 17 --top-p 0.8
       --min-p 0.07 -N 5 --peers 3)
long=(--n-gpu-layers 7 --temperature 0.25 --seed 9 --flash-attn on --cache-type-k q8_0 --cache-type-v q4_0
      --ctx-size 1234 --threads 3 --batch-size 256 --ubatch-size 128 --top-k 17 --top-p 0.8 --min-p 0.07
      --paths 5 --peers 3)
check_config() {  # file
    python3 - "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
want = {"n_gpu_layers": 7, "seed": 9, "flash_attn": "on", "cache_type_k": "q8_0", "cache_type_v": "q4_0",
        "ctx_size": 1234, "threads": 3, "batch_size": 256, "ubatch_size": 128, "paths": 5, "peers": 3}
for k, v in want.items():
    assert c[k] == v, (k, c[k], v)
s = c["sampling"]
assert s["top_k"] == 17, s
for k, v in {"temperature": 0.25, "top_p": 0.8, "min_p": 0.07}.items():
    assert abs(s[k] - v) < 1e-6, (k, s[k], v)
assert "top_k" not in c, "the peers are 'peers' in the config, not top_k"
PY
}
for cmd in solve eval serve; do
    for form in short long; do
        declare -n flags=$form
        "$LEAP" $cmd "${flags[@]}" --print-config > "$tmp/$cmd-$form.json" 2> "$tmp/err" \
            || fail "$cmd ${flags[*]} --print-config: $(cat "$tmp/err")"
        check_config "$tmp/$cmd-$form.json" || fail "$cmd, $form flags: wrong settings: $(cat "$tmp/$cmd-$form.json")"
    done
done
"$LEAP" serve --host 0.0.0.0 --port 8099 --api-key abcdefgh123 -a named --print-config > "$tmp/serve.json"
python3 - "$tmp/serve.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert (c["host"], c["port"], c["api_key_required"], c["alias"]) == ("0.0.0.0", 8099, True, "named"), c
PY
for v in on off auto 1 0 -1; do
    "$LEAP" solve -fa "$v" --print-config > "$tmp/fa.json" || fail "-fa $v refused"
done
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["flash_attn"]=="auto", c' "$tmp/fa.json"
expect 2 "--flash-attn" "$LEAP" solve -fa maybe --print-config

# 2. -ngl is not -n gl; -ctk is not -c tk; -n (llama.cpp's --n-predict) is refused, never paths.
"$LEAP" solve -ngl 99 -ctk q8_0 --print-config > "$tmp/ngl.json" || fail "-ngl 99 -ctk q8_0 refused"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert (c["n_gpu_layers"], c["cache_type_k"], c["paths"], c["ctx_size"]) == (99, "q8_0", 4, 0), c' "$tmp/ngl.json"
for cmd in solve eval serve; do
    expect 2 "-N/--paths" "$LEAP" $cmd -n 128 --print-config
    expect 2 "--n-predict" "$LEAP" $cmd -n 128 --print-config
    expect 2 "--segment-tokens" "$LEAP" $cmd --n-predict 128 --print-config
done
expect 2 "-N/--paths" "$LEAP" solve -n4 --print-config

# 3. llama.cpp flags leap lacks: refused with what leap uses; renamed leap flags say the new name.
for f in "--repeat-penalty 1.1" "--presence-penalty 0.5" "--frequency-penalty 0.5" "--mirostat 2" \
         "--typical 0.9" "--dry-multiplier 0.8" "--xtc-probability 0.5"; do
    expect 2 "--temp, --top-k, --top-p, --min-p" "$LEAP" solve $f --print-config
done
expect 2 "boxed" "$LEAP" eval --grammar x --print-config
expect 2 "--parallel-problems" "$LEAP" eval -np 4 --print-config
expect 2 "--chat-template-file" "$LEAP" solve --chat-template chatml --print-config
expect 2 "--prompts FILE" "$LEAP" serve -sys "be brief" --print-config
expect 2 "--top-k" "$LEAP" solve --sample-top-k 5 --print-config
expect 2 "-ngl" "$LEAP" solve -g 5 --print-config
expect 2 "leap's short flags are one letter" "$LEAP" solve -xyz --print-config

# 4. --peers must be below -N (a path hears at most the N-1 others); both flags are named.
expect 2 "--peers 4" "$LEAP" solve -N 4 --peers 4 --print-config
expect 2 "-N/--paths 4" "$LEAP" eval -N 4 --peers 40 --print-config
"$LEAP" solve -N 4 --peers 3 --print-config > /dev/null || fail "--peers 3 with -N 4 refused"
"$LEAP" solve -N 2 --print-config > /dev/null || fail "the default peers with -N 2 refused"

# 5. Did you mean; usage errors exit 2, run-time errors 1.
expect 2 "did you mean solve" "$LEAP" slove
expect 2 "did you mean --temp" "$LEAP" solve --tmep 1
expect 2 "did you mean --peers" "$LEAP" eval --peer 2
expect 2 "did you mean --out" "$LEAP" eval --ot x
expect 2 "-o/--out DIR is required" "$LEAP" eval --bench aime24
expect 2 "give exactly one of" "$LEAP" solve
expect 2 "Could not convert" "$LEAP" solve --temp hot
expect 1 "no-such.gguf" "$LEAP" solve -m "$tmp/no-such.gguf" -p "1+1?"
expect 1 "no-such.jsonl" "$LEAP" eval --bench "$tmp/no-such.jsonl" -o "$tmp/none"
"$LEAP" --help > /dev/null || fail "leap --help exited non-zero"
"$LEAP" solve --help > /dev/null || fail "leap solve --help exited non-zero"

# 6. Each --help lists what the subcommand honours; one spelling everywhere.
"$LEAP" serve --help > "$tmp/serve.help"
for f in --match-budget; do
    if grep -qE -- "$f( |,|$)" "$tmp/serve.help"; then fail "serve --help lists $f, which serve does not support"; fi
done
for f in --backend --base-url --tokenizer --upstream-timeout --timeout --retries --share-prompt; do
    grep -qE -- "$f( |,|=|$)" "$tmp/serve.help" || fail "serve --help lacks $f"
done
expect 2 "unknown flag --match-budget" "$LEAP" serve --match-budget paths
# serve --backend openai: the in-process engine's flags are refused, and the servers' flags without it.
expect 2 "--threads applies to the in-process engine only" \
    "$LEAP" serve --backend openai --base-url http://127.0.0.1:9 -t 2 --print-config
expect 2 "--flash-attn applies to the in-process engine only" \
    "$LEAP" serve --backend openai --base-url http://127.0.0.1:9 -fa on --print-config
expect 2 "--base-url applies to --backend openai only" "$LEAP" serve --base-url http://127.0.0.1:9 --print-config
# The same for solve and eval (they ran on and ignored them before).
for cmd in solve eval; do
    expect 2 "--threads applies to the in-process engine only" \
        "$LEAP" $cmd --backend openai --base-url http://127.0.0.1:9 -t 2 --print-config
    expect 2 "--flash-attn applies to the in-process engine only" \
        "$LEAP" $cmd --backend openai --base-url http://127.0.0.1:9 --flash-attn off --print-config
    expect 2 "--kv-unified applies to the in-process engine only" \
        "$LEAP" $cmd --backend openai --base-url http://127.0.0.1:9 --kv-unified --print-config
    expect 2 "--base-url applies to --backend openai only" "$LEAP" $cmd --base-url http://127.0.0.1:9 --print-config
done
"$LEAP" serve --backend openai --base-url http://127.0.0.1:9 --upstream-timeout 7 --timeout 3 --print-config \
    > "$tmp/serve-openai.json" || fail "serve --backend openai --print-config"
python3 - "$tmp/serve-openai.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["backend"] == "openai" and c["base_urls"] == ["http://127.0.0.1:9"], c
assert c["upstream_timeout"] == 7 and c["timeout"] == 3, c
PY
"$LEAP" solve --help > "$tmp/h"; grep -qF -- "--backend" "$tmp/h" || fail "solve --help lacks --backend"
for cmd in make-model eval report nano-data train bench prefix-trap; do
    "$LEAP" $cmd --help > "$tmp/h"; grep -qE -- "-o,--out,--output" "$tmp/h" || fail "$cmd --help lacks -o,--out,--output"
done
for cmd in make-model solve eval serve bench nano-data train; do
    "$LEAP" $cmd --help > "$tmp/h"; grep -qE -- "-s,--seed" "$tmp/h" || fail "$cmd --help lacks -s,--seed"
done
"$LEAP" bench --help > "$tmp/bench.help"
grep -qF -- "-N,--paths" "$tmp/bench.help" || fail "bench --help lacks -N,--paths"
grep -qF -- "--peers" "$tmp/bench.help" || fail "bench --help lacks --peers"
if grep -qF -- "--top-k" "$tmp/bench.help"; then fail "bench --help still has --top-k"; fi
# One default seed: make-model without --seed writes the --seed 1 model.
tmpl="$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"
"$LEAP" make-model --preset tiny -q -o "$tmp/default.gguf" --chat-template-file "$tmpl" > /dev/null
"$LEAP" make-model --preset tiny -q -s 1 -o "$tmp/tiny.gguf" --chat-template-file "$tmpl" > /dev/null
cmp -s "$tmp/default.gguf" "$tmp/tiny.gguf" || fail "make-model's default seed is not 1 (the default of every other subcommand)"

# 7. A real eval: tokens/s over real elapsed time, and an old-format run.json still resumes.
python3 - "$tmp/data.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(4):
        f.write(json.dumps({"problem": f"What is {i} + {i}?", "answer": str(2 * i)}) + "\n")
PY
eval_flags=(-m "$tmp/tiny.gguf" --bench "$tmp/data.jsonl" -N 2 -T 16 --segments 2 --summary-tokens 8
            --answer-tokens 8 --write-up-tokens 8 --parallel-problems 4 -t 1 -fa off -s 3 -o "$tmp/run")
start=$(date +%s.%N)
"$LEAP" eval "${eval_flags[@]}" --json > "$tmp/m1.json" 2> "$tmp/e1.err" || fail "eval: $(cat "$tmp/e1.err")"
end=$(date +%s.%N)
python3 - "$tmp" "$start" "$end" <<'PY'
import json, sys
tmp, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
s = json.load(open(f"{tmp}/m1.json"))["data"]
lines = [json.loads(l) for l in open(f"{tmp}/run/data.jsonl")]
elapsed = sum(l["timings"]["elapsed_s"] for l in lines)
assert abs(s["wall_s"] - elapsed) < 1e-6, ("wall_s is not the run's elapsed time", s["wall_s"], elapsed)
assert s["wall_s"] <= end - start, ("wall_s exceeds the eval's real elapsed time", s["wall_s"], end - start)
assert s["wall_s_source"] == "elapsed", s
sampled = sum(v for k, v in s["tokens_per_problem"].items() if k not in ("total", "prompt", "injected")) * s["n"]
assert abs(s["tokens_sampled"] - sampled) < 1e-6 * max(1, sampled), (s["tokens_sampled"], sampled)
assert abs(s["tokens_per_s"] - s["tokens_sampled"] / s["wall_s"]) < 1e-6 * s["tokens_per_s"], s
run = json.load(open(f"{tmp}/run/run.json"))
assert run["identity"]["config"]["peers"] == 2 and "top_k" not in run["identity"]["config"], run
# Rewrite it as leap wrote it before the rename (the peers under "top_k"), and drop the last
# problem so that the rerun has one to do.
with open(f"{tmp}/run/data.jsonl", "w") as f:
    for l in lines[:3]:
        f.write(json.dumps(l) + "\n")
cfg = run["identity"]["config"]
cfg["top_k"] = cfg.pop("peers")
json.dump(run, open(f"{tmp}/run/run.json", "w"), indent=2)
PY
"$LEAP" eval "${eval_flags[@]}" --json > "$tmp/m2.json" 2> "$tmp/e2.err" \
    || fail "an old-format run.json did not resume: $(cat "$tmp/e2.err")"
grep -q "3 of 4 problems already done" "$tmp/e2.err" || fail "the rerun did not resume: $(cat "$tmp/e2.err")"
[[ $(wc -l < "$tmp/run/data.jsonl") -eq 4 ]] || fail "the resumed run does not hold 4 problems"
"$LEAP" report "$tmp/run" -o "$tmp/report" > /dev/null 2> "$tmp/r.err" || fail "report: $(cat "$tmp/r.err")"
grep -q "| peers |" "$tmp/report.md" || fail "the report's runs table has no peers column"
grep -qE "\| dispersed \| 2 \|" "$tmp/report.md" || fail "the report does not show the old run's peers (2)"
# MoA's reference layout (--moa-layout reference): its defaults (3 agents, 4 layers) where no flag
# gives them, implied by --parity reference, --moa-agents as -N, refused with other methods.
moa_config() {  # file key value ...
    python3 - "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
a = sys.argv[2:]
for k, v in zip(a[::2], a[1::2]):
    assert str(c.get(k)) == v, (sys.argv[1], k, c.get(k), v)
PY
}
"$LEAP" solve --method moa --moa-layout reference --print-config > "$tmp/moa1.json" || fail "moa reference layout refused"
moa_config "$tmp/moa1.json" paths 3 moa_layers 4 moa_layout reference || fail "reference layout defaults"
"$LEAP" solve --method moa --parity reference --print-config > "$tmp/moa2.json" || fail "moa with --parity reference"
moa_config "$tmp/moa2.json" moa_layout reference paths 3 || fail "--parity reference does not imply the reference layout"
"$LEAP" solve --method moa --parity reference --moa-layout leap --print-config > "$tmp/moa3.json" || fail "moa layout leap"
moa_config "$tmp/moa3.json" paths 4 moa_layers 2 || fail "--moa-layout leap keeps leap's defaults"
grep -q moa_layout "$tmp/moa3.json" && fail "the leap layout is written into the config (run identities would change)"
"$LEAP" solve --method moa --moa-layout reference --moa-agents 5 --moa-layers 2 --print-config > "$tmp/moa4.json" \
    || fail "--moa-agents refused"
moa_config "$tmp/moa4.json" paths 5 moa_layers 2 || fail "--moa-agents / --moa-layers not honoured"
expect 2 "--moa-layout is a setting of --method moa" "$LEAP" solve --method leap --moa-layout reference --print-config
expect 2 "--moa-agents is a setting of --method moa" "$LEAP" solve --moa-agents 3 --print-config
expect 2 "disagree" "$LEAP" solve --method moa --moa-agents 3 -N 4 --print-config
expect 2 "--moa-layout: ref not in" "$LEAP" solve --method moa --moa-layout ref --print-config

echo "ok"
