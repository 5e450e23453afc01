#!/usr/bin/env bash
# leap prefix-trap on a generated tiny model: every problem restarts from the first half of a
# wrong response's tokens, under independent sampling and under LeaP, and reports both.
set -euo pipefail
tmp="$LEAP_TEST_TMP/prefix_trap"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 4 -o "$model" -q \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" >/dev/null
small=(-N 2 -T 24 --segments 2 --summary-tokens 12 --answer-tokens 8 -t 1 --seed 2)
"$LEAP" eval -m "$model" --bench aime24 --data-dir "$LEAP_SOURCE_DIR/../shared/data/benchmarks" --limit 3 \
    --method independent "${small[@]}" --out "$tmp/base" > /dev/null 2>&1
"$LEAP" prefix-trap -m "$model" --from "$tmp/base/aime24.jsonl" --share 0.5 --method leap "${small[@]}" \
    --out "$tmp/trap" --json > "$tmp/trap.json" 2> "$tmp/trap.log" || fail "prefix-trap failed: $(cat "$tmp/trap.log")"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
out = json.load(open(f"{tmp}/trap.json"))
assert out["problems"] == 3, out
for arm in ("independent", "leap"):
    assert 0 <= out[arm]["pass@1"] <= 1, out[arm]
assert abs(out["pass@1_gap"] - (out["leap"]["pass@1"] - out["independent"]["pass@1"])) < 1e-12
base = {l["id"]: l for l in map(json.loads, open(f"{tmp}/base/aime24.jsonl"))}
for arm in ("independent", "leap"):
    lines = [json.loads(l) for l in open(f"{tmp}/trap/{arm}.jsonl")]
    assert len(lines) == 3, (arm, len(lines))
    for l in lines:
        t = l["trace"]
        prefix = t["assistant_prefix"]
        src = base[l["id"]]
        i = int(l["prefix_source"].split()[-1])
        assert not src["paths"][i]["correct"], "the prefix must come from a wrong path"
        src_text = src["trace"]["paths"][i]["text"]
        assert prefix and src_text.startswith(prefix) and len(prefix) < len(src_text), "prefix is not a proper prefix"
        for p in t["paths"]:
            assert p["text"].startswith(t["prefill"] + prefix), "a path does not continue the prefix"
PY
echo "ok: prefix trap ran both arms from wrong prefixes"
