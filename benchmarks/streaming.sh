#!/usr/bin/env bash
# Streamed answers through aiquery serve (benchmarks/streaming.py says what is measured and the targets), behind
# the loopback test server writing one word per event. RUNS=50 requests for the time-to-first-word comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib/mock-serve.sh
start_mock_and_serve bench dapi-bench-token
python3 benchmarks/streaming.py "$upstream_port" "$server_url" dapi-bench-token "${RUNS:-50}"
