#!/usr/bin/env bash
# Batched embeddings: ai_query_rows against sqlite-rembed (one HTTP request per row), both on the loopback test
# server taking LATENCY_MS per request. Upstream requests are counted at the server: ours must be at most
# ceil(rows/64) (the server also refuses any batch above 64 with HTTP 413). Both must return the same float32 BLOBs.
# ROWS=10000, LATENCY_MS=20 by default; AIQUERY_LIB=path/without/.so runs another build. sqlite-rembed (pinned,
# REMBED_VERSION) is installed from PyPI into AIQUERY_BENCH_DIR (default ~/.cache/aiquery/bench), never into the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-10000} latency=${LATENCY_MS:-20} rembed_version=${REMBED_VERSION:-0.0.1a9}
lib=${AIQUERY_LIB:-.build/release/libAIQuery}
[[ -n ${AIQUERY_LIB:-} ]] || scripts/build >/dev/null
if [[ $(sqlite3 :memory: ".load $lib" "SELECT count(*) FROM pragma_module_list WHERE name = 'ai_query_rows'") != 1 ]]; then
    echo "embeddings.sh: $lib has no ai_query_rows table-valued function; build one that has it" >&2
    exit 1
fi
bench=${AIQUERY_BENCH_DIR:-$HOME/.cache/aiquery/bench}
if [[ ! -d "$bench/rembed/sqlite_rembed-$rembed_version.dist-info" ]]; then
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --upgrade --target "$bench/rembed" "sqlite-rembed==$rembed_version" >&2
fi
rembed=$(find "$bench/rembed/sqlite_rembed" -name '*.so' | head -1)
[[ -n "$rembed" ]] || { echo "embeddings.sh: no loadable .so in $bench/rembed/sqlite_rembed" >&2; exit 1; }

source scripts/lib/test-server.sh
start_test_server --latency-ms "$latency" --max-batch 64
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
export AIQUERY_CACHE=off  # every row must reach the server
db="$work/t.db"
sqlite3 "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, p TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO t SELECT i, 'document ' || i || ' about topic ' || (i % 97) FROM n;"

# seconds FILE CMD…: runs CMD (stdin and stdout passed through) and writes its wall time, by the monotonic clock, to FILE.
seconds() { python3 -c 'import subprocess, sys, time
t = time.monotonic(); rc = subprocess.call(sys.argv[2:]); open(sys.argv[1], "w").write(f"{time.monotonic() - t:.3f}"); sys.exit(rc)' "$@"; }
# control PATH [post]: GET (POST with a second argument) a control route of the test server; prints the body.
control() { python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], b"" if len(sys.argv) > 2 else None).read().decode())' "http://127.0.0.1:$port$1" "${@:2}"; }

echo "ours: $rows rows…" >&2
seconds "$work/ours.s" sqlite3 -bail "$db" >/dev/null <<SQL
.load $lib
SELECT ai_endpoint_set('embed', '{"provider":"openai","task":"embeddings","model":"m","url":"http://127.0.0.1:$port/v1"}');
.output $work/ours.txt
SELECT id, hex(response) FROM ai_query_rows('embed', 'SELECT id, p FROM t ORDER BY id');
SQL
control /_stats > "$work/ours.json"
control /_reset post >/dev/null

# sqlite-rembed 0.0.1a9's openai format: 'url' is the full embeddings URL, 'model' is required, 'key' is sent as a
# Bearer token (the server ignores it); each call POSTs {"input": text, "model": …}, a string, never a list.
echo "sqlite-rembed: $rows rows, one request each (about $((rows * latency / 1000)) s of latency alone)…" >&2
seconds "$work/rembed.s" sqlite3 -bail "$db" >/dev/null <<SQL
.load ${rembed%.so}
INSERT INTO temp.rembed_clients(name, options) VALUES ('c', rembed_client_options('format', 'openai', 'model', 'm',
    'url', 'http://127.0.0.1:$port/v1/embeddings', 'key', 'unused'));
.output $work/rembed.txt
SELECT id, hex(rembed('c', p)) FROM t ORDER BY id;
SQL
control /_stats > "$work/rembed.json"

python3 - "$rows" "$work" <<'PY'
import json, math, sys
rows, work = int(sys.argv[1]), sys.argv[2]
read = lambda name: open(f"{work}/{name}").read()
ours_s, rembed_s = float(read("ours.s")), float(read("rembed.s"))
ours_n, rembed_n = json.loads(read("ours.json"))["requests"], json.loads(read("rembed.json"))["requests"]
ours, theirs = read("ours.txt").splitlines(), read("rembed.txt").splitlines()
limit = math.ceil(rows / 64)
print(f"rows={rows} ours: requests={ours_n} (at most {limit}) {ours_s:.2f}s; "
      f"sqlite-rembed: requests={rembed_n} {rembed_s:.2f}s; speed-up={rembed_s / ours_s:.1f}x")
failed = False
if ours_n > limit:
    print(f"FAIL: {ours_n} upstream requests for {rows} rows, more than ceil(rows/64) = {limit}", file=sys.stderr)
    failed = True
# Both outputs are "id|HEX(float32 little-endian BLOB)" lines in id order: equal lines mean byte-identical vectors.
bad = [(a, b) for a, b in zip(ours, theirs) if a != b]
if len(ours) != rows or len(theirs) != rows or bad:
    print(f"FAIL: BLOBs differ: {len(bad)} of {min(len(ours), len(theirs))} rows (ours {len(ours)} rows, "
          f"sqlite-rembed {len(theirs)}); first: {bad[:1]}", file=sys.stderr)
    failed = True
else:
    print(f"all {rows} BLOBs byte-identical to sqlite-rembed's")
sys.exit(1 if failed else 0)
PY
