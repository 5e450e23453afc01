#!/usr/bin/env bash
# `leap make-model` writes a model that `leap info` describes; `leap info` fails clearly (non-zero exit,
# stderr naming the file) on missing, directory, empty, non-GGUF and truncated files.
set -euo pipefail

: "${LEAP:?LEAP (path of the leap binary) must be set}"
: "${LEAP_TEST_TMP:?LEAP_TEST_TMP must be set}"
dir="$LEAP_TEST_TMP/info_errors.$$"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

model="$dir/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 3 -o "$model" >"$dir/make.out" 2>"$dir/make.err" \
    || { cat "$dir/make.err" >&2; fail "make-model exited non-zero"; }
[[ -s "$model" ]] || fail "make-model did not write $model"
grep -q "wrote $model" "$dir/make.out" || fail "make-model printed no summary: $(cat "$dir/make.out")"

"$LEAP" info "$model" >"$dir/info.out" 2>"$dir/info.err" || { cat "$dir/info.err" >&2; fail "info exited non-zero"; }
grep -q "qwen2" "$dir/info.out" || fail "info output lacks qwen2: $(cat "$dir/info.out")"
grep -q "151936" "$dir/info.out" || fail "info output lacks the vocab size"
grep -q "n_embd 64" "$dir/info.out" || fail "info output lacks the shape"

"$LEAP" info --json "$model" >"$dir/info.json" || fail "info --json exited non-zero"
grep -q '"architecture": "qwen2"' "$dir/info.json" || fail "info --json lacks architecture: $(head -c 400 "$dir/info.json")"
grep -q '"n_layer": 2' "$dir/info.json" || fail "info --json lacks n_layer"

# Bad files: each must make `leap info` exit non-zero with the file named on stderr.
: >"$dir/empty.gguf"
printf 'this is not a model\n' >"$dir/text.gguf"
mkdir -p "$dir/adir.gguf"
size=$(stat -c %s "$model")
head -c $((size / 2)) "$model" >"$dir/half.gguf"
head -c 100000 "$model" >"$dir/in-header.gguf"
head -c $((size - 1)) "$model" >"$dir/one-short.gguf"

expect_fail() {  # FILE WORD: leap info FILE fails, stderr names FILE and contains WORD
    local file=$1 word=$2 rc=0
    "$LEAP" info "$file" >"$dir/bad.out" 2>"$dir/bad.err" || rc=$?
    [[ $rc -ne 0 ]] || fail "leap info $file exited 0"
    grep -qF "$file" "$dir/bad.err" || fail "stderr does not name $file: $(cat "$dir/bad.err")"
    grep -qF "leap: error:" "$dir/bad.err" || fail "stderr lacks 'leap: error:' for $file: $(cat "$dir/bad.err")"
    grep -qiF "$word" "$dir/bad.err" || fail "stderr for $file lacks '$word': $(cat "$dir/bad.err")"
    echo "ok: $file -> $(grep 'leap: error:' "$dir/bad.err")"
}
expect_fail "$dir/missing.gguf" "not found"
expect_fail "$dir/adir.gguf" "directory"
expect_fail "$dir/empty.gguf" "empty"
expect_fail "$dir/text.gguf" "not a GGUF file"
expect_fail "$dir/half.gguf" "truncated"
expect_fail "$dir/in-header.gguf" "truncated"
expect_fail "$dir/one-short.gguf" "truncated"

# make-model errors name the culprit too.
rc=0
"$LEAP" make-model -o "$dir/x.gguf" --vocab "$dir/no-vocab.gguf" 2>"$dir/mm.err" >/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "make-model with a missing vocab exited 0"
grep -qF "$dir/no-vocab.gguf" "$dir/mm.err" || fail "make-model error does not name the vocab: $(cat "$dir/mm.err")"
[[ ! -e "$dir/x.gguf" ]] || fail "make-model left an output after failing"

echo "info_errors: all checks passed"
