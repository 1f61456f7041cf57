#!/usr/bin/env bash
# Peak memory of warm-cache runs over ROWS rows (default 1,000,000), every answer coming from the response cache:
# the peak RSS (VmHWM, by GNU time) of a fresh sqlite3 process for plain ai_query and for ai_query_rows, in MB
# (10^6 bytes) and as a ratio to the 100 MB target, next to a baseline process that only reads the same table.
# The table is in a temporary database file, not :memory:: a 1M-row in-memory table (~40 MB) would itself count
# against RSS, while a file is read through SQLite's bounded page cache (2 MB by default).
# AIQUERY_LIB=path/without/.so runs another build.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1000000}
lib=${AIQUERY_LIB:-.build/release/libAIQuery}
[[ -n ${AIQUERY_LIB:-} ]] || scripts/build >/dev/null
if [[ $(sqlite3 :memory: ".load $lib" "SELECT count(*) FROM pragma_module_list WHERE name = 'ai_query_rows'") != 1 ]]; then
    echo "memory.sh: $lib has no ai_query_rows table-valued function; build one that has it" >&2
    exit 1
fi
if [[ ! -x /usr/bin/time ]]; then  # GNU time (not the shell keyword) reports a process's peak RSS
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq time >/dev/null
fi
source scripts/lib/test-server.sh
start_test_server
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
export AIQUERY_CACHE="$work/cache.db"
db="$work/t.db"
sqlite3 "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, p TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO t SELECT i, 'document ' || i FROM n;"
setup=".load $lib
SELECT ai_endpoint_set('embed', '{\"provider\":\"openai\",\"task\":\"embeddings\",\"model\":\"m\",\"url\":\"http://127.0.0.1:$port/v1\"}');"
# control PATH [post]: GET (POST with a second argument) a control route of the test server; prints the body.
control() { python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], b"" if len(sys.argv) > 2 else None).read().decode())' "http://127.0.0.1:$port$1" "${@:2}"; }
upstream() { control /_stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"])'; }

# Batched embeddings fill the cache cheaply: ~rows/64 upstream requests instead of one per row.
echo "filling the cache: $rows embeddings (about $(((rows + 63) / 64)) batched requests)…" >&2
sqlite3 -bail "$db" >/dev/null <<SQL
$setup
SELECT count(response) FROM ai_query_rows('embed', 'SELECT p FROM t');
SQL
filled=$(upstream)
control /_reset post >/dev/null

# peak NAME STATEMENT: runs STATEMENT in a fresh sqlite3 process under GNU time, writes its peak RSS (kB) to
# $work/NAME.kb and fails unless the statement counted all rows.
peak() {
    local count
    count=$(/usr/bin/time -f %M -o "$work/$1.kb" sqlite3 -bail "$db" <<<"$setup
$2" | tail -1)
    [[ "$count" == "$rows" ]] || { echo "FAIL: $1 counted '$count', not $rows rows" >&2; exit 1; }
}
peak baseline "SELECT count(length(p)) FROM t;"
peak ai_query "SELECT count(ai_query('embed', p)) FROM t;"
peak ai_query_rows "SELECT count(response) FROM ai_query_rows('embed', 'SELECT p FROM t');"
warm=$(upstream)
[[ "$warm" == 0 ]] || { echo "FAIL: the warm runs sent $warm requests upstream: the cache was not warm" >&2; exit 1; }

python3 - "$rows" "$work" "$filled" <<'PY'
import sys
rows, work, filled = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mb = {name: int(open(f"{work}/{name}.kb").read().split()[-1]) * 1024 / 1e6
      for name in ("baseline", "ai_query", "ai_query_rows")}
print(f"rows={rows} warm cache, peak RSS of each sqlite3 process: baseline (extension loaded, table scan only) {mb['baseline']:.1f} MB; "
      + "; ".join(f"{name} {mb[name]:.1f} MB = {mb[name] / 100:.2f} of the 100 MB target"
                  for name in ("ai_query", "ai_query_rows"))
      + f"; upstream requests: {filled} to fill the cache, 0 during the warm runs")
PY
