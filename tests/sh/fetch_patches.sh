#!/usr/bin/env bash
# scripts/fetch-llama.sh on a checkout it already made and patched leaves it as it is (some of
# leap's patches patch an earlier one's lines, so no patch may be applied twice: `make test`
# runs the script again before the fuzz build), and a checkout made with another patch series
# (a patch changed, or a stamp from before the series was recorded) is cloned and patched again.
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
src="$LEAP_SOURCE_DIR"
tarball="$src/third_party/.cache/node-llama-cpp-3.21.1.tgz"
[[ -f "$tarball" ]] || fail "$tarball missing (scripts/fetch-llama.sh puts it there)"
root="$LEAP_TEST_TMP/fetch_patches"
rm -rf "$root"; mkdir -p "$root/scripts" "$root/patches" "$root/third_party/.cache"
cp "$src/scripts/fetch-llama.sh" "$root/scripts/"
cp "$src"/patches/llama.cpp-*.patch "$root/patches/"
ln -s "$tarball" "$root/third_party/.cache/"
dest="$root/third_party/llama.cpp"
ops=ggml/src/ggml-cpu/ops.cpp

bash "$root/scripts/fetch-llama.sh" > "$root/first.log" 2>&1 || fail "first fetch: $(tail -5 "$root/first.log")"
grep -q "applied llama.cpp-fa-kv-block.patch" "$root/first.log" || fail "no kv-block patch: $(cat "$root/first.log")"
if [[ -n "${LEAP_LLAMA_DIR:-}" && -f "$LEAP_LLAMA_DIR/$ops" ]]; then
    cmp -s "$dest/$ops" "$LEAP_LLAMA_DIR/$ops" || fail "the patched $ops differs from the build's"
fi

# Again: nothing applied twice, nothing cloned again.
touch "$dest/.marker"
bash "$root/scripts/fetch-llama.sh" > "$root/second.log" 2>&1 || fail "second fetch: $(tail -5 "$root/second.log")"
grep -q "already at" "$root/second.log" || fail "second fetch did not see its checkout: $(cat "$root/second.log")"
grep -q "applied" "$root/second.log" && fail "second fetch applied patches again: $(cat "$root/second.log")"
[[ -f "$dest/.marker" ]] || fail "second fetch cloned again"

# A changed patch (its header only): cloned and patched again, ending with the same source.
sed -i '1i (a header line added by the test)' "$root/patches/llama.cpp-fa-kv-block.patch"
bash "$root/scripts/fetch-llama.sh" > "$root/third.log" 2>&1 || fail "fetch after a patch changed: $(tail -5 "$root/third.log")"
[[ -f "$dest/.marker" ]] && fail "a changed patch series kept the old checkout"
grep -q "applied llama.cpp-fa-gqa-tile.patch" "$root/third.log" || fail "not patched again: $(cat "$root/third.log")"

# A stamp written before the series was recorded (the package's integrity alone).
head -c "$(awk '{print length($1)}' "$dest/.leap-source")" "$dest/.leap-source" > "$root/old-stamp"
cp "$root/old-stamp" "$dest/.leap-source"
touch "$dest/.marker"
bash "$root/scripts/fetch-llama.sh" > "$root/fourth.log" 2>&1 || fail "fetch over an old stamp: $(tail -5 "$root/fourth.log")"
[[ -f "$dest/.marker" ]] && fail "an old stamp kept the old checkout"
rm -rf "$root"
echo "ok"
