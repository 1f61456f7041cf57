import AIQueryTestSupport
import Foundation
import Testing

/// Both forms of ai_query are the same pipeline: the same value, the same count in ai_usage, the same settings,
/// the same deduplication and the same interrupt, whatever the cache mode.
@Suite("one pipeline for both forms")
struct PipelineTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(cacheInHome: true)
    }

    func endpoint(_ extra: String = "") -> String {
        #"SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1"\#(extra)}');"#
            + "\nSELECT ai_config('backoff', 0.01);\n"
    }

    func modelCalls() throws -> Int {
        try server.requests().filter { ($0["path"] as? String) == "/v1/chat/completions" }.count
    }

    static let castError =
        #"ai_query: cannot cast the model output to returnType BIGINT: not an integer; output was \"forty-two\" (AI_FUNCTION_HTTP_PARSE_CAST_ERROR); change returnType or ask the model for that format"#

    /// A failed cast under failOnError false is one row, one error, one call: not a row counted twice.
    @Test func aFailedCastCountsTheRowOnce() throws {
        let lines = try shell.query(
            endpoint() + """
                SELECT ai_query('llm', 'x [[reply:forty-two]]', 'returnType', 'INT', 'failOnError', 'false');
                SELECT rows, errors, calls, cache_hits FROM ai_usage WHERE endpoint = 'llm';
                """)
        #expect(lines.suffix(2) == [#"{"response":null,"errorMessage":"\#(Self.castError)"}"#, "1|1|1|0"])
    }

    /// `response` of ai_query_rows is exactly what ai_query returns, including a failed cast under failOnError
    /// false; with failOnError true the error names the row.
    @Test func aFailedCastInAiQueryRowsIsThatRowsErrorMessage() throws {
        let query = "SELECT i, CASE i WHEN 2 THEN ''x [[reply:forty-two]]'' ELSE ''[[reply:'' || i || '']]'' END FROM (SELECT 1 AS i UNION ALL SELECT 2 UNION ALL SELECT 3)"
        let lines = try shell.query(
            endpoint() + """
                SELECT id, response FROM ai_query_rows('llm', '\(query)', '{"returnType":"INT","failOnError":false}');
                SELECT ai_query('llm', 'x [[reply:forty-two]]', '{"returnType":"INT","failOnError":false}');
                SELECT rows, errors FROM ai_usage;
                """)
        #expect(
            lines.suffix(5) == [
                #"1|{"response":1,"errorMessage":null}"#, #"2|{"response":null,"errorMessage":"\#(Self.castError)"}"#,
                #"3|{"response":3,"errorMessage":null}"#, #"{"response":null,"errorMessage":"\#(Self.castError)"}"#, "4|2",
            ])
        let message = try shell.error(endpoint() + "SELECT count(*) FROM ai_query_rows('llm', '\(query)', '{\"returnType\":\"INT\"}');")
        #expect(message == "ai_query_rows: row 2 (id 2): " + Self.castError.replacingOccurrences(of: #"\""#, with: "\""))
    }

    /// With the cache off (by the environment or ai_config), identical requests in one statement are still asked
    /// once, in both forms.
    @Test(arguments: ["env", "config"]) func identicalRequestsAreAskedOnceWithTheCacheOff(how: String) throws {
        var shell = shell
        if how == "env" { shell.environment["AIQUERY_CACHE"] = "off" }
        let setup = endpoint() + (how == "config" ? "SELECT ai_config('cache', 'off');\n" : "")
        let rows = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
        let lines = try shell.query(
            setup + """
                \(rows) SELECT count(*), count(DISTINCT r) FROM (SELECT ai_query('llm', 'p' || (i % 10)) AS r FROM n);
                CREATE TABLE t AS \(rows) SELECT i, 'q' || (i % 10) AS p FROM n;
                SELECT count(*), count(DISTINCT response) FROM ai_query_rows('llm', 'SELECT i, p FROM t');
                SELECT rows, cache_hits, calls FROM ai_usage;
                """)
        #expect(lines.suffix(3) == ["200|10", "200|10", "400|380|20"])
        #expect(try modelCalls() == 20)
    }

    /// Ctrl-C while rows wait for the rate limit (one call a minute) ends the statement at once, in both forms
    /// (without it the shell would sit there for a minute per row).
    @Test(arguments: [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT count(ai_query('llm', 'r' || i)) FROM n;",
        "SELECT count(*) FROM ai_query_rows('llm', 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT ''r'' || i FROM n');",
    ])
    func ctrlCReachesRowsWaitingOnTheRateLimit(statement: String) throws {
        let server = self.server
        let result = try shell.run(
            endpoint(#","limit":{"calls":1,"renewal_period":"minute"}"#) + "SELECT ai_config('cache', 'off');\n" + statement, timeout: 40,
            interruptWhen: { ((try? server.requests().count) ?? 0) >= 1 })
        #expect(result.stderr.contains("interrupted"), "stderr: \(result.stderr)")
        #expect(try modelCalls() == 1)
    }

    /// A typo in an MLflow-form definition is an error, never a silent default: a misspelt base URL would send the
    /// prompts and the key to the provider's public API, a misspelt limit would mean no limit.
    @Test func unknownKeysAreRefusedInTheMLflowForm() throws {
        var shell = shell
        let yaml = """
            endpoints:
              - name: chat
                endpoint_type: llm/v1/chat
                model:
                  provider: openai
                  name: gpt-4o-mini
                  config: {openai_api_key: $K, openai_api_bse: "http://127.0.0.1:9/v1"}
            """
        shell.environment["AIQUERY_CONFIG"] = try shell.write("typo.yaml", yaml)
        let path = shell.home.appendingPathComponent("typo.yaml").path
        #expect(
            try shell.error("SELECT ai_query('chat', 'x');")
                == "ai_query: \(path): endpoint 'chat': unknown key 'model.config.openai_api_bse'; did you mean 'model.config.openai_api_base'? the keys here are openai_api_key, openai_api_base, openai_api_type, openai_api_version, openai_deployment_name, openai_organization"
        )
        _ = try shell.write("typo.yaml", yaml.replacingOccurrences(of: "openai_api_bse", with: "openai_api_base") + "\n    limti: {calls: 1}\n")
        #expect(try shell.error("SELECT ai_query('chat', 'x');").hasPrefix("ai_query: \(path): endpoint 'chat': unknown key 'limti'; did you mean 'limit'?"))
        let definition = #"{"endpoint_type":"llm/v1/chat","model":{"provider":"openai","name":"m","config":{"openai_api_base":"http://h/v1"}},"limit":{"cals":1}}"#
        #expect(
            try shell.error("SELECT ai_endpoint_set('x', '\(definition)');").hasPrefix(
                "ai_endpoint_set: endpoint 'x': unknown key 'limit.cals'; did you mean 'limit.calls'?"))
        #expect(try server.requests().isEmpty)
    }

    /// One resolution everywhere: the call's option over ai_config over the endpoint's definition over the default,
    /// and ai_config reports what runs.
    @Test func settingsResolveCallOverConnectionOverEndpoint() throws {
        let failing = "'x [[status:500]]'"
        _ = try shell.run(endpoint(#","max_retries":0"#) + "SELECT ai_query('llm', \(failing));")
        #expect(try modelCalls() == 1)
        _ = try shell.run(endpoint(#","max_retries":0"#) + "SELECT ai_config('max_retries', 1);\nSELECT ai_query('llm', \(failing));")
        #expect(try modelCalls() == 3)
        _ = try shell.run(endpoint(#","max_retries":0"#) + "SELECT ai_config('max_retries', 1);\nSELECT ai_query('llm', \(failing), 'maxRetries', 2);")
        #expect(try modelCalls() == 6)
        let reported = try shell.query(
            "SELECT ai_config('max_retries'), ai_config('max_retries', 4), ai_config('max_retries'), ai_config('max_retries', NULL), ai_config('timeout');")
        #expect(reported == ["2|4|4|2|300.0"])
    }

    /// Every number a user gives is bounded, whichever door it comes in by.
    @Test func settingsAreBounded() throws {
        #expect(
            try shell.error(endpoint() + "SELECT ai_query('llm', 'x', 'timeout', 1e300);")
                == "ai_query: timeout must be a number of seconds greater than 0 and at most 86400, got '1e+300'")
        #expect(
            try shell.error("SELECT ai_config('backoff', 1e300);")
                == "ai_config: backoff must be a number of seconds greater than 0 and at most 600, got '1e+300'")
        #expect(try shell.error("SELECT ai_config('timeout', x'00');") == "ai_config: timeout must be a number or text, got a BLOB")
        #expect(
            try shell.error(#"SELECT ai_endpoint_set('e', '{"provider":"openai","model":"m","url":"http://h/v1","timeout":1e16}');"#)
                == "ai_endpoint_set: endpoint 'e': timeout must be a number of seconds greater than 0 and at most 86400, got '1e+16'")
        #expect(
            try shell.error(endpoint() + #"SELECT ai_query('llm', 'x', '{"timeout":');"#).hasPrefix("ai_query: the options JSON is invalid: "))
        let deep = try shell.error(endpoint() + "SELECT ai_query('llm', 'x', 'returnType', replace(printf('%.*c', 100000, 'x'), 'x', 'ARRAY<') || 'INT');")
        #expect(deep.hasPrefix("ai_query: returnType 'ARRAY<ARRAY<") && deep.hasSuffix("': nests more than 64 types deep"))
    }

    /// ai_query_rows reads rows ahead by bytes as well as by count: 300 requests of 1 MB each are never all in
    /// memory at once (the window stops at 32 MiB; by count alone it took all 300 before its first answer, 318 MB; 60 MB now).
    @Test func theWindowIsBoundedInBytes() throws {
        let rows = "SELECT value, ''[[reply:ok]]'' || printf(''%.*c'', 1000000, ''x'') FROM generate_series(1, 300)"
        let lines = try shell.query(
            endpoint() + """
                SELECT ai_config('cache', 'off');
                SELECT count(*), sum(response = 'ok') FROM ai_query_rows('llm', '\(rows)', '{"concurrency":2}');
                .system grep VmHWM /proc/$PPID/status
                """)
        #expect(lines.contains("300|300"), "\(lines)")
        let peak = lines.last.flatMap { Int($0.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") } ?? 0
        #expect(peak > 0 && peak < 160_000, "peak RSS \(peak) kB: the window held far more than its 32 MiB")
    }
}
