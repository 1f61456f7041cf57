import AIQueryTestSupport
import Foundation
import Testing

/// `vector_search` over a plain table (a scan with ai_cosine) and over a sqlite-vec vec0 table (its KNN index),
/// with the query embedded by a loopback embeddings endpoint.
@Suite("vector_search")
struct VectorSearchTests {
    let server: MockServer
    let shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell()
    }

    var setUp: String {
        """
        SELECT ai_endpoint_set('embed', '{"provider":"openai","task":"embeddings","model":"e","url":"\(server.baseURL)/v1"}');
        SELECT ai_config('task_embeddings_endpoint', 'embed');
        CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT, embedding BLOB);
        INSERT INTO docs(body) VALUES ('first doc'), ('second doc'), ('third doc'), ('fourth doc');
        UPDATE docs SET embedding = ai_query('embed', body);
        """
    }

    @Test func findsTheNearestRowsOfAPlainTable() throws {
        let lines = try shell.query(
            setUp + """
                SELECT id, round(score, 6), row FROM vector_search('docs', 'third doc', 2);
                SELECT count(*), max(score) <= 1.000001 FROM vector_search('docs', 'something else');
                """)
        #expect(lines[2] == #"3|1.0|{"id":3,"body":"third doc"}"#, "the same text first, score 1, the other columns as JSON")
        #expect(lines[3].hasPrefix("2|") || lines[3].hasPrefix("1|") || lines[3].hasPrefix("4|"))
        #expect(lines[4] == "4|1")
    }

    @Test func searchesAVec0TableThroughItsIndex() throws {
        let vec = try #require(ProcessInfo.processInfo.environment["AIQUERY_SQLITE_VEC"], "scripts/test installs sqlite-vec (scripts/sqlite-vec)")
        let lines = try shell.query(
            ".load \(vec)\n" + setUp + """
                CREATE VIRTUAL TABLE vecs USING vec0(embedding float[8], body TEXT);
                INSERT INTO vecs(rowid, embedding, body) SELECT id, embedding, body FROM docs;
                SELECT id, round(score, 6), row FROM vector_search('vecs', 'second doc', 1);
                EXPLAIN QUERY PLAN SELECT rowid FROM vecs WHERE embedding MATCH x'00' AND k = 1;
                """)
        #expect(lines[2] == #"2|1.0|{"body":"second doc"}"#)
        #expect(lines.last?.contains("VIRTUAL TABLE INDEX") == true, "vec0 answers k-nearest queries from its index")
    }

    @Test func badArgumentsSayHowToFixThem() throws {
        let cases: [(String, String)] = [
            ("SELECT * FROM vector_search('nope', 'q');", "vector_search: no table named 'nope' in this database"),
            ("CREATE TABLE t(a BLOB, b BLOB); SELECT * FROM vector_search('t', 'q');",
             #"vector_search: cannot tell which column of t holds the embeddings; name it: vector_search('t', 'query', 10, '{"column": "vec"}')"#),
            ("CREATE TABLE t(embedding BLOB); SELECT * FROM vector_search('t', 'q', 1000);", "vector_search: num_results must be a whole number from 1 to 100"),
            ("CREATE TABLE t(embedding BLOB); SELECT * FROM vector_search('t', 'q', 5, '{\"colour\":\"x\"}');",
             "vector_search: unknown option 'colour'; vector_search takes endpoint, column"),
            ("CREATE TABLE t(embedding BLOB); SELECT * FROM vector_search('t', NULL);",
             "vector_search: the query (second argument) is the text to search for; e.g. SELECT id, score FROM vector_search('review_vectors', 'battery life', 5)"),
        ]
        for (sql, expected) in cases { #expect(try shell.error(sql) == expected, "\(sql)") }
        #expect(try server.requests().isEmpty)
    }
}
