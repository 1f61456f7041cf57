#!/usr/bin/env bash
# The task AI functions' answer quality on labelled data, beside a baseline measured in the same run, then their
# speed over many rows.
#   sentiment: ai_analyze_sentiment on examples/reviews.sql's 244 reviews of 1-2 stars (negative) or 4-5 (positive)
#   classify:  ai_classify of all 300 review texts into their 8 product categories
#   extract:   ai_extract of person, city, date and order from 200 invented order notes with known fields
# Each prints accuracy (field-level exact match for extract) and the share of well-formed answers (target 100 %);
# the baseline is the nearest label by local-minilm embedding similarity (sentiment, classify) and for extract a
# pattern that takes capitalised words and digits where the field usually is.
# Then rows per second of ai_task_rows('ai_classify') over ROWS=1000 rows against the loopback test server at
# LATENCY_MS=100, CONCURRENCY=32: time / ideal (target <= 1.15).
# The offline default asks local-gemma and local-minilm; TASK_ENDPOINT=name (an endpoint of AIQUERY_CONFIG) asks
# that one too. LIMIT=n measures the first n rows of each set only (a quick look). Answers are cached like any
# ai_query answer, so a re-run of the quality part is quick and gives the same numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1000} latency=${LATENCY_MS:-100} concurrency=${CONCURRENCY:-32} limit=${LIMIT:-100000}
lib=.build/release/libAIQuery
scripts/build >/dev/null
scripts/local-llm install >/dev/null
work=$(mktemp -d)
server=
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
db="$work/bench.db"
sqlite3 "$db" < examples/reviews.sql
# Invented order notes with known fields, in five phrasings.
sqlite3 "$db" <<'SQL'
CREATE TABLE people(i INTEGER PRIMARY KEY, name TEXT);
INSERT INTO people(name) VALUES ('Maria Lopez'), ('John Smith'), ('Aiko Tanaka'), ('Lars Berg'), ('Fatima Khan'),
  ('Pierre Dubois'), ('Olu Adeyemi'), ('Chen Wei'), ('Anna Novak'), ('Diego Ruiz');
CREATE TABLE cities(i INTEGER PRIMARY KEY, name TEXT);
INSERT INTO cities(name) VALUES ('Lyon'), ('Boston'), ('Osaka'), ('Bergen'), ('Lahore'), ('Quebec'), ('Lagos'), ('Chengdu'),
  ('Brno'), ('Seville'), ('Perth');
CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, person TEXT, city TEXT, date TEXT, order_no TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200),
f AS (SELECT n.i, (SELECT name FROM people p WHERE p.i = 1 + n.i % 10) AS person, (SELECT name FROM cities c WHERE c.i = 1 + (n.i * 7) % 11) AS city,
             (1 + n.i % 28) || ' ' || (SELECT value FROM json_each('["January","February","March","April","May","June","July","August","September","October","November","December"]') WHERE key = n.i % 12) || ' 2024' AS date,
             CAST(4000 + n.i * 37 AS TEXT) AS order_no FROM n)
INSERT INTO notes SELECT i,
  CASE i % 5
    WHEN 0 THEN 'Order ' || order_no || ' from ' || person || ', shipped to ' || city || ' on ' || date || '.'
    WHEN 1 THEN person || ' in ' || city || ' placed order ' || order_no || ' on ' || date || '.'
    WHEN 2 THEN 'On ' || date || ', order ' || order_no || ' left our warehouse for ' || person || ' (' || city || ').'
    WHEN 3 THEN 'Customer: ' || person || '. Delivery city: ' || city || '. Order no. ' || order_no || ', dated ' || date || '.'
    ELSE 'Please send order ' || order_no || ' to ' || person || ', ' || city || '. Ordered ' || date || '.'
  END, person, city, date, order_no FROM f;
SQL
categories="json_array('garden', 'office', 'toys', 'fitness', 'books', 'audio', 'kitchen', 'outdoor')"

# quality LABEL: the three measures for the task endpoint in effect ($setup sets it).
quality() {
    sqlite3 -bail "$db" <<SQL
.load $lib
$setup
CREATE TEMP TABLE s AS SELECT t.id, t.response AS got, CASE WHEN r.rating >= 4 THEN 'positive' ELSE 'negative' END AS want
  FROM ai_task_rows('ai_analyze_sentiment', 'SELECT id, body FROM reviews WHERE rating != 3 ORDER BY id LIMIT $limit') t JOIN reviews r ON r.id = t.id;
CREATE TEMP TABLE c AS SELECT t.id, t.response AS got, r.category AS want
  FROM ai_task_rows('ai_classify', 'SELECT id, body FROM reviews ORDER BY id LIMIT $limit', $categories) t JOIN reviews r ON r.id = t.id;
CREATE TEMP TABLE e AS SELECT t.id, t.response AS got, n.person, n.city, n.date, n.order_no
  FROM ai_task_rows('ai_extract', 'SELECT id, body FROM notes ORDER BY id LIMIT $limit', json_array('person', 'city', 'date', 'order')) t JOIN notes n ON n.id = t.id;
SELECT printf('%-22s sentiment %5.1f %% right of %d, %5.1f %% well-formed | classify %5.1f %% right of %d, %5.1f %% well-formed | extract %5.1f %% of fields right of %d, %5.1f %% well-formed',
  '$1',
  (SELECT 100.0 * avg(got = want) FROM s), (SELECT count(*) FROM s),
  (SELECT 100.0 * avg(got IS NOT NULL AND got IN ('positive', 'negative', 'neutral', 'mixed')) FROM s),
  (SELECT 100.0 * avg(got IS want) FROM c), (SELECT count(*) FROM c),
  (SELECT 100.0 * avg(got IS NOT NULL AND got IN (SELECT value FROM json_each($categories))) FROM c),
  (SELECT 100.0 * avg((got->>'person' IS person) + (got->>'city' IS city) + (got->>'date' IS date) + (got->>'order' IS order_no)) / 4 FROM e),
  (SELECT count(*) FROM e),
  (SELECT 100.0 * avg(json_valid(got) AND (SELECT group_concat(key) FROM json_each(got)) = 'person,city,date,order') FROM e));
SQL
}

