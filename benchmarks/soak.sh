#!/usr/bin/env bash
# A soak of aiquery serve (benchmarks/soak.py says what is checked and the targets): DURATION=600 seconds at
# CONNECTIONS=64, half streaming, behind the loopback test server.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product aiquery >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 Tests/Support/mock_llm_server.py --port 0 > "$work/upstream" &
pids+=($!)
for _ in $(seq 200); do [[ -s $work/upstream ]] && break; sleep 0.05; done
cat > "$work/endpoints.yaml" <<YAML
endpoints:
  - name: soak
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: m, config: {openai_api_base: "http://127.0.0.1:$(head -1 "$work/upstream" | cut -d' ' -f2)/v1"}}
YAML
HOME=$work AIQUERY_CONFIG=$work/endpoints.yaml AIQUERY_CACHE=$work/cache.db AIQUERY_SERVE_TOKEN=dapi-soak-token LOG_LEVEL=error \
    "$bin/aiquery" serve --port 0 > "$work/server" &
server=$!
pids+=($server)
for _ in $(seq 200); do [[ -s $work/server ]] && break; sleep 0.05; done
python3 benchmarks/soak.py "$(head -1 "$work/server")" dapi-soak-token "$server" "${DURATION:-600}" "${CONNECTIONS:-64}"
