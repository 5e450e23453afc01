# Sourced by the serve tests: wait_for_serve_port PID LOG prints the port `leap serve --port 0`
# announced in LOG ("... on http://127.0.0.1:PORT ..."), waiting up to 30 s; fails if the
# process exits first or never says.
wait_for_serve_port() {
    local pid=$1 log=$2 port=""
    for _ in $(seq 1 300); do
        port=$(sed -n 's/.* on http:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log" | head -1)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || { echo "FAIL: leap serve exited early: $(tail -3 "$log")"; exit 1; }
        sleep 0.1
    done
    [ -n "$port" ] || { echo "FAIL: leap serve announced no port"; exit 1; }
    echo "$port"
}
