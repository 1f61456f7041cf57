-- aiquery quickstart: run by scripts/quickstart against examples/docs.sql.
-- Endpoints 'my-llm' (chat) and 'my-embedder' (embeddings) come from the endpoints YAML (AIQUERY_CONFIG).
.headers on
.mode box --wrap 60

SELECT ai_version() AS version;
SELECT name, task, provider, model, url FROM ai_endpoints;

-- One call per row: the prompt is built in SQL.
SELECT id, title, ai_query('my-llm', 'Summarize in five words: ' || body) AS summary FROM docs LIMIT 3;

-- Write results back into the table.
UPDATE docs SET summary = ai_query('my-llm', 'Summarize in five words: ' || body,
                                   'modelParameters', '{"max_tokens": 30, "temperature": 0}')
WHERE id <= 3;
SELECT id, summary FROM docs WHERE summary IS NOT NULL;

-- Embeddings are float32 BLOBs (what sqlite-vec reads) or JSON arrays.
SELECT id, length(ai_query('my-embedder', body)) / 4 AS dimensions,
       substr(ai_query('my-embedder', body, 'returnType', 'ARRAY<FLOAT>'), 1, 40) || '…' AS embedding
FROM docs LIMIT 2;

-- A failing row doesn't fail the statement with failOnError => false.
SELECT id, json_extract(r, '$.response') AS response, json_extract(r, '$.errorMessage') AS error
FROM (SELECT id, ai_query('my-llm', 'Tag: ' || title, 'failOnError', 'false') AS r FROM docs LIMIT 2);

-- The exact request body, with no network call.
SELECT ai_query_request('my-llm', 'Hello', 'modelParameters', '{"max_tokens": 5}') AS request_body;
