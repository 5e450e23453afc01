# Sourced by the viewer tests (tests/sh/viewer_*.sh).
PLAYWRIGHT_CORE_VERSION=1.65.1  # drives the system's chromium; downloads no browser of its own

# nano_trace OUT [METHOD] writes the trace of one run (default LeaP-T: 4 paths, 3 blocks, peers
# heard at each) of the nano model (assets/leap-nano.gguf) on a nano problem.
nano_trace() {
    local out=$1 method=${2:-leap-t}
    "$LEAP" solve -m "$LEAP_SOURCE_DIR/assets/leap-nano.gguf" --method "$method" -N 4 -T 6 --segments 4 \
        --summary-tokens 6 --answer-tokens 4 --top-k 0 --top-p 1 --min-p 0 --temp 1 --peers 2 -t 1 --seed 1 \
        -p "Find x in 0..9 with 10 dividing 3x+3, then apply y to 3y+1 mod 10 3 times from x+1. Where do you end?" \
        --trace "$out" > "$out.out" 2>&1
}

# browser_setup DIR CHECK.mjs: sets $chromium (failing, never skipping, without Debian's chromium),
# installs playwright-core (pinned) into DIR/npm unless it is there, and copies CHECK.mjs from
# tests/sh/lib/ beside it as DIR/npm/check.mjs, so that `import "playwright-core"` finds it.
browser_setup() {
    local dir=$1 script=$2
    chromium=${CHROMIUM:-$(command -v chromium || true)}
    [ -n "$chromium" ] && [ -x "$chromium" ] || fail "chromium is missing (scripts/install-deps.sh installs Debian's chromium)"
    command -v node >/dev/null || fail "node is missing (scripts/install-deps.sh installs it)"
    local npm_dir="$dir/npm" installed
    installed=$(node -p "try { require('$npm_dir/node_modules/playwright-core/package.json').version } catch { '' }" 2>/dev/null || true)
    if [ "$installed" != "$PLAYWRIGHT_CORE_VERSION" ]; then
        rm -rf "$npm_dir"; mkdir -p "$npm_dir"
        npm install --no-save --no-audit --no-fund --silent --prefix "$npm_dir" "playwright-core@$PLAYWRIGHT_CORE_VERSION" \
            > "$dir/npm.log" 2>&1 || fail "npm install playwright-core@$PLAYWRIGHT_CORE_VERSION: $(tail -5 "$dir/npm.log")"
    fi
    cp "$LEAP_SOURCE_DIR/tests/sh/lib/$script" "$npm_dir/check.mjs"
    cp "$LEAP_SOURCE_DIR/tests/sh/lib/browser_check.mjs" "$npm_dir/browser_check.mjs"
}
