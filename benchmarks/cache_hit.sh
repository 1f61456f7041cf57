#!/usr/bin/env bash
# Per-row cost of a warm-cache ai_query, as a ratio to the shell's built-in sha3() over the same rows.
# Target: <= 10x. Both are timed in the same run, on the same rows, so machine noise mostly cancels.
# ROWS=100000 by default; filling the cache needs that many calls to the loopback test server once.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-100000}
scripts/build >/dev/null
source scripts/lib/test-server.sh
start_test_server
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
export AIQUERY_CACHE="$work/cache.db" HOME="$work"

setup=".load .build/release/libAIQuery
SELECT ai_endpoint_set('llm', '{\"provider\":\"openai\",\"task\":\"chat\",\"model\":\"m\",\"url\":\"http://127.0.0.1:$port/v1\"}');
CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows) SELECT i, 'prompt number ' || i AS p FROM n;"

echo "filling the cache with $rows rows (one-time, upstream calls)…" >&2
sqlite3 :memory: >/dev/null <<SQL
$setup
SELECT count(ai_query('llm', p)) FROM t;
SQL

time_query() {  # prints seconds for the statement, measured by the shell's .timer
    sqlite3 :memory: <<SQL | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' | tail -1
$setup
.timer on
$1
SQL
}
# Five interleaved rounds; the minimum of each is the least disturbed by other work on this shared machine.
bases=() shas=() hits=()
for round in 1 2 3 4 5; do
    bases+=("$(time_query "SELECT count(length(p)) FROM t;")")
    shas+=("$(time_query "SELECT count(sha3(p)) FROM t;")")
    hits+=("$(time_query "SELECT count(ai_query('llm', p)) FROM t;")")
done
python3 - "$rows" "${bases[*]}" "${shas[*]}" "${hits[*]}" <<'PY'
import sys
rows = int(sys.argv[1])
base, sha, hit = (min(map(float, arg.split())) for arg in sys.argv[2:5])
sha_row = max(sha - base, 1e-9) / rows
hit_row = max(hit - base, 1e-9) / rows
print(f"rows={rows} sha3={sha_row*1e6:.2f} us/row ai_query(cached)={hit_row*1e6:.2f} us/row "
      f"ratio={hit_row/sha_row:.1f}x (target <= 10x; minimum of 5 interleaved rounds)")
PY