echo "measuring answer quality (the local models decode 8 rows at a time in the process: several minutes)…" >&2
setup=""
quality "local-gemma (default)"
if [[ -n ${TASK_ENDPOINT:-} ]]; then
    setup="SELECT ai_config('task_endpoint', '$TASK_ENDPOINT');"
    quality "$TASK_ENDPOINT"
fi

# The baselines: the label whose local-minilm embedding is nearest the text's; for extract a pattern.
sqlite3 -bail "$db" <<SQL
.load $lib
CREATE TEMP TABLE v AS SELECT id, response AS e FROM ai_query_rows('local-minilm', 'SELECT id, body FROM reviews');
CREATE TEMP TABLE labels AS SELECT value AS label, ai_query('local-minilm', value) AS e FROM json_each($categories);
CREATE TEMP TABLE moods AS SELECT value AS label, ai_query('local-minilm', value || ' review') AS e FROM json_each('["positive","negative"]');
CREATE TEMP TABLE nearest_mood AS SELECT id, label FROM
  (SELECT v.id, m.label, row_number() OVER (PARTITION BY v.id ORDER BY ai_cosine(v.e, m.e) DESC) AS rank FROM v, moods m) WHERE rank = 1;
CREATE TEMP TABLE nearest_label AS SELECT id, label FROM
  (SELECT v.id, l.label, row_number() OVER (PARTITION BY v.id ORDER BY ai_cosine(v.e, l.e) DESC) AS rank FROM v, labels l) WHERE rank = 1;
CREATE TEMP TABLE sb AS SELECT r.id, m.label AS got, CASE WHEN r.rating >= 4 THEN 'positive' ELSE 'negative' END AS want
  FROM reviews r JOIN nearest_mood m USING (id) WHERE r.rating != 3 ORDER BY r.id LIMIT $limit;
CREATE TEMP TABLE cb AS SELECT r.id, l.label AS got, r.category AS want FROM reviews r JOIN nearest_label l USING (id) ORDER BY r.id LIMIT $limit;
-- Pattern baseline: the order number is the first run of 4+ digits; person the first two capitalised words
-- that are not a keyword; city and date are not attempted (scored wrong).
CREATE TEMP TABLE eb AS SELECT n.*, (SELECT value FROM json_each('["' || replace(replace(replace(replace(body, '.', ''), ',', ''), '(', ''), ' ', '","') || '"]')
  WHERE value GLOB '[0-9][0-9][0-9][0-9]*' LIMIT 1) AS got_order FROM notes n ORDER BY id LIMIT $limit;
SELECT printf('%-22s sentiment %5.1f %% right of %d, 100.0 %% well-formed | classify %5.1f %% right of %d, 100.0 %% well-formed | extract %5.1f %% of fields right of %d (order numbers only)',
  'baseline (MiniLM/regex)', (SELECT 100.0 * avg(got = want) FROM sb), (SELECT count(*) FROM sb),
  (SELECT 100.0 * avg(got = want) FROM cb), (SELECT count(*) FROM cb),
  (SELECT 100.0 * avg(got_order IS order_no) / 4 FROM eb), (SELECT count(*) FROM eb));
SQL

# Speed: ai_task_rows('ai_classify') on the loopback test server at LATENCY_MS, against the ideal.
source scripts/lib/test-server.sh
start_test_server --latency-ms "$latency"
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
sqlite3 "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, p TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows) INSERT INTO t SELECT i, 'ticket ' || i || ' [[reply:{\"label\":\"bug\"}]]' FROM n;"
start=$(python3 -c 'import time; print(time.monotonic())')
got=$(AIQUERY_CACHE=off sqlite3 -bail "$db" <<SQL
.load $lib
SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"http://127.0.0.1:$port/v1"}');
SELECT ai_config('task_endpoint', 'llm'), ai_config('concurrency', $concurrency);
SELECT count(*), sum(response = 'bug') FROM ai_task_rows('ai_classify', 'SELECT id, p FROM t', json_array('billing', 'bug', 'other'));
SQL
)
elapsed=$(python3 -c "import time; print(time.monotonic() - $start)")
python3 - "$rows" "$latency" "$concurrency" "$elapsed" "$got" <<'PY'
import math, sys
rows, latency, concurrency, elapsed, got = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5].split("\n")[-1]
ideal = math.ceil(rows / concurrency) * latency / 1000
print(f"ai_task_rows ai_classify: {rows} rows at {latency:.0f} ms, concurrency {concurrency}: {elapsed:.2f} s vs ideal {ideal:.2f} s "
      f"= {elapsed / ideal:.2f}x (target <= 1.15), {rows / elapsed:.0f} rows/s; answers (rows|right) {got}")
PY
