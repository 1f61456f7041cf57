# Sourced by benchmarks that put aiquery serve (release build) in front of the loopback test server
# (Tests/Support/mock_llm_server.py): `start_mock_and_serve ENDPOINT TOKEN` starts both, with one chat endpoint
# named ENDPOINT, and sets upstream_port, server_url and server (its pid). Both stop when the script exits.
swift build -c release --product aiquery >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

start_mock_and_serve() {
    python3 Tests/Support/mock_llm_server.py --port 0 > "$work/upstream" &
    pids+=($!)
    for _ in $(seq 200); do [[ -s $work/upstream ]] && break; sleep 0.05; done
    upstream_port=$(head -1 "$work/upstream" | cut -d' ' -f2)
    cat > "$work/endpoints.yaml" <<YAML
endpoints:
  - name: $1
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: m, config: {openai_api_base: "http://127.0.0.1:$upstream_port/v1"}}
YAML
    HOME=$work AIQUERY_CONFIG=$work/endpoints.yaml AIQUERY_CACHE=$work/cache.db AIQUERY_SERVE_TOKEN=$2 LOG_LEVEL=error \
        "$bin/aiquery" serve --port 0 > "$work/server" &
    server=$!
    pids+=($server)
    for _ in $(seq 200); do [[ -s $work/server ]] && break; sleep 0.05; done
    server_url=$(head -1 "$work/server")
}
