#!/usr/bin/env bash
# leap serve under the connection attacks of issue 29 (docs/reliability.md, "Server"):
# idle and slow sockets must not freeze /health (item 1), pipelined requests on one connection
# (item 8d: only the first is answered, the connection is closed), and SIGTERM's bounded drain: queued requests get 503 at once, the running one
# gets --stop-timeout, and the process exits within that bound (item 5); RSS after a burst of
# large bodies comes back (item 10).
set -euo pipefail
tmp="$LEAP_TEST_TMP/serve_reliability"
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && tail -20 "$tmp/serve.err"; exit 1; }
. "$(dirname "$0")/lib/leap_serve.sh"
export OMP_WAIT_POLICY=PASSIVE
model="$tmp/tiny.gguf"
"$LEAP" make-model --preset tiny --seed 3 -o "$model" \
    --chat-template-file "$LEAP_LLAMA_DIR/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" > /dev/null

# The new flags refuse what they cannot use, naming themselves, before the model loads.
for bad in "--stop-timeout -1" "--stop-timeout nan" "--timeout 0"; do
    if "$LEAP" serve -m "$model" --port 0 $bad 2> "$tmp/bad.err"; then fail "$bad started"; fi
    grep -q -- "${bad% *}" "$tmp/bad.err" || fail "$bad not named: $(cat "$tmp/bad.err")"
done

"$LEAP" serve -m "$model" --port 0 -t 1 -N 2 --kv-sequences 2 -T 200 --segments 8 --summary-tokens 8 \
    --answer-tokens 8 --peers 1 --stop-timeout 1 --max-body-kib 16384 2> "$tmp/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=$(wait_for_serve_port $pid "$tmp/serve.err") || exit 1
url="http://127.0.0.1:$port"

# Item 1: N sockets that connect and send nothing (or a header byte a second), then the time
# a fresh /health takes.
python3 - "$port" "$tmp" <<'PY' || fail "connection attacks"
import socket, sys, threading, time, urllib.request
port, tmp = int(sys.argv[1]), sys.argv[2]
def health_seconds():
    t = time.time()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=60) as r:
        assert b'"ok"' in r.read()
    return time.time() - t
def idle(n):
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    time.sleep(0.3)
    took = health_seconds()
    for s in socks: s.close()
    return took
def slowloris(n, seconds=3):
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    for s in socks: s.sendall(b"GET /health HTTP/1.1\r\n")
    stop = False
    def drip():
        while not stop:
            for s in socks:
                try: s.sendall(b"X")
                except OSError: pass
            time.sleep(1)
    t = threading.Thread(target=drip); t.start()
    time.sleep(1.5)
    took = health_seconds()
    stop = True; t.join()
    for s in socks: s.close()
    return took
figures = {"idle24": idle(24), "slow30": slowloris(30), "idle200": idle(200)}
time.sleep(6)  # the 200 idle sockets' threads come back after --timeout
figures["after"] = health_seconds()
open(f"{tmp}/figures.txt", "w").write(" ".join(f"{k}={v:.2f}s" for k, v in figures.items()) + "\n")
print("serve_reliability: /health with", open(f"{tmp}/figures.txt").read().strip())
assert figures["idle24"] < 1.0, figures
assert figures["slow30"] < 1.0, figures
assert figures["idle200"] < 8.0, figures
assert figures["after"] < 1.0, figures

# Item 8d: two requests sent at once on one connection. httplib reads the second into a
# per-request buffer and drops it, so only the first is answered (docs/reliability.md: not
# fixed); what leap controls is that the connection is then closed after the keep-alive
# timeout (2 s) instead of hanging.
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(10)
data, t = b"", time.time()
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
closed_after = time.time() - t
s.close()
print(f"serve_reliability: 2 pipelined requests: {data.count(b'HTTP/1.1 200')} answered, closed after {closed_after:.2f} s")
assert data.startswith(b"HTTP/1.1 200") and b'"status"' in data, data[:500]
assert closed_after < 2 + 1.5, closed_after
PY

