-- sqlite-vec reads aiquery's embeddings as they are: float32 BLOBs (subtype 223).
-- Run by scripts/quickstart after sql/quickstart.sql when sqlite-vec could be installed.
.headers on
.mode box --wrap 70
SELECT v.id, vec_length(v.embedding) AS dimensions,
       round(1 - vec_distance_cosine(v.embedding, q.embedding), 6) AS sqlite_vec_similarity,
       round(ai_cosine(v.embedding, q.embedding), 6) AS ai_cosine
FROM review_vectors v, (SELECT ai_query('local-minilm', 'the battery does not last long') AS embedding) q
ORDER BY sqlite_vec_similarity DESC LIMIT 3;
