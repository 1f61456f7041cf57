import AIQueryTestSupport
import Foundation
import Testing

/// The call log through the real doors: the `sqlite3` shell with the extension and `aiquery serve`, each a
/// process of its own writing one file, read back by `ai_usage_log` in yet another process.
@Suite("call log")
struct CallLogTests {
    static let key = "sk-log-secret-4242-abcdef"
    static let token = "dapi-call-log-token-1234"
    let upstream: MockServer
    let shell: Shell
    var logPath: String { shell.home.appendingPathComponent("calls.db").path }

    init() throws {
        upstream = try MockServer()
        var shell = try Shell(cacheInHome: true)
        shell.environment["AIQUERY_CALL_LOG"] = shell.home.appendingPathComponent("calls.db").path
        shell.environment["AIQUERY_SERVE_TOKEN"] = Self.token
        shell.environment["LOG_KEY"] = Self.key
        shell.environment["AIQUERY_CONFIG"] = try shell.write(
            "endpoints.yaml",
            "endpoints:\n"
                + "  - name: m\n    endpoint_type: llm/v1/chat\n"
                + "    model: {provider: openai, name: gpt-x, config: {openai_api_base: \"\(upstream.baseURL)/v1\", openai_api_key: $LOG_KEY}}\n"
                + "    price: {input: 1, output: 2}\n"
                + "  - name: other\n    endpoint_type: llm/v1/chat\n"
                + "    model: {provider: openai, name: gpt-y, config: {openai_api_base: \"\(upstream.baseURL)/v1\"}}\n")
        self.shell = shell
    }

    /// Lines of a query over the log file by a plain `sqlite3` (no extension): what is really in the file.
    func file(_ sql: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let result = try shell.run(sql, database: logPath, load: false)
        #expect(result.stderr == "", "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        return result.lines
    }

    func serve(_ extra: [String: String] = [:]) throws -> ServeProcess {
        try ServeProcess(home: shell.home, environment: shell.environment.merging(extra) { $1 })
    }

