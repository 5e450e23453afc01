#!/usr/bin/env bash
# The pinned-integrity check accepts the real tarball and rejects a tampered copy.
set -euo pipefail
src="$LEAP_SOURCE_DIR"
tarball="$src/third_party/.cache/node-llama-cpp-3.21.1.tgz"
[[ -f "$tarball" ]] || { echo "FAIL: $tarball missing (scripts/fetch-llama.sh puts it there)"; exit 1; }
mkdir -p "$LEAP_TEST_TMP"
"$src/scripts/fetch-llama.sh" --verify "$tarball" >/dev/null || { echo "FAIL: the real tarball was rejected"; exit 1; }

tampered="$LEAP_TEST_TMP/tampered.tgz"
cp "$tarball" "$tampered"
# Flip one byte in the middle of the file.
size=$(stat -c %s "$tampered")
off=$((size / 2))
byte=$(dd if="$tampered" bs=1 skip=$off count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$tampered" bs=1 seek=$off conv=notrunc 2>/dev/null
if err=$("$src/scripts/fetch-llama.sh" --verify "$tampered" 2>&1); then
    echo "FAIL: a tampered tarball was accepted"; exit 1
fi
grep -q "integrity mismatch" <<<"$err" || { echo "FAIL: unexpected message: $err"; exit 1; }
rm -f "$tampered"
echo "ok: integrity pin accepts the real tarball and rejects a tampered one"
