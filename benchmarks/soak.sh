#!/usr/bin/env bash
# A soak of aiquery serve (benchmarks/soak.py says what is checked and the targets): DURATION=600 seconds at
# CONNECTIONS=64, half streaming, behind the loopback test server.
set -euo pipefail
cd "$(dirname "$0")/.."
export AIQUERY_CALL_LOG_CONTENT=on  # the soak checks each finished request is logged once, by its prompt
source benchmarks/lib/mock-serve.sh
start_mock_and_serve soak dapi-soak-token
python3 benchmarks/soak.py "$server_url" dapi-soak-token "$server" "${DURATION:-600}" "${CONNECTIONS:-64}" "$work/calls.db"
