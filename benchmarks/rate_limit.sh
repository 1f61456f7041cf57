#!/usr/bin/env bash
# Achieved fraction of a configured request rate, measured at the server (loopback test server).
# Prints the busiest sliding window as a fraction of the limit (must never exceed 1.0) and the mean over
# the complete fixed windows of the run (target >= 0.9).
# CALLS per PERIOD (second|minute), WINDOWS complete windows; defaults: 600 per minute over 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${CALLS:-600}
period=${PERIOD:-minute}
windows=${WINDOWS:-2}
scripts/build >/dev/null
source scripts/lib/test-server.sh
start_test_server
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
rows=$((calls * windows + calls / 10))
echo "limit $calls per $period; $rows rows (about $windows windows)…" >&2
AIQUERY_CACHE=off sqlite3 :memory: >/dev/null <<SQL
.load .build/release/libAIQuery
SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"http://127.0.0.1:$port/v1","limit":{"calls":$calls,"renewal_period":"$period"}}');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows) SELECT count(ai_query('llm', 'r' || i)) FROM n;
SQL
python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
    "http://127.0.0.1:$port/_requests" > "$work/requests.json"
python3 - "$work/requests.json" "$calls" "$period" "$windows" <<'PY'
import bisect, json, sys
requests, calls, period, windows = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
window = {"second": 1.0, "minute": 60.0}[period]
times = sorted(r["t"] for r in requests if r["path"].endswith("/chat/completions"))
busiest = max(bisect.bisect_left(times, t + window) - i for i, t in enumerate(times))
t0 = times[0]
full = [sum(1 for t in times if t0 + k * window <= t < t0 + (k + 1) * window) for k in range(windows)]
mean = sum(full) / (len(full) * calls)
print(f"requests={len(times)} limit={calls}/{period} busiest-window={busiest / calls:.3f} (never above 1.0) "
      f"achieved={mean:.3f} of the limit over {windows} full windows (target >= 0.9)")
PY
