-- aiquery quickstart: real models on this machine, no API key, no network.
-- Run by scripts/quickstart on examples/reviews.sql (300 product reviews). Endpoints used:
--   local-minilm  all-MiniLM-L6-v2 embeddings, computed inside the sqlite3 process (384 floats per text)
--   local-gemma   Gemma 3 270M, a small *base* model run in the process by llama.cpp: it continues text, it does
--                 not follow instructions, so prompts show it a pattern to continue.
--   local-chat    SmolLM2-135M-Instruct, a small instruction-following model, also in the process.
.headers on
.mode box --wrap 70

SELECT ai_version() AS version;
SELECT name, task, provider, model, url FROM ai_endpoints;

-- 1. Embed every review into a table. ai_query_rows runs ai_query over a query's rows, many at a time and in
--    batches, and returns them in order. Results are cached: a re-run of this script answers from the cache.
.timer on
CREATE TABLE review_vectors AS
  SELECT id, response AS embedding FROM ai_query_rows('local-minilm', 'SELECT id, body FROM reviews');
.timer off
SELECT count(*) AS reviews, length(embedding) / 4 AS dimensions, typeof(embedding) AS stored_as FROM review_vectors;

-- 2. Nearest neighbours by cosine similarity: reviews closest in meaning to a question.
SELECT r.id, r.product, round(ai_cosine(v.embedding, q.embedding), 3) AS similarity, r.body
FROM review_vectors v JOIN reviews r USING (id),
     (SELECT ai_query('local-minilm', 'the battery does not last long') AS embedding) q
ORDER BY similarity DESC LIMIT 3;

-- 3. A completion per row, written back with UPDATE (the plain per-row form, as on Databricks).
ALTER TABLE reviews ADD COLUMN sentiment TEXT;
.timer on
UPDATE reviews SET sentiment = trim(ai_query('local-gemma',
    'Review: Broke after one day and the seller ignored my emails.' || char(10) || 'Sentiment: negative' || char(10) || char(10) ||
    'Review: Works perfectly, great value, I would buy it again.' || char(10) || 'Sentiment: positive' || char(10) || char(10) ||
    'Review: ' || body || char(10) || 'Sentiment:',
    'modelParameters', '{"max_tokens": 2, "temperature": 0}'), ' ' || char(10))
WHERE id IN (SELECT id FROM (SELECT id FROM reviews WHERE rating = 1 ORDER BY id LIMIT 4)
             UNION ALL SELECT id FROM (SELECT id FROM reviews WHERE rating = 5 ORDER BY id LIMIT 4));
.timer off
SELECT id, rating, sentiment, substr(body, 1, 50) || '...' AS review FROM reviews WHERE sentiment IS NOT NULL;

-- 4. An instruction-following model answers a question and writes a summary (chat: its own chat template).
SELECT ai_query('local-chat', 'What is the capital of France? Answer in one word.', 'modelParameters', '{"max_tokens": 8}') AS answer;
SELECT ai_query('local-chat', 'Summarize in one sentence: ' || body, 'modelParameters', '{"max_tokens": 60}') AS summary
FROM reviews WHERE id = 6;

-- 5. With failOnError => false a failing row does not stop the statement: it carries errorMessage instead.
--    Row 2's prompt is longer than the model's 2048-token context, so that row alone fails.
--    (MATERIALIZED: SQLite would otherwise copy the ai_query call into each json_extract and call it twice.)
WITH answers AS MATERIALIZED (
  SELECT id, ai_query('local-gemma',
           CASE id WHEN 2 THEN replace(hex(zeroblob(3000)), '00', 'word ') ELSE 'The ' || product || ' is a' END,
           'modelParameters', '{"max_tokens": 6, "temperature": 0}', 'failOnError', 'false') AS r
  FROM reviews WHERE id <= 3)
SELECT id, json_extract(r, '$.response') AS response, substr(json_extract(r, '$.errorMessage'), 1, 110) AS error FROM answers;

-- 6. What this run cost: calls, cache hits and latency per endpoint.
SELECT endpoint, rows, cache_hits, calls, errors, latency_p50_ms FROM ai_usage;
