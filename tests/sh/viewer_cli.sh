#!/usr/bin/env bash
# leap view: the page holds the trace intact (read back from the page, it equals the file), text
# that would end the <script> element stays inside it, --gold grades each path, a problem of an
# eval draws from its results folder, results file or results line alike, and bad input is
# refused naming the culprit.
set -euo pipefail
tmp="$LEAP_TEST_TMP/viewer_cli"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/viewer_lib.sh"
export OMP_WAIT_POLICY=PASSIVE

nano_trace "$tmp/t.json" || fail "leap solve: $(cat "$tmp/t.json.out")"

# The page, to a file and to standard output alike.
"$LEAP" view "$tmp/t.json" -o "$tmp/page.html" 2> "$tmp/view.err" || fail "leap view: $(cat "$tmp/view.err")"
"$LEAP" view "$tmp/t.json" > "$tmp/stdout.html" || fail "leap view to stdout"
cmp -s "$tmp/page.html" "$tmp/stdout.html" || fail "-o and standard output differ"

# A trace whose texts try to close the data element and open a script of their own.
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
t = json.load(open(f"{tmp}/t.json"))
p = t["problems"][0]
p["problem"] = "</script><script>window.pwned=1</script><!-- " + p["problem"]
p["paths"][0]["segments"][0] = "</SCRIPT >" + p["paths"][0]["segments"][0]
json.dump(t, open(f"{tmp}/hostile.json", "w"))
PY
"$LEAP" view "$tmp/hostile.json" -o "$tmp/hostile.html" 2> /dev/null || fail "leap view of the hostile trace"

python3 - "$tmp" <<'PY'
import json, re, sys
tmp = sys.argv[1]
def embedded(page):
    m = re.search(r'<script id="leap-trace" type="application/json">(.*?)</script>', page, re.S | re.I)
    assert m, "no data element"
    return json.loads(m.group(1))
for name, src in (("page", "t"), ("hostile", "hostile")):
    page = open(f"{tmp}/{name}.html", encoding="utf-8").read()
    # The template's own two script elements, and no third: the data cannot close its element.
    assert len(re.findall(r"</script", page, re.I)) == 2, (name, "a </script> from the data reached the page")
    assert "<!--" not in page, (name, "a comment opener from the data reached the page")
    assert embedded(page) == json.load(open(f"{tmp}/{src}.json")), (name, "the embedded trace differs from the file")
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page, (name, "the page refers to the network")
print("embedding ok")
PY

# --gold: the answers graded like leap grade does (3 is the nano problem's answer; 4 is not).
vote=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["problems"][0]["vote"]["answer"])' "$tmp/t.json")
[ "$vote" = 3 ] || fail "the nano run voted '$vote', not 3: the fixture run changed"
"$LEAP" view "$tmp/t.json" --gold 3 -o "$tmp/gold3.html" 2> /dev/null || fail "--gold 3"
"$LEAP" view "$tmp/t.json" --gold 4 -o "$tmp/gold4.html" 2> /dev/null || fail "--gold 4"
python3 - "$tmp" <<'PY'
import json, re, sys
tmp = sys.argv[1]
def problem(name):
    page = open(f"{tmp}/{name}.html", encoding="utf-8").read()
    return json.loads(re.search(r'<script id="leap-trace" type="application/json">(.*?)</script>', page, re.S).group(1))["problems"][0]
g3, g4 = problem("gold3"), problem("gold4")
assert g3["gold"] == "3" and g3["vote_correct"] is True, g3.get("vote_correct")
assert g3["correct"] == [a == "3" for a in g3["answers"]], (g3["correct"], g3["answers"])
assert g4["vote_correct"] is False and not any(g4["correct"]), g4["correct"]
print("gold ok")
PY

# A problem of an eval: from its results folder, its results file, or one results line, the
# same page; the trace holds the run's settings, the line's answers, the vote's majority and the gold.
"$LEAP" nano-data --seed 7 --count 3 -o "$tmp/nano.jsonl" 2> /dev/null || fail "leap nano-data"
"$LEAP" eval -m "$LEAP_SOURCE_DIR/assets/leap-nano.gguf" --bench "$tmp/nano.jsonl" --method leap-t -N 4 -T 6 --segments 4 \
    --summary-tokens 6 --answer-tokens 4 --top-k 0 --top-p 1 --min-p 0 --temp 1 --peers 2 -t 1 --seed 1 \
    --out "$tmp/results" > /dev/null 2> "$tmp/eval.err" || fail "leap eval: $(tail -3 "$tmp/eval.err")"
