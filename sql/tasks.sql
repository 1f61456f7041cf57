-- aiquery task AI functions: Databricks' ai_classify, ai_extract, ai_analyze_sentiment, … on real local models.
-- Run by scripts/quickstart on examples/reviews.sql after sql/quickstart.sql. With no configuration they ask the
-- built-in models: local-chat writes (ai_summarize, ai_fix_grammar, ai_gen), local-gemma labels, extracts and
-- translates under a grammar or a pattern, local-minilm embeds (ai_similarity); point them at
-- a better model with ai_config('task_endpoint', 'my-llm') or task_endpoints: in the endpoints file.
.headers on
.mode box --wrap 60

SELECT ai_config('task_endpoint') AS task_endpoint, ai_config('task_embeddings_endpoint') AS task_embeddings_endpoint;

-- 1. Sentiment of a few reviews beside their star rating: always one of positive, negative, neutral, mixed.
SELECT id, rating, ai_analyze_sentiment(body) AS sentiment, substr(body, 1, 60) AS review
FROM reviews WHERE id IN (1, 6, 12, 25, 40) ORDER BY id;

-- 2. Many rows at once: ai_task_rows runs a task function over a query's rows with requests in flight together
--    (as ai_query_rows does for ai_query), answers in order. The answer is always one of the labels.
SELECT r.id, t.response AS guessed_category, r.category
FROM ai_task_rows('ai_classify', 'SELECT id, product || '': '' || body FROM reviews WHERE id <= 6',
                  json_array('garden', 'office', 'toys', 'fitness', 'books', 'audio', 'kitchen', 'outdoor')) t
JOIN reviews r ON r.id = t.id;

-- 3. Fields out of free text: always valid JSON with exactly the asked keys, NULL where the text is silent.
SELECT ai_extract('Order 4411 from Maria Lopez, shipped to Lyon on 12 March 2024.', json_array('person', 'city', 'date')) AS fields;

-- 4. Personal data masked; the text itself is never rewritten by the model.
SELECT ai_mask('Contact Ada at ada@example.com or +44 20 7946 0958.', json_array('email', 'phone')) AS masked;

-- 5. Text functions, and the similarity of two texts from their embeddings.
SELECT ai_summarize(body, 15) AS summary FROM reviews WHERE id = 6;
SELECT ai_translate('Thank you for your order.', 'fr') AS french;
SELECT round(ai_similarity('the battery dies quickly', 'short battery life'), 3) AS close,
       round(ai_similarity('the battery dies quickly', 'lovely garden lights'), 3) AS far;

-- 6. The exact request a task function sends, without sending it.
SELECT ai_task_request('ai_analyze_sentiment', 'Works great!') AS request;
