#!/usr/bin/env bash
# Several sqlite3 processes share one cache file, started together: first on a new file (they race to create
# it), then on the existing one. Every row must be answered: prints failed and lost rows (target 0 and 0).
# PROCESSES=4 ROWS=500 ROUNDS=5 by default; each process asks the same ROWS prompts, so they also race to write
# the same keys. AIQUERY_LIB=path/without/.so runs another build.
set -euo pipefail
cd "$(dirname "$0")/.."
processes=${PROCESSES:-4} rows=${ROWS:-500} rounds=${ROUNDS:-5}
lib=${AIQUERY_LIB:-$PWD/.build/release/libAIQuery}
[[ -n ${AIQUERY_LIB:-} ]] || scripts/build >/dev/null
source scripts/lib/test-server.sh
start_test_server --latency-ms 2
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/rows.sql" <<SQL
SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"http://127.0.0.1:$port/v1"}');
.mode list
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
SELECT i, json_extract(ai_query('llm', 'shared prompt ' || i, 'failOnError', 'false'), '\$.response') FROM n;
SQL
expected=$((processes * rows * rounds * 2))
answered=0 failed=0 errors=0
for round in $(seq "$rounds"); do
    for file in new existing; do
        pids=()
        for p in $(seq "$processes"); do
            HOME="$work" AIQUERY_CACHE="$work/cache-$round.db" sqlite3 -batch :memory: ".load $lib" ".read $work/rows.sql" \
                > "$work/out-$round-$file-$p" 2> "$work/err-$round-$file-$p" &
            pids+=($!)
        done
        wait "${pids[@]}"
        for p in $(seq "$processes"); do
            out="$work/out-$round-$file-$p"
            answered=$((answered + $(grep -cE '^[0-9]+\|echo: shared prompt [0-9]+$' "$out" || true)))
            failed=$((failed + $(grep -cE '^[0-9]+\|$' "$out" || true)))
            [[ -s "$work/err-$round-$file-$p" ]] && errors=$((errors + 1)) && head -c 300 "$work/err-$round-$file-$p" >&2
        done
    done
done
lost=$((expected - answered - failed))
echo "processes=$processes rows=$rows rounds=$rounds (new file, then existing): rows expected=$expected answered=$answered failed=$failed lost=$lost; processes with errors=$errors (target 0, 0, 0)"
[[ $failed == 0 && $lost == 0 && $errors == 0 ]]
