# Sourced by scripts and benchmarks: starts the loopback test server (Tests/Support/mock_llm_server.py) on an
# ephemeral port, sets $server (its pid) and $port, and stops it when the calling script exits.
# Arguments are passed to the server: start_test_server --latency-ms 100 --max-batch 64
start_test_server() {
    local out
    out=$(mktemp)
    python3 Tests/Support/mock_llm_server.py --port 0 "$@" > "$out" &
    server=$!
    trap 'kill $server 2>/dev/null || true' EXIT
    for _ in $(seq 100); do grep -q '^PORT ' "$out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/^PORT //p' "$out")
    rm -f "$out"
    [[ -n "$port" ]] || { echo "the test server did not start" >&2; exit 1; }
}
