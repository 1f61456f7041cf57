import AIQueryTestSupport
import Foundation
import Testing

/// Hostile numbers and upstreams: the host process never dies or hangs, and every refusal says what to do.
@Suite("hostile input and upstreams")
struct HardeningTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(cacheInHome: true)
    }

    var endpoint: String {
        #"SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1"}');"#
            + "\nSELECT ai_config('backoff', 0.01);\n"
    }

    @Test(arguments: [
        ("SELECT ai_query('llm', 'x', 'timeout', 1e16);", "ai_query: timeout must be a number of seconds greater than 0 and at most 86400, got '1e+16'"),
        ("SELECT ai_query('llm', 'x', 'deadline', 1e300);", "ai_query: deadline must be a number of seconds greater than 0 and at most 604800, got '1e+300'"),
        ("SELECT ai_config('cache_ttl', 1e300);", "ai_config: cache_ttl must be a number of seconds greater than 0 and at most 3153600000, got '1e+300'"),
        ("SELECT ai_config('timeout', 1e300);", "ai_config: timeout must be a number of seconds greater than 0 and at most 86400, got '1e+300'"),
        (
            #"SELECT ai_query('llm', 'x', 'modelParameters', '{"max_tokens":9223372036854775807}');"#,
            #"ai_query: modelParameters: "max_tokens" must be a positive integer (at most 10^9), got 9223372036854775807 (AI_FUNCTION_INVALID_MODEL_PARAMETERS.INVALID_NUMERIC_PARAMETER)"#
        ),
        (
            "SELECT ai_query('llm', 'x', 'returnType', replace(printf('%.*c', 100000, 'x'), 'x', 'STRUCT<a: ') || 'INT');",
            "nests more than 64 types deep"
        ),
    ])
    func hugeNumbersAndDeepTypesAreRefused(statement: String, message: String) throws {
        let result = try shell.run(endpoint + statement)
        #expect(result.status == 0 || result.stderr.contains("Runtime error"), "the shell survived")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr.prefix(400))")
        #expect(try server.requests().isEmpty)
    }

    /// A Retry-After no cap allows (infinite, 1e19 s, 1e300 ms) fails the row at once instead of crashing or
    /// waiting; one given as an HTTP date is honoured.
    @Test(arguments: ["[[retry_after:inf]]", "[[retry_after:1e19]]", "[[retry_after_ms:1e300]]"])
    func retryAfterBeyondAnyCapFailsTheRowAtOnce(marker: String) throws {
        let message = try shell.error(endpoint + "SELECT ai_query('llm', 'x [[status:429]] \(marker)');")
        #expect(message.hasPrefix("ai_query: endpoint 'llm' returned HTTP 429"))
        #expect(message.contains("; the endpoint asked to wait "), "\(message)")
        #expect(message.hasSuffix("more than the 60 s cap"))
        #expect(try server.requests().count == 1)
    }

    @Test func retryAfterAsAnHTTPDateIsHonoured() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(3))
        let lines = try shell.query(endpoint + "SELECT ai_query('llm', 'x [[first:1:status=429]] [[retry_after:\(date)]]');")
        #expect(lines.last == "echo: x [[first:1:status=429]] [[retry_after:\(date)]]")
        let times = try server.requests().compactMap { $0["t"] as? Double }
        #expect(times.count == 2)
        // The date is 2–3 s ahead at one-second resolution: at least a second between the attempts (lower bound
        // only, a loaded machine may be slower).
        #expect(times[1] - times[0] >= 1.0)
    }

    /// Token counts of Int64.max in every answer: summed without overflow, in both forms, with and without a budget.
    @Test(arguments: ["", ", 'maxTokens', 1000"]) func absurdUsageIsBounded(budget: String) throws {
        let result = try shell.run(
            endpoint + """
                SELECT ai_config('cache', 'off');
                CREATE TABLE t AS SELECT 'u' || value || ' [[usage:9223372036854775807]]' AS p FROM generate_series(1, 3);
                SELECT count(ai_query('llm', p\(budget))) FROM t;
                SELECT count(*) FROM ai_query_rows('llm', 'SELECT p FROM t', '{"maxTokens":\(budget.isEmpty ? "null" : "1000")}');
                SELECT input_tokens > 0, output_tokens > 0 FROM ai_usage;
                """)
        #expect(result.lines.last == "1|1", "stdout: \(result.stdout) stderr: \(result.stderr)")
        if budget.isEmpty {
            #expect(result.stderr == "")
        } else {
            #expect(result.stderr.contains("the statement reached its budget of maxTokens 1000"))
        }
    }

    @Test func aHugeResponseHeaderIsAClearError() throws {
        let message = try shell.error(endpoint + "SELECT ai_query('llm', 'x [[big_header:200000]]');")
        #expect(message.hasPrefix("ai_query: endpoint 'llm': a response header is larger than the 100 KB libcurl accepts"))
        #expect(try server.requests().count == 1, "not retried: it would fail again")
    }

    @Test func aRequestLargerThanTheWholeTokenLimitIsRefused() throws {
        let define = #"SELECT ai_endpoint_set('small', '{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1","tpm":100}');"#
        let lines = try shell.query(
            define + "\nSELECT json_extract(ai_query('small', 'x', 'modelParameters', '{\"max_tokens\":500}', 'failOnError', 'false'), '$.errorMessage');")
        #expect(
            lines.last
                == "ai_query: endpoint 'small': this request needs about 519 tokens (its prompt and max_tokens), more than the endpoint's whole limit of 100 tokens per minute; raise limit.tokens, lower max_tokens or shorten the request"
        )
        #expect(try server.requests().isEmpty)
    }

    @Test func anEmbeddingsBatchOfMixedLengthsIsAnError() throws {
        let define = #"SELECT ai_endpoint_set('embed', '{"provider":"openai","task":"embeddings","model":"e","url":"\#(server.baseURL)/v1"}');"#
        let message = try shell.error(
            define + "\nSELECT count(*) FROM ai_query_rows('embed', 'SELECT ''t'' || value || CASE value WHEN 3 THEN '' [[dims:5]]'' ELSE '''' END FROM generate_series(1, 4)');")
        #expect(message.contains("answered embeddings of different lengths (5, 8) for one batch of 4 inputs"), "\(message)")
    }

    @Test(arguments: [
        ("SELECT ai_cosine(x'0000c07f0000803f', x'0000803f0000803f');", "ai_cosine: the first argument holds NaN at position 1 of 2"),
        ("SELECT ai_cosine(x'0000803f0000803f', x'0000803f0000807f');", "ai_cosine: the second argument holds an infinite value at position 2 of 2"),
        ("SELECT ai_cosine('[1e999, 1]', '[1, 1]');", "ai_cosine: the first argument is not valid JSON (invalid number at byte 1)"),
        ("SELECT * FROM ai_query_rows('llm', ';');", "ai_query_rows: the query is empty: give one SELECT statement"),
        ("SELECT ai_query('llm', 'x', '[1,2]');", "ai_query: the options JSON must be an object such as '{\"failOnError\":false}', got an array"),
        ("SELECT ai_query('llm', 'x', json('[1,2]'));", "ai_query: the options JSON must be an object such as '{\"failOnError\":false}', got an array"),
        ("SELECT ai_query('llm', 'x', '1e999');", "ai_query: the options JSON is invalid: invalid number at byte 0"),
        ("SELECT ai_query('llm', 'x', printf('%.*c', 100000, '['));", "ai_query: the options JSON is invalid: JSON nested deeper than 512 levels"),
        (#"SELECT ai_endpoint_set('k', '{"provider":"openai","model":"m","api_key":"$"}');"#, #"ai_endpoint_set: endpoint 'k': api_key "$" must name an environment variable, like "$OPENAI_API_KEY" (letters, digits and _)"#),
    ])
    func unclearAnswersAreClearErrors(statement: String, message: String) throws {
        let text = try shell.error(endpoint + statement)
        #expect(text.hasPrefix(message), "\(text.prefix(300))")
    }
}
