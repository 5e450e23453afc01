# Sourced by the shell tests that talk to a real llama-server (not a test itself: ctest runs
# tests/sh/*.sh only). Needs LEAP_BIN_DIR and a fail() function.
server_pid=""
stop_llama_server() {
    if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    server_pid=""
}
trap stop_llama_server EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# start_llama_server MODEL LOG [SLOT_DIR] [CTX]: serves MODEL on 127.0.0.1 (4 slots sharing CTX
# tokens, default 8192; greedy-comparable settings: flash attention off, one thread; slot files
# in SLOT_DIR when given), waits up to 30 s for /health, sets server_pid and url.
start_llama_server() {
    local model=$1 log=$2 slot_dir=${3:-} ctx=${4:-8192} port
    local extra=()
    if [ -n "$slot_dir" ]; then mkdir -p "$slot_dir"; extra=(--slot-save-path "$slot_dir"); fi
    port=$(free_port)
    "$LEAP_BIN_DIR/llama-server" -m "$model" --host 127.0.0.1 --port "$port" -np 4 -c "$ctx" --no-kv-unified \
        -fa off -t 1 -tb 1 --no-webui --cache-ram 0 "${extra[@]}" > "$log" 2>&1 &
    server_pid=$!
    python3 - "$port" <<'PY' || fail "llama-server did not become ready: $(tail -5 "$log")"
import sys, time, urllib.request
deadline = time.time() + 30
while time.time() < deadline:
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
    url="http://127.0.0.1:$port"
}
