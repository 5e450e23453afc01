#!/usr/bin/env bash
# Installs, with apt-get, whatever the build and tests need and the machine lacks.
# Each package is here for a reason:
#   build-essential cmake git ccache   compiler, build system, bundle clone, rebuild cache
#   (with a llama.cpp source checkout, JSON and HTTP use llama.cpp's vendored copies, the ones
#    its common library already exposes, so the binary holds one of each)
#   libcli11-dev                       the command line
#   libcpp-httplib-dev                 HTTP client/server when built against a llama.cpp install
#   nlohmann-json3-dev                 JSON when built against a llama.cpp install
#   libgtest-dev                       the unit tests
#   libbenchmark-dev                   micro-benchmarks in bench/
#   npm                                `npm pack` of the pinned llama.cpp source (no install)
#   nodejs                             Node 18+: tests/sh/serve_sdk.sh runs the openai SDK against leap serve
#   openssl                            checks the tarball's sha512 integrity
#   python3                            small helpers in shell tests
#   chromium                           the browser tests/sh/viewer_browser.sh drives (playwright-core, from npm in the test)
#   clang libclang-rt-dev              the fuzz build (make test-fuzz): clang with libFuzzer and the sanitizer runtimes
set -euo pipefail
pkgs=(build-essential cmake git ccache nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
      libgtest-dev libbenchmark-dev openssl python3 chromium clang libclang-rt-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if ((${#missing[@]})); then
    echo "install-deps: apt-get install ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
