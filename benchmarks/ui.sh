#!/usr/bin/env bash
# The pages of aiquery serve (release build), measured in headless Chromium (benchmarks/ui.py says what is
# measured): their weight as served, and gzip-compressed, and the time from navigation start to an interactive
# page (body[data-ready="1"]), median of RUNS=10 loads with the cache off and warm. The server stands in front of
# the loopback test server, with a few hundred calls in its log so the usage page has data to draw.
# AIQUERY_BIN=path/to/aiquery measures that binary instead of building one (with AIQUERY_UI_DIR, the pages in
# that folder instead of the embedded ones).
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/browser-venv)
if [[ -n ${AIQUERY_BIN:-} ]]; then
    bin=$AIQUERY_BIN
else
    swift build -c release --product aiquery >/dev/null
    bin="$(swift build -c release --show-bin-path)/aiquery"
fi
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
token=dapi-bench-ui-token

python3 Tests/Support/mock_llm_server.py --port 0 > "$work/upstream" &
pids+=($!)
for _ in $(seq 200); do [[ -s $work/upstream ]] && break; sleep 0.05; done
upstream="http://127.0.0.1:$(head -1 "$work/upstream" | cut -d' ' -f2)/v1"
{
    echo "endpoints:"
    for name in chat-a chat-b chat-c; do
        printf '  - name: %s\n    endpoint_type: llm/v1/chat\n    model: {provider: openai, name: %s, config: {openai_api_base: "%s"}}\n    price: {input: 0.15, output: 0.6}\n' "$name" "$name" "$upstream"
    done
    printf '  - name: embed-a\n    endpoint_type: llm/v1/embeddings\n    model: {provider: openai, name: e, config: {openai_api_base: "%s"}}\n' "$upstream"
} > "$work/endpoints.yaml"
HOME=$work AIQUERY_CONFIG=$work/endpoints.yaml AIQUERY_CACHE=$work/cache.db AIQUERY_CALL_LOG=$work/calls.db \
    AIQUERY_SERVE_TOKEN=$token LOG_LEVEL=error "$bin" serve --port 0 > "$work/server" &
pids+=($!)
for _ in $(seq 200); do [[ -s $work/server ]] && break; sleep 0.05; done
server=$(head -1 "$work/server")
[[ $server == http://* ]] || { echo "aiquery serve did not start" >&2; exit 1; }

# Some history for the usage page: 300 calls over the endpoints, a third of them cache hits.
python3 - "$server" "$token" <<'PY'
import json, sys, urllib.request
server, token = sys.argv[1], sys.argv[2]
for i in range(300):
    name = ["chat-a", "chat-b", "chat-c", "embed-a"][i % 4]
    body = {"input": [f"text {i % 200}"]} if name == "embed-a" else {"messages": [{"role": "user", "content": f"question {i % 200}"}]}
    request = urllib.request.Request(f"{server}/serving-endpoints/{name}/invocations", json.dumps(body).encode(),
                                     {"Content-Type": "application/json", "Authorization": "Bearer " + token})
    urllib.request.urlopen(request, timeout=30).read()
PY
"$python" benchmarks/ui.py "$server" "$token" "${RUNS:-10}"
