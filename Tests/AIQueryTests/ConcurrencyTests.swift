import AIQueryTestSupport
import Foundation
import Testing

/// ai_query_rows: many requests in flight, answers in the query's order, embeddings in batches, budgets and Ctrl-C.
@Suite("concurrent rows, batches, budgets and cancel")
struct ConcurrencyTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer(environment: ["MOCK_MAX_BATCH": "40"])
        shell = try Shell(cacheInHome: true)
    }

    var endpoints: String {
        """
        SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"\(server.baseURL)/v1"}');
        SELECT ai_endpoint_set('embed', '{"provider":"openai","task":"embeddings","model":"e","url":"\(server.baseURL)/v1"}');
        SELECT ai_config('backoff', 0.01);
        CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
          SELECT i, 'prompt ' || i || ' [[sleep:0.0' || (i * 7 % 10) || ']]' AS p FROM n;

        """
    }

    func modelCalls(_ path: String) throws -> [[String: Any]] {
        try server.requests().filter { ($0["path"] as? String) == path }
    }

    /// Rows finish out of order (latencies vary from 0 to 90 ms); the answers come back in the query's order,
    /// equal to what the plain per-row form gives.
    @Test func sameValuesAndOrderAsThePerRowForm() throws {
        let result = try shell.run(
            endpoints + """
                SELECT ai_config('cache', 'off');
                .mode list
                SELECT i, ai_query('llm', p) FROM t ORDER BY i;
                SELECT '--';
                SELECT id, response FROM ai_query_rows('llm', 'SELECT i, p FROM t ORDER BY i', '{"concurrency":16}');
                """)
        #expect(result.stderr == "")
        let parts = result.stdout.components(separatedBy: "--\n")
        #expect(parts.count == 2)
        let sequential = parts[0].split(separator: "\n").filter { $0.contains("|") }
        let concurrent = parts[1].split(separator: "\n")
        #expect(sequential.count == 120)
        #expect(concurrent == sequential)
        #expect(try modelCalls("/v1/chat/completions").count == 240)
    }

    @Test func nullRequestsGiveNullWithoutACall() throws {
        let lines = try shell.query(
            endpoints + """
                SELECT id, coalesce(response, 'NULL') FROM ai_query_rows('llm', 'SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE ''q'' || i END FROM t WHERE i <= 6');
                """)
        #expect(lines.suffix(6) == ["1|echo: q1", "2|echo: q2", "3|NULL", "4|echo: q4", "5|echo: q5", "6|NULL"])
        #expect(try modelCalls("/v1/chat/completions").count == 4)
    }

    @Test func oneColumnQueriesNumberTheRows() throws {
        let lines = try shell.query(endpoints + "SELECT id, response FROM ai_query_rows('llm', 'SELECT p FROM t WHERE i IN (5, 9) ORDER BY i');")
        #expect(lines.suffix(2) == ["1|echo: prompt 5 [[sleep:0.05]]", "2|echo: prompt 9 [[sleep:0.03]]"])
    }

    @Test func aFailureInTheMiddleStopsTheStatementAtThatRow() throws {
        let message = try shell.error(
            endpoints + "SELECT count(*) FROM ai_query_rows('llm', 'SELECT i, CASE i WHEN 50 THEN ''bad [[status:400]]'' ELSE p END FROM t');")
        #expect(message.hasPrefix("ai_query_rows: row 50 (id 50): ai_query: endpoint 'llm' returned HTTP 400"))
    }

    @Test func withFailOnErrorFalseOnlyTheFailedRowsCarryAnError() throws {
        let lines = try shell.query(
            endpoints + """
                SELECT id, json_extract(response, '$.response'), json_extract(response, '$.errorMessage') IS NOT NULL
                FROM ai_query_rows('llm', 'SELECT i, CASE WHEN i IN (3, 4) THEN ''bad [[status:400]]'' ELSE ''ok'' || i END FROM t WHERE i <= 5',
                                   '{"failOnError":false,"maxRetries":0}');
                """)
        #expect(lines.suffix(5) == ["1|echo: ok1|0", "2|echo: ok2|0", "3||1", "4||1", "5|echo: ok5|0"])
    }

    /// 120 texts in batches of 64 are two requests, but the server takes at most 40 inputs: the 413 splits each
    /// batch until it fits. The vectors equal the per-row form's.
    @Test func embeddingsGoInBatchesThatSplitWhenTooLarge() throws {
        let lines = try shell.query(
            endpoints + """
                SELECT ai_config('cache', 'off');
                CREATE TABLE batched AS SELECT id, response AS v FROM ai_query_rows('embed', 'SELECT i, ''text '' || i FROM t');
                CREATE TABLE single AS SELECT i AS id, ai_query('embed', 'text ' || i) AS v FROM t;
                SELECT count(*), sum(b.v = s.v), sum(length(b.v) = 32) FROM batched b JOIN single s USING (id);
                """)
        #expect(lines.last == "120|120|120")
        let batches = try modelCalls("/v1/embeddings").compactMap { ($0["body"] as? [String: Any])?["input"] as? [Any] }
        // Sent concurrently, so in any order: 64 → 32 + 32 and 56 → 28 + 28 after the two refused batches.
        #expect(batches.map(\.count).sorted() == [28, 28, 32, 32, 56, 64])
    }

    /// One bad input makes the endpoint refuse its whole batch; halving isolates it, so only that row fails.
    @Test(arguments: [true, false]) func aBadInputInABatchFailsOnlyItsRow(failOnError: Bool) throws {
        let query = "SELECT i, CASE i WHEN 37 THEN ''bad [[status:400]]'' ELSE ''text '' || i END FROM t WHERE i <= 64"
        if failOnError {
            let message = try shell.error(endpoints + "SELECT count(*) FROM ai_query_rows('embed', '\(query)');")
            #expect(message.hasPrefix("ai_query_rows: row 37 (id 37): ai_query: endpoint 'embed' returned HTTP 400"))
            return
        }
        let lines = try shell.query(
            endpoints + """
                SELECT count(*), sum(json_extract(response, '$.errorMessage') IS NOT NULL), group_concat(CASE WHEN json_extract(response, '$.errorMessage') IS NOT NULL THEN id END)
                FROM ai_query_rows('embed', '\(query)', '{"failOnError":false}');
                """)
        #expect(lines.last == "64|1|37")
    }

    @Test func identicalRequestsInOneStatementAskOnce() throws {
        let lines = try shell.query(
            endpoints + "SELECT count(*), count(DISTINCT response) FROM ai_query_rows('llm', 'SELECT i, ''same'' FROM t WHERE i <= 30');")
        #expect(lines.last == "30|1")
        #expect(try modelCalls("/v1/chat/completions").count == 1)
    }

    @Test func updateFromAndCreateTableAsSelect() throws {
        let lines = try shell.query(
            endpoints + """
                CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT, summary TEXT);
                INSERT INTO docs(id, body) SELECT i, 'doc ' || i FROM t WHERE i <= 40;
                UPDATE docs SET summary = r.response
                  FROM ai_query_rows('llm', 'SELECT id, ''Summarize: '' || body FROM docs') AS r WHERE r.id = docs.id;
                CREATE TABLE copies AS SELECT id, response FROM ai_query_rows('llm', 'SELECT id, ''Summarize: '' || body FROM docs');
                SELECT count(*), sum(summary = 'echo: Summarize: ' || body) FROM docs;
                SELECT count(*), sum(c.response = d.summary) FROM copies c JOIN docs d USING (id);
                """)
        #expect(lines.suffix(2) == ["40|40", "40|40"])
        // The second statement was answered from the cache.
        #expect(try modelCalls("/v1/chat/completions").count == 40)
    }

    @Test func maxCallsStopsTheStatement() throws {
        let message = try shell.error(
            endpoints + "SELECT ai_config('cache', 'off');\nSELECT count(ai_query('llm', p, 'maxCalls', 7)) FROM t;")
        #expect(message.hasPrefix("ai_query: the statement reached its budget of maxCalls 7 (7 calls to 'llm' made, 7 rows done)"))
        #expect(try modelCalls("/v1/chat/completions").count == 7)
        let rows = try shell.error(
            endpoints + "SELECT count(*) FROM ai_query_rows('llm', 'SELECT i, p FROM t', '{\"maxCalls\":10,\"cache\":\"off\"}');")
        #expect(rows.contains("the statement reached its budget of maxCalls 10"))
        #expect(try modelCalls("/v1/chat/completions").count == 17)
    }

    @Test func maxTokensStopsTheStatement() throws {
        // Each echo call uses 3 tokens ('w1' in, 'echo: w1' out): the fifth call would start at 12.
        let message = try shell.error(
            endpoints + "SELECT ai_config('cache', 'off');\nSELECT count(ai_query('llm', 'w' || i, 'maxTokens', 12)) FROM t;")
        #expect(message.hasPrefix("ai_query: the statement reached its budget of maxTokens 12 (12 tokens in 4 calls"))
    }

    /// Ctrl-C: the shell's SIGINT handler calls sqlite3_interrupt, which both forms notice while waiting.
    @Test(arguments: [
        "SELECT count(*) FROM ai_query_rows('llm', 'SELECT i, ''slow [[sleep:20]] '' || i FROM t', '{\"concurrency\":8}');",
        "SELECT count(ai_query('llm', 'slow [[sleep:20]] ' || i)) FROM t;",
    ])
    func ctrlCStopsTheStatement(statement: String) throws {
        let server = self.server
        let result = try shell.run(
            endpoints + "SELECT ai_config('cache', 'off');\n" + statement, timeout: 40,
            interruptWhen: { ((try? server.requests().count) ?? 0) >= 1 })
        #expect(result.stderr.contains("interrupted (Ctrl-C): the statement stopped and requests in flight were abandoned"))
        // Nothing more was sent after the interrupt (each request takes 20 s, 120 rows would take minutes).
        #expect(try modelCalls("/v1/chat/completions").count <= 8)
    }

    @Test func usageTableCountsRowsCallsHitsAndTokens() throws {
        let lines = try shell.query(
            endpoints + """
                SELECT ai_endpoint_set('priced', '{"provider":"openai","task":"chat","model":"m","url":"\(server.baseURL)/v1","price":{"input":2,"output":10}}');
                SELECT count(*) FROM ai_query_rows('priced', 'SELECT ''two words'' || i FROM t WHERE i <= 10');
                SELECT count(ai_query('priced', 'two words' || i)) FROM t WHERE i <= 20;
                SELECT count(ai_query('priced', 'x [[first:1:status=503:u]]'));
                SELECT endpoint, rows, cache_hits, calls, retries, errors, input_tokens, output_tokens, latency_p50_ms > 0, round(cost_usd * 1e6) FROM ai_usage;
                """)
        // 31 rows: 10 + 20 (10 of them cached) + 1; 22 calls: 10 + 10 + 2 (one retry). Tokens as the server
        // counts words: 10 × 2 + 10 × 2 + 2 in, 10 × 3 + 10 × 3 + 3 out; cost 42 × $2 + 63 × $10 per million.
        #expect(lines.last == "priced|31|10|22|1|0|42|63|1|714.0")
    }

    @Test func badArgumentsSayHowToCallIt() throws {
        #expect(try shell.error("SELECT * FROM ai_query_rows('llm');").hasPrefix("ai_query_rows: expected ai_query_rows(endpoint, query [, options])"))
        #expect(try shell.error(endpoints + "SELECT * FROM ai_query_rows('llm', 'SELECT 1, 2, 3');")
            == "ai_query_rows: the query must return (request) or (id, request); it returns 3 columns")
        #expect(try shell.error(endpoints + "SELECT * FROM ai_query_rows('llm', 'SELEC nothing');")
            .hasPrefix("ai_query_rows: the query does not prepare: near \"SELEC\": syntax error"))
        #expect(try shell.error(endpoints + "SELECT * FROM ai_query_rows('llm', 'SELECT p FROM t', '{\"concurrency\":0}');")
            == "ai_query_rows: concurrency must be an integer from 1 to 256, got '0'")
    }
}