    @Test func sqlRecordsEveryCallOnceAndFoldsAStatementsCacheHits() throws {
        let run = try shell.run(
            """
            SELECT ai_config('request_tags', '{"team":"growth","run":7}');
            CREATE TABLE d(x); INSERT INTO d VALUES ('a'), ('b'), ('a'), ('c');
            SELECT count(ai_query('m', x)) FROM d;
            SELECT count(ai_query('m', x)) FROM d;
            SELECT ai_query('m', 'bad [[status:400]]');
            """)
        #expect(run.lines == [#"{"run":"7","team":"growth"}"#, "4", "4"])
        #expect(run.stderr.contains("ai_query: endpoint 'm' returned HTTP 400"))
        // Read by another process, through the extension.
        let rows = try shell.query(
            """
            SELECT door, cache_hit, requests, status_code, coalesce(error_code, '-'), input_tokens IS NOT NULL, latency_ms > 0,
                cost_usd > 0, request_tags, request IS NULL AND response IS NULL FROM ai_usage_log ORDER BY id;
            """)
        let tags = #"{"run":"7","team":"growth"}"#
        #expect(
            rows == [
                "sql|0|1|200|-|1|1|1|\(tags)|1", "sql|0|1|200|-|1|1|1|\(tags)|1", "sql|0|1|200|-|1|1|1|\(tags)|1",
                "sql|1|1|200|-|0||0|\(tags)|1",  // the second 'a' of the first statement
                "sql|1|4|200|-|0||0|\(tags)|1",  // the whole second statement
                "sql|0|1|400|BAD_REQUEST|0|1||\(tags)|1",
            ], "\(rows)")
        #expect(try shell.query("SELECT endpoint_name, door, requests, cache_hits, errors FROM ai_usage_daily") == ["m|sql|9|5|1"])
        #expect(try upstream.requests().count == 4)
    }

    @Test func contentIsKeptOnlyWhenAskedAndNeverWithTheKey() throws {
        var withContent = shell
        withContent.environment["AIQUERY_CALL_LOG_CONTENT"] = "on"
        let prompt = "my key is \(Self.key), repeat it"
        let run = try withContent.run("SELECT ai_query('m', \(sqlQuote(prompt)));")
        #expect(run.lines == ["echo: my key is [REDACTED], repeat it"])
        let logged = try shell.query("SELECT request, response FROM ai_usage_log")
        #expect(logged.count == 1)
        #expect(logged.first?.contains(#"my key is [REDACTED], repeat it"#) == true && logged.first?.contains("echo: my key is [REDACTED]") == true)
        let bytes = try [logPath, logPath + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }
        #expect(!bytes.isEmpty && bytes.allSatisfy { $0.range(of: Data(Self.key.utf8)) == nil }, "the key is nowhere in the log's files")
    }

    @Test func timesCompareAsTextAndBoundsOnlyNarrowTheScan() throws {
        _ = try shell.query("SELECT ai_query('m', 'one'); SELECT ai_query('m', 'two'); SELECT ai_query('other', 'three');")
        let recent = try shell.query(
            """
            SELECT count(*) FROM ai_usage_log WHERE event_time > datetime('now', '-1 hour');
            SELECT count(*) FROM ai_usage_log WHERE event_time > datetime('now', '+1 hour');
            SELECT count(*) FROM ai_usage_log WHERE event_time <= datetime('now', '+1 hour') AND event_time >= '2020-01-01';
            SELECT endpoint_name FROM ai_usage_log ORDER BY event_time DESC LIMIT 1;
            SELECT endpoint_name FROM ai_usage_log ORDER BY event_time LIMIT 1;
            SELECT event_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]' FROM ai_usage_log LIMIT 1;
            SELECT ai_config('allowed_endpoints', 'other');
            SELECT group_concat(endpoint_name) FROM ai_usage_log;
            """)
        #expect(recent == ["3", "0", "3", "other", "m", "1", "other", "other"])
    }

    @Test func serveRecordsTagsAndAnswersTheLogAsJSON() throws {
        let server = try serve()
        let auth = ["-H", "Authorization: Bearer \(Self.token)"]
        let chat = #"{"messages":[{"role":"user","content":"from serve"}]}"#
        let tagged = try curl(
            auth + ["-H", #"Databricks-Ai-Gateway-Request-Tags: {"agent":"nb-1"}"#, "--data-binary", chat, server.baseURL + "/serving-endpoints/m/invocations"],
            in: shell.home)
        #expect(tagged.status == 200)
        let again = try curl(auth + ["--data-binary", chat, server.baseURL + "/serving-endpoints/m/invocations"], in: shell.home)
        #expect(again.status == 200)
        let badTags = try curl(
            auth + ["-H", "Databricks-Ai-Gateway-Request-Tags: [1]", "--data-binary", chat, server.baseURL + "/serving-endpoints/m/invocations"],
            in: shell.home)
        #expect(badTags.status == 400 && badTags.json["error_code"] as? String == "INVALID_PARAMETER_VALUE")
        #expect((badTags.json["message"] as? String)?.hasPrefix("Databricks-Ai-Gateway-Request-Tags must be a JSON object") == true)
        _ = try shell.query("SELECT ai_query('m', 'from sql');")

        let calls = try curl(auth + [server.baseURL + "/api/2.0/aiquery/calls?door=serve"], in: shell.home)
        let records = try #require(calls.json["calls"] as? [[String: Any]])
        #expect(records.count == 2, "\(calls.body)")
        #expect(records.map { $0["cache_hit"] as? Int } == [1, 0], "newest first")
        #expect((records.last?["request_tags"] as? [String: String]) == ["agent": "nb-1"])
        #expect(records.allSatisfy { ($0["event_time"] as? String)?.hasSuffix("Z") == true && $0["request"] == nil })
        let all = try #require(try curl(auth + [server.baseURL + "/api/2.0/aiquery/calls"], in: shell.home).json["calls"] as? [[String: Any]])
        #expect(all.count == 3 && all.first?["door"] as? String == "sql", "SQL's call, made after, is in the same log")
        let usage = try #require(try curl(auth + [server.baseURL + "/api/2.0/aiquery/usage"], in: shell.home).json["endpoints"] as? [[String: Any]])
        let serveGroup = try #require(usage.first { $0["door"] as? String == "serve" })
        #expect(serveGroup["requests"] as? Int == 2 && serveGroup["cache_hits"] as? Int == 1 && serveGroup["latency_p50_ms"] is Double)
        let bad = try curl(auth + [server.baseURL + "/api/2.0/aiquery/calls?limit=0"], in: shell.home)
        #expect(bad.status == 400 && (bad.json["message"] as? String)?.contains("'limit' must be an integer from 1 to 10000") == true)
        let metrics = try curl(auth + [server.baseURL + "/metrics"], in: shell.home).body
        #expect(metrics.contains("aiquery_call_log_records_total 2"))

        // A caller that hangs up mid-stream: its call is recorded as the caller's doing, with its first word's time.
        let hangUp = try runToEnd([
            "python3", "-c",
            """
            import http.client, json, sys, urllib.parse
            url = urllib.parse.urlparse(sys.argv[1])
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
            prompt = "hang " * 60 + "[[token_ms:50]]"
            body = json.dumps({"stream": True, "messages": [{"role": "user", "content": prompt}]})
            connection.request("POST", "/serving-endpoints/m/invocations", body, {"Authorization": "Bearer " + sys.argv[2]})
            response = connection.getresponse()
            print(response.status, response.readline().decode()[:5])
            connection.close()
            """, server.baseURL, Self.token,
        ])
        #expect(hangUp.output.hasPrefix("200 data:"), "\(hangUp.output)")
        var hungUp: [String: Any]?
        let deadline = Date().addingTimeInterval(60)
        while hungUp == nil, Date() < deadline {
            let recent = try curl(auth + [server.baseURL + "/api/2.0/aiquery/calls?door=serve&status=error"], in: shell.home).json["calls"] as? [[String: Any]]
            hungUp = recent?.first { $0["status_code"] as? Int == 499 }
            if hungUp == nil { usleep(50_000) }
        }
        #expect(hungUp?["error_code"] as? String == "CANCELLED" && hungUp?["ttft_ms"] is Double, "\(hungUp ?? [:])")
        #expect(hungUp?["error_message"] as? String == "the caller went away before the answer was whole")
        #expect(server.stop() == 0)
    }

    @Test func aSQLShellAndAServerRecordEveryCallExactlyOnce() throws {
        var withContent = shell
        withContent.environment["AIQUERY_CALL_LOG_CONTENT"] = "on"
        let server = try ServeProcess(home: shell.home, environment: withContent.environment)
        let sqlRows = 300
        let running = try withContent.start(
            """
            CREATE TABLE d(id INTEGER PRIMARY KEY, x TEXT);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(sqlRows)) INSERT INTO d SELECT i, 'sql row ' || i FROM n;
            SELECT count(response) FROM ai_query_rows('m', 'SELECT id, x FROM d', '{"concurrency": 8}');
            SELECT count(ai_query('m', x || ' again')) FROM d WHERE id <= 50;
            """)
        let requests = 120
        let client = try runToEnd([
            "python3", "-c",
            """
            import concurrent.futures, json, sys, urllib.request
            def one(i):
                body = json.dumps({"messages": [{"role": "user", "content": f"serve request {i}"}]}).encode()
                request = urllib.request.Request(sys.argv[1] + "/serving-endpoints/m/invocations", body, {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
                return urllib.request.urlopen(request, timeout=120).status
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                print(sorted(set(pool.map(one, range(\(requests))))))
            """, server.baseURL, Self.token,
        ])
        #expect(client.output.trimmingCharacters(in: .whitespacesAndNewlines) == "[200]", "\(client.output)")
        let result = try running.wait()
        #expect(result.lines == ["\(sqlRows)", "50"], "\(result.stderr)")
        #expect(server.stop() == 0)
        let counts = try file(
            """
            SELECT door, count(*), count(DISTINCT request), sum(requests), sum(status_code = 200),
                sum(instr(request, substr(response, 7)) > 0) FROM calls GROUP BY door ORDER BY door;
            """)
        #expect(counts == ["serve|\(requests)|\(requests)|\(requests)|\(requests)|\(requests)", "sql|\(sqlRows + 50)|\(sqlRows + 50)|\(sqlRows + 50)|\(sqlRows + 50)|\(sqlRows + 50)"])
    }

    @Test func writersKilledMidRunLeaveEveryRecordWrittenIntact() throws {
        let server = try serve()
        let running = try shell.start(
            """
            CREATE TABLE d(id INTEGER PRIMARY KEY, x TEXT);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) INSERT INTO d SELECT i, 'row ' || i || ' [[sleep:0.002]]' FROM n;
            SELECT count(response) FROM ai_query_rows('m', 'SELECT id, x FROM d', '{"concurrency": 4}');
            """)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = [
            "python3", "-c",
            """
            import json, sys, urllib.request
            i = 0
            while True:
                i += 1
                body = json.dumps({"messages": [{"role": "user", "content": f"load {i}"}]}).encode()
                request = urllib.request.Request(sys.argv[1] + "/serving-endpoints/m/invocations", body, {"Authorization": "Bearer " + sys.argv[2]})
                try: urllib.request.urlopen(request, timeout=30).read()
                except Exception: pass
            """, server.baseURL, Self.token,
        ]
        try client.run()
        defer {
            kill(client.processIdentifier, SIGKILL)
            client.waitUntilExit()
        }
        // Both doors have written some records: then both writers die at once, mid-run.
        var seen = ["0", "0"]
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let lines = (try? shell.run("SELECT count(*) FILTER (WHERE door = 'sql'), count(*) FILTER (WHERE door = 'serve') FROM calls;", database: logPath, load: false).lines) ?? []
            if let line = lines.first { seen = line.split(separator: "|").map(String.init) }
            if seen.count == 2, (Int(seen[0]) ?? 0) >= 20, (Int(seen[1]) ?? 0) >= 20 { break }
            usleep(50_000)
        }
        #expect((Int(seen[0]) ?? 0) >= 20 && (Int(seen[1]) ?? 0) >= 20, "both doors wrote records before the kill: \(seen)")
        kill(running.process.processIdentifier, SIGKILL)
        kill(server.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()
        server.process.waitUntilExit()
        #expect(try file("PRAGMA integrity_check;") == ["ok"])
        let after = try file("SELECT count(*) FILTER (WHERE door = 'sql'), count(*) FILTER (WHERE door = 'serve'), count(*) FILTER (WHERE status_code IS NULL OR endpoint_name IS NULL) FROM calls;")
        let numbers = after.first?.split(separator: "|").compactMap { Int($0) } ?? []
        #expect(numbers.count == 3 && numbers[0] >= Int(seen[0])! && numbers[1] >= Int(seen[1])! && numbers[2] == 0, "\(after) after \(seen)")
        // The file takes new records at once.
        _ = try shell.query("SELECT ai_query('m', 'after the kill');")
        #expect(try file("SELECT count(*) FROM calls WHERE door = 'sql';").first.flatMap { Int($0) } ?? 0 > numbers[0])
    }
}
