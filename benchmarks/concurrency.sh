#!/usr/bin/env bash
# ai_query_rows (concurrent) against plain ai_query (one request at a time), on the loopback test server made to
# take LATENCY_MS per request as a remote model would. Both must return the same rows in the same order.
# Prints the concurrent time as a ratio to the ideal rows*latency/concurrency (target <= 1.15) and the speed-up
# over the sequential form (target >= 25), both measured in this run.
# ROWS=1000, LATENCY_MS=100, CONCURRENCY=32 by default; AIQUERY_LIB=path/without/.so runs another build.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1000} latency=${LATENCY_MS:-100} concurrency=${CONCURRENCY:-32}
lib=${AIQUERY_LIB:-.build/release/libAIQuery}
[[ -n ${AIQUERY_LIB:-} ]] || scripts/build >/dev/null
if [[ $(sqlite3 :memory: ".load $lib" "SELECT count(*) FROM pragma_module_list WHERE name = 'ai_query_rows'") != 1 ]]; then
    echo "concurrency.sh: $lib has no ai_query_rows table-valued function; build one that has it" >&2
    exit 1
fi
source scripts/lib/test-server.sh
start_test_server --latency-ms "$latency"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
export AIQUERY_CACHE=off  # every row must reach the server, in both runs
db="$work/t.db"
sqlite3 "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, p TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO t SELECT i, 'prompt number ' || i FROM n;"
setup=".load $lib
SELECT ai_endpoint_set('llm', '{\"provider\":\"openai\",\"task\":\"chat\",\"model\":\"m\",\"url\":\"http://127.0.0.1:$port/v1\"}');"

# seconds FILE CMD…: runs CMD (stdin and stdout passed through) and writes its wall time, by the monotonic clock, to FILE.
seconds() { python3 -c 'import subprocess, sys, time
t = time.monotonic(); rc = subprocess.call(sys.argv[2:]); open(sys.argv[1], "w").write(f"{time.monotonic() - t:.3f}"); sys.exit(rc)' "$@"; }
# control PATH [post]: GET (POST with a second argument) a control route of the test server; prints the body.
control() { python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], b"" if len(sys.argv) > 2 else None).read().decode())' "http://127.0.0.1:$port$1" "${@:2}"; }

echo "sequential: $rows rows at ${latency} ms each (about $((rows * latency / 1000)) s)…" >&2
seconds "$work/seq.s" sqlite3 -bail "$db" >/dev/null <<SQL
$setup
.output $work/seq.txt
SELECT id, ai_query('llm', p) FROM t ORDER BY id;
SQL
echo "sequential: $(cat "$work/seq.s") s" >&2
control /_reset post >/dev/null  # so the server stats cover the concurrent run alone
seconds "$work/conc.s" sqlite3 -bail "$db" >/dev/null <<SQL
$setup
.output $work/conc.txt
SELECT id, response FROM ai_query_rows('llm', 'SELECT id, p FROM t ORDER BY id', '{"concurrency":$concurrency}');
SQL
control /_stats > "$work/stats.json"

# Same values in the same order, and all of them: a fast wrong answer is a failure, not a result.
if ! cmp -s "$work/seq.txt" "$work/conc.txt" || [[ $(wc -l < "$work/seq.txt") != "$rows" ]]; then
    echo "FAIL: sequential and concurrent outputs differ (or are not $rows rows):" >&2
    diff "$work/seq.txt" "$work/conc.txt" | head -10 >&2 || true
    exit 1
fi
python3 - "$rows" "$latency" "$concurrency" "$(cat "$work/seq.s")" "$(cat "$work/conc.s")" "$work/stats.json" <<'PY'
import json, sys
rows, latency, concurrency = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seq, conc, stats = float(sys.argv[4]), float(sys.argv[5]), json.load(open(sys.argv[6]))
ideal = rows * latency / 1000 / concurrency
print(f"rows={rows} latency={latency}ms concurrency={concurrency} sequential={seq:.2f}s concurrent={conc:.2f}s "
      f"ideal={ideal:.2f}s ratio={conc / ideal:.2f} (target <= 1.15) speed-up={seq / conc:.1f}x (target >= 25) "
      f"server: max_concurrent={stats['max_concurrent']} requests={stats['requests']}; outputs identical")
PY