# Item 10: a burst of 48 large bodies (8 MB each, parsed, then refused) raises RSS; about a
# second after the burst the server hands the memory back (before: 86 MB -> 691 MB, kept).
python3 - "$port" "$pid" <<'PY' || fail "memory after a burst"
import json, re, sys, threading, time, urllib.error, urllib.request
port, pid = int(sys.argv[1]), int(sys.argv[2])
def rss():
    return int(open(f"/proc/{pid}/statm").read().split()[1]) * 4096
def rss_metric():
    m = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    return float(re.search(r"^process_resident_memory_bytes (\S+)$", m, re.M).group(1))
body = json.dumps({"messages": [{"role": "user", "content": "x" * (8 << 20)}], "bogus": 1}).encode()
def one():
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    try: urllib.request.urlopen(req, timeout=120).read()
    except urllib.error.HTTPError as e: assert e.code == 400, e.code
idle = rss()
for _ in range(2):
    ts = [threading.Thread(target=one) for _ in range(24)]
    [t.start() for t in ts]; [t.join() for t in ts]
peak = rss()
time.sleep(3)
after, reported = rss(), rss_metric()
print(f"serve_reliability: RSS idle {idle/1e6:.0f} MB, after 48 bodies of 8 MB {peak/1e6:.0f} MB, 3 s later {after/1e6:.0f} MB (/metrics: {reported/1e6:.0f} MB)")
assert peak > 1.5 * idle, "the burst did not raise RSS; the test shows nothing"
assert after < 2 * idle, "memory kept after the burst"
assert abs(reported - after) < 0.2 * after, (reported, after)
PY

# Item 5: one request runs, three wait; SIGTERM. The three get 503 at once, the running one
# 503 after --stop-timeout 1, a new one 503, and the process exits within the bound.
body='{"messages":[{"role":"user","content":"Count to a thousand."}],"leap":{"segments":8,"segment_tokens":200}}'
for i in 0 1 2 3; do
    curl -s -o "$tmp/q$i.json" -w '%{http_code}' "$url/v1/chat/completions" -d "$body" > "$tmp/q$i.code" &
    echo $! > "$tmp/q$i.pid"
    if [ $i = 0 ]; then
        for _ in $(seq 1 100); do curl -s "$url/metrics" | grep -q '^leap_requests_running 1$' && break; sleep 0.1; done
    fi
done
for _ in $(seq 1 100); do curl -s "$url/metrics" | grep -q '^leap_requests_queued 3$' && break; sleep 0.1; done
curl -s "$url/metrics" | grep -q '^leap_requests_queued 3$' || fail "the requests did not queue"
start=$(date +%s.%N)
kill -TERM $pid
sleep 0.3
fresh=$(curl -s -o "$tmp/fresh.json" -w '%{http_code}' "$url/v1/chat/completions" -d "$body" || true)
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "still running 10 s after SIGTERM"
wait $pid || fail "exit status $? after SIGTERM"
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
trap - EXIT
for i in 0 1 2 3; do wait "$(cat "$tmp/q$i.pid")" || true; done
python3 - "$tmp" "$took" "$fresh" <<'PY' || fail "drain"
import json, sys
tmp, took, fresh = sys.argv[1], float(sys.argv[2]), sys.argv[3]
codes = [open(f"{tmp}/q{i}.code").read().strip() for i in range(4)]
messages = [json.load(open(f"{tmp}/q{i}.json"))["error"]["message"] for i in range(4)]
print(f"serve_reliability: SIGTERM with 1 running and 3 queued: exit after {took:.2f} s, codes {codes}, new request {fresh}")
assert codes == ["503"] * 4, (codes, messages)
assert sum("had not started" in m for m in messages) == 3, messages
assert fresh in ("503", "000"), fresh  # 000: the port was already closed
assert took < 1 + 3, took
PY
echo "PASS"
