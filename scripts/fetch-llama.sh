#!/usr/bin/env bash
# Fetch the pinned llama.cpp source from the npm registry (no install, no node_modules).
# node-llama-cpp ships the full llama.cpp source as a git bundle; we verify the tarball
# against a pinned integrity hash before trusting anything inside it.
#
# Usage: scripts/fetch-llama.sh [DEST]          (default DEST: third_party/llama.cpp)
#        scripts/fetch-llama.sh --verify TARBALL  (check a tarball against the pin; exit 1 if not)
set -euo pipefail

PKG="node-llama-cpp@3.21.1"
INTEGRITY="sha512-E3N0Ev2Va0wzydvXYFwM9Hvyo07PoWjt8T/9GMc43Cvt8YkV/NU/tYUgEMC1grTPv2o9PRjQi0G3Wb5P/awiMg=="
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

integrity_of() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

verify() {
    local tarball="$1" got
    got="$(integrity_of "$tarball")"
    if [[ "$got" != "$INTEGRITY" ]]; then
        echo "fetch-llama: integrity mismatch for $tarball" >&2
        echo "  expected $INTEGRITY" >&2
        echo "  got      $got" >&2
        return 1
    fi
}

if [[ "${1:-}" == "--verify" ]]; then
    verify "$2"
    echo "fetch-llama: $2 matches the pinned integrity"
    exit 0
fi

DEST="${1:-$ROOT/third_party/llama.cpp}"
STAMP="$DEST/.leap-source"

# Our changes to llama.cpp (patches/llama.cpp-*.patch, each explained in its header and in
# docs/nano.md), applied in name order on a fresh clone. Some patch the lines of an earlier one
# (fa-kv-block after fa-gqa-tile), so whether a checkout has them is not asked of each patch:
# the stamp records the package and a digest of the whole series, and a checkout whose stamp
# differs (a patch added, changed or removed) is cloned again from the verified tarball.
patch_digest() {
    local p
    for p in "$ROOT"/patches/llama.cpp-*.patch; do
        [[ -f "$p" ]] || continue
        printf '%s %s\n' "$(basename "$p")" "$(openssl dgst -sha256 -r "$p" | cut -d' ' -f1)"
    done | openssl dgst -sha256 -r | cut -d' ' -f1
}
apply_patches() {
    local p
    for p in "$ROOT"/patches/llama.cpp-*.patch; do
        [[ -f "$p" ]] || continue
        git -C "$DEST" apply "$p"
        echo "fetch-llama: applied $(basename "$p")"
    done
}
WANT="$INTEGRITY patches-sha256:$(patch_digest)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "fetch-llama: $DEST is already at $PKG with leap's patches"
    exit 0
fi

CACHE="$ROOT/third_party/.cache"
mkdir -p "$CACHE"
TARBALL="$CACHE/node-llama-cpp-3.21.1.tgz"
if [[ ! -f "$TARBALL" ]] || ! verify "$TARBALL" 2>/dev/null; then
    echo "fetch-llama: npm pack $PKG"
    rm -f "$TARBALL"
    (cd "$CACHE" && npm pack "$PKG" --silent >/dev/null)
fi
verify "$TARBALL"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar -xzf "$TARBALL" -C "$WORK" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
echo "fetch-llama: llama.cpp info: $(tr -d '\n ' < "$WORK/package/llama/llama.cpp.info.json")"
rm -rf "$DEST"
git -c advice.detachedHead=false clone --quiet "$WORK/package/llama/gitRelease.bundle" "$DEST"
cp "$WORK/package/llama/llama.cpp.info.json" "$DEST/.leap-info.json"
apply_patches
echo "$WANT" > "$STAMP"
echo "fetch-llama: llama.cpp source at $DEST (commit $(git -C "$DEST" rev-parse --short HEAD))"
