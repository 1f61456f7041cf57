#!/usr/bin/env bash
# Achieved fraction of a configured rate limit, measured at the server (loopback test server).
# Prints the busiest sliding window as a fraction of the limit (must never exceed 1.0) and the mean over
# the complete fixed windows of the run (target >= 0.9).
#   requests: CALLS per PERIOD (second|minute) over WINDOWS complete windows; default 600 per minute, 2 windows.
#   tokens:   TOKENS=N limits tokens per PERIOD instead (tokens as each answer's `usage` reports them; every
#             request asks max_tokens 40 for a 20-word prompt), e.g. TOKENS=3000 PERIOD=second WINDOWS=10.
set -euo pipefail
cd "$(dirname "$0")/.."
tokens=${TOKENS:-}
calls=${CALLS:-600}
period=${PERIOD:-minute}
windows=${WINDOWS:-2}
scripts/build >/dev/null
source scripts/lib/test-server.sh
start_test_server
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
words="one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
if [[ -n $tokens ]]; then
    limit="{\"tokens\":$tokens,\"renewal_period\":\"$period\"}"
    # The mock answers "echo: PROMPT", so a 20-word prompt reports 20 + 21 = 41 tokens.
    rows=$((tokens * windows / 41 + tokens / 41 / 10 + 1))
    what="$tokens tokens"
else
    limit="{\"calls\":$calls,\"renewal_period\":\"$period\"}"
    rows=$((calls * windows + calls / 10))
    what="$calls requests"
fi
echo "limit $what per $period; $rows rows (about $windows windows)…" >&2
AIQUERY_CACHE=off sqlite3 :memory: >/dev/null <<SQL
.load .build/release/libAIQuery
SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"http://127.0.0.1:$port/v1","limit":$limit}');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
SELECT count(ai_query('llm', 'r' || i || ' $words', 'modelParameters', '{"max_tokens":40}')) FROM n;
SQL
python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
    "http://127.0.0.1:$port/_requests" > "$work/requests.json"
python3 - "$work/requests.json" "${tokens:-$calls}" "$period" "$windows" "${tokens:+tokens}" <<'PY'
import bisect, json, sys
requests, limit, period, windows = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
unit = sys.argv[5] or "requests"
window = {"second": 1.0, "minute": 60.0}[period]
model = sorted((r for r in requests if r["path"].endswith("/chat/completions")), key=lambda r: r["t"])
times = [r["t"] for r in model]
if unit == "tokens":
    weights = [r["usage"]["total_tokens"] for r in model]
else:
    weights = [1] * len(model)
prefix = [0]
for w in weights:
    prefix.append(prefix[-1] + w)
# Every window that starts at a request: the busiest one holds the most.
busiest = max(prefix[bisect.bisect_left(times, t + window)] - prefix[i] for i, t in enumerate(times))
t0 = times[0]
full = [prefix[bisect.bisect_left(times, t0 + (k + 1) * window)] - prefix[bisect.bisect_left(times, t0 + k * window)]
        for k in range(windows)]
mean = sum(full) / (len(full) * limit)
print(f"requests={len(times)} limit={limit} {unit}/{period} busiest-window={busiest / limit:.3f} (never above 1.0) "
      f"achieved={mean:.3f} of the limit over {windows} full windows (target >= 0.9)")
PY
