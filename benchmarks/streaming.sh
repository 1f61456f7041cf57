#!/usr/bin/env bash
# Streamed answers through aiquery serve (benchmarks/streaming.py says what is measured and the targets), behind
# the loopback test server writing one word per event. RUNS=50 requests for the time-to-first-word comparison.
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
upstream_port=$(head -1 "$work/upstream" | cut -d' ' -f2)
cat > "$work/endpoints.yaml" <<YAML
endpoints:
  - name: bench
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: m, config: {openai_api_base: "http://127.0.0.1:$upstream_port/v1"}}
YAML
HOME=$work AIQUERY_CONFIG=$work/endpoints.yaml AIQUERY_CACHE=$work/cache.db AIQUERY_SERVE_TOKEN=dapi-bench-token LOG_LEVEL=error \
    "$bin/aiquery" serve --port 0 > "$work/server" &
pids+=($!)
for _ in $(seq 200); do [[ -s $work/server ]] && break; sleep 0.05; done
python3 benchmarks/streaming.py "$upstream_port" "$(head -1 "$work/server")" dapi-bench-token "${RUNS:-50}"