id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])["id"])' "$tmp/results/nano.jsonl")
sed -n 2p "$tmp/results/nano.jsonl" > "$tmp/results/one-line.json"
"$LEAP" view "$tmp/results" --problem "$id" -o "$tmp/from-folder.html" 2> /dev/null || fail "leap view RESULTS_DIR --problem $id"
"$LEAP" view "$tmp/results/nano.jsonl" --problem "$id" -o "$tmp/from-file.html" 2> /dev/null || fail "leap view RESULTS.jsonl --problem $id"
"$LEAP" view "$tmp/results/one-line.json" -o "$tmp/from-line.html" 2> /dev/null || fail "leap view LINE.json"
cmp -s "$tmp/from-folder.html" "$tmp/from-file.html" || fail "the folder's and the file's pages differ"
cmp -s "$tmp/from-folder.html" "$tmp/from-line.html" || fail "the folder's and the line's pages differ"
python3 - "$tmp" "$id" <<'PY'
import json, re, sys
tmp, id = sys.argv[1], sys.argv[2]
page = open(f"{tmp}/from-folder.html", encoding="utf-8").read()
t = json.loads(re.search(r'<script id="leap-trace" type="application/json">(.*?)</script>', page, re.S).group(1))
line = next(l for l in map(json.loads, open(f"{tmp}/results/nano.jsonl")) if l["id"] == id)
run = json.load(open(f"{tmp}/results/run.json"))
assert t["config"] == run["identity"]["config"], "the page lacks the run's settings"
p = t["problems"][0]
assert p["id"] == id and p["paths"] == line["trace"]["paths"], "not the line's trace"
assert p["answers"] == [q["answer"] for q in line["paths"]], (p["answers"], line["paths"])
assert p["gold"] == line["gold"] and p["vote_correct"] == line["vote"]["correct"]
assert p["correct"] == [q["correct"] for q in line["paths"]]
assert p["vote"]["answer"] == line["vote"]["answer"] and p["vote"]["votes"] == line["vote"]["votes"]
assert all(p["answers"][i] and p["answers"][i] == p["vote"]["answer"] for i in p["vote"]["majority"]), p["vote"]
print("results ok")
PY
mkdir -p "$tmp/not-results"
python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).readline()); l.pop("trace"); l["unfit"]="too long"; print(json.dumps(l))' \
    "$tmp/results/nano.jsonl" > "$tmp/unfit.json"

# Bad input: each refused with the culprit named, the usage errors with status 2.
expect() {  # status, message part, args...
    local want=$1 msg=$2; shift 2
    set +e; "$LEAP" view "$@" > "$tmp/bad.out" 2> "$tmp/bad.err"; local got=$?; set -e
    [ "$got" = "$want" ] || fail "leap view $*: exit $got, expected $want ($(cat "$tmp/bad.err"))"
    grep -qF -- "$msg" "$tmp/bad.err" || fail "leap view $*: '$msg' not in: $(cat "$tmp/bad.err")"
    [ ! -s "$tmp/bad.out" ] || fail "leap view $*: wrote a page anyway"
}
echo '{"problems": 3}' > "$tmp/notrace.json"
echo '{"problems": [{"id": "x"}]}' > "$tmp/nopaths.json"
echo 'not json' > "$tmp/notjson.json"
python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); t["problems"]*=2; json.dump(t,open(sys.argv[2],"w"))' "$tmp/t.json" "$tmp/two.json"
expect 1 "cannot read trace $tmp/missing.json" "$tmp/missing.json"
expect 1 "$tmp/notjson.json is not JSON" "$tmp/notjson.json"
expect 1 "$tmp/notrace.json is not a LeaP trace: no \"problems\" array" "$tmp/notrace.json"
expect 1 "problems[0] has no \"paths\" array" "$tmp/nopaths.json"
expect 2 "--gold: $tmp/two.json holds 2 problems" "$tmp/two.json" --gold 3
expect 1 "$tmp/no-such-dir/page.html" "$tmp/t.json" -o "$tmp/no-such-dir/page.html"
expect 2 "$tmp/results holds 3 problems; choose one with --problem ID" "$tmp/results"
expect 1 "--problem: no problem 'nope' in $tmp/results/nano.jsonl" "$tmp/results/nano.jsonl" --problem nope
expect 1 "--problem: no problem 'nope' in $tmp/t.json" "$tmp/t.json" --problem nope
expect 1 "$tmp/not-results is a folder but not a results folder of leap eval (no run.json" "$tmp/not-results"
expect 1 "was not run (\"too long\"): it has no trace" "$tmp/unfit.json"
expect 2 "trace is required" 
echo "PASS"
