import AIQueryTestSupport
import Foundation
import Testing

/// Retries, the persistent cache and rate limits, against a loopback server that injects faults.
@Suite("cache, retries and rate limits")
struct ReliabilityTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(environment: ["TEST_KEY": "sk-cache-secret-789"], cacheInHome: true)
    }

    func endpoint(_ extra: String = "") -> String {
        #"SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1","api_key":"$TEST_KEY"\#(extra)}');"#
            + "\nSELECT ai_config('backoff', 0.01);\n"
    }

    /// 200 rows through the given fault, each healing after `failures` attempts.
    func twoHundredRows(fault: String, failures: Int = 1, timeout: Double = 300) throws {
        let result = try shell.run(
            endpoint() + """
                SELECT ai_config('cache', 'off');
                SELECT ai_config('timeout', \(timeout));
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
                SELECT sum(ai_query('llm', 'row [[retry_after_ms:5]] [[first:\(failures):\(fault):r' || i || ']]') = 'echo: row [[retry_after_ms:5]] [[first:\(failures):\(fault):r' || i || ']]') FROM n;
                """)
        #expect(result.stderr == "")
        #expect(result.lines.last == "200", "all 200 rows answered correctly under \(fault)")
        let calls = try server.requests().filter { ($0["path"] as? String) == "/v1/chat/completions" }
        #expect(calls.count == 200 * (failures + 1))
    }

    @Test func everyRowAnsweredUnder503() throws { try twoHundredRows(fault: "status=503") }
    @Test func everyRowAnsweredUnder429() throws { try twoHundredRows(fault: "status=429", failures: 2) }
    @Test func everyRowAnsweredUnder500() throws { try twoHundredRows(fault: "status=500") }
    @Test func everyRowAnsweredUnderDroppedConnections() throws { try twoHundredRows(fault: "drop") }
    /// The first attempt of every row sleeps past the timeout. A healthy reply can be slow too on a loaded machine,
    /// so the rows may retry more than once: what must hold is that every row is answered, and the server saw each
    /// row at least twice and never more often than its attempts allow.
    @Test func everyRowAnsweredUnderSlowResponses() throws {
        let result = try shell.run(
            endpoint() + """
                SELECT ai_config('cache', 'off');
                CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
                  SELECT i, 'row [[first:1:sleep=1:r' || i || ']]' AS p FROM n;
                SELECT sum(r.response = 'echo: ' || t.p) FROM ai_query_rows('llm', 'SELECT i, p FROM t', '{"concurrency":8,"timeout":0.2,"maxRetries":10}') r
                  JOIN t ON t.i = r.id;
                """)
        #expect(result.stderr == "")
        #expect(result.lines.last == "200", "all 200 rows answered correctly under slow responses")
        var attempts: [String: Int] = [:]
        for request in try server.requests() where (request["path"] as? String) == "/v1/chat/completions" {
            let body = request["body"] as? [String: Any]
            let content = ((body?["messages"] as? [[String: Any]])?.first?["content"] as? String) ?? ""
            attempts[content, default: 0] += 1
        }
        #expect(attempts.count == 200)
        #expect(attempts.values.allSatisfy { (2...11).contains($0) }, "attempts per row: \(Set(attempts.values).sorted())")
    }

    @Test func slowResponsesTimeOutAndAreRetried() throws {
        let lines = try shell.query(
            endpoint() + "SELECT ai_query('llm', 'slow [[first:1:sleep=5]]', 'timeout', 1, 'maxRetries', 5);")
        #expect(lines.last == "echo: slow [[first:1:sleep=5]]")
        // At least the timed-out attempt and the one that answered (more only if a healthy reply took over 1 s).
        #expect(try server.requests().count >= 2)
    }

    @Test func retryAfterIsHonoured() throws {
        let lines = try shell.query(endpoint() + "SELECT ai_query('llm', 'x [[first:2:status=429]] [[retry_after_ms:300]]');")
        #expect(lines.last == "echo: x [[first:2:status=429]] [[retry_after_ms:300]]")
        let times = try server.requests().compactMap { $0["t"] as? Double }
        #expect(times.count == 3)
        // The server asked for 300 ms between attempts; never sooner (lower bound only: the machine may be slow).
        #expect(times[1] - times[0] >= 0.29 && times[2] - times[1] >= 0.29)
    }

    @Test func givesUpAfterMaxRetriesWithACount() throws {
        let message = try shell.error(endpoint() + "SELECT ai_query('llm', 'x [[status:500]]');")
        #expect(
            message
                == "ai_query: endpoint 'llm' returned HTTP 500 server_error: mock failure 500 (POST \(server.baseURL)/v1/chat/completions); gave up after 3 attempts"
        )
        #expect(try server.requests().count == 3)
        let failOnError = try shell.query(
            endpoint() + "SELECT json_extract(ai_query('llm', 'y [[status:503]]', 'maxRetries', 0, 'failOnError', 'false'), '$.errorMessage');")
        #expect(failOnError.last == "ai_query: endpoint 'llm' returned HTTP 503 server_error: mock failure 503 (POST \(server.baseURL)/v1/chat/completions)")
        #expect(try server.requests().count == 4)
    }

    @Test func noRetryOnClientErrors() throws {
        _ = try shell.error(endpoint() + "SELECT ai_query('llm', 'x [[status:400]]');")
        #expect(try server.requests().count == 1)
    }

    @Test func retryAfterAboveTheCapFailsAtOnce() throws {
        let message = try shell.error(endpoint() + "SELECT ai_query('llm', 'x [[status:429]] [[retry_after_ms:600000]]');")
        #expect(message.hasSuffix("; the endpoint asked to wait 600 s, more than the 60 s cap"))
        #expect(try server.requests().count == 1)
    }

    @Test func cacheHitOnRerunWithZeroUpstreamCalls() throws {
        let sql = endpoint() + """
            CREATE TABLE t(p TEXT); INSERT INTO t VALUES ('a'), ('b'), ('a'), ('c');
            SELECT group_concat(ai_query('llm', p), ',') FROM t;
            """
        #expect(try shell.query(sql).last == "echo: a,echo: b,echo: a,echo: c")
        #expect(try server.requests().count == 3)  // the repeated 'a' is answered from the cache
        #expect(try shell.query(sql).last == "echo: a,echo: b,echo: a,echo: c")
        #expect(try server.requests().count == 3)
        let stats = try shell.query("SELECT json_extract(ai_cache_stats(), '$.entries');")
        #expect(stats == ["3"])
        // Parameters are part of the key; order of keys is not.
        _ = try shell.query(endpoint() + #"SELECT ai_query('llm', 'a', 'modelParameters', '{"max_tokens":5,"temperature":0}');"#)
        _ = try shell.query(endpoint() + #"SELECT ai_query('llm', 'a', 'modelParameters', '{"temperature":0,"max_tokens":5}');"#)
        #expect(try server.requests().count == 4)
    }

    @Test func replayRefreshAndOff() throws {
        _ = try shell.query(endpoint() + "SELECT ai_query('llm', 'seen');")
        #expect(try shell.query(endpoint() + "SELECT ai_config('cache', 'replay'); SELECT ai_query('llm', 'seen');").last == "echo: seen")
        let miss = try shell.error(endpoint() + "SELECT ai_query('llm', 'unseen', 'cache', 'replay');")
        #expect(
            miss
                == "ai_query: no cached answer for this request to endpoint 'llm' and the cache mode is replay, which never calls the endpoint; run once with cache 'on' to fill the cache"
        )
        #expect(try server.requests().count == 1)
        _ = try shell.query(endpoint() + "SELECT ai_query('llm', 'seen', 'cache', 'refresh');")
        _ = try shell.query(endpoint() + "SELECT ai_query('llm', 'seen', 'cache', 'off');")
        #expect(try server.requests().count == 3)
        #expect(try shell.query("SELECT ai_cache_clear('llm'), json_extract(ai_cache_stats(), '$.entries');") == ["1|0"])
    }

    @Test func errorsAreNotCached() throws {
        _ = try shell.run(endpoint() + "SELECT ai_query('llm', 'x [[first:3:status=500]]');")
        #expect(try shell.query(endpoint() + "SELECT ai_query('llm', 'x [[first:3:status=500]]');").last == "echo: x [[first:3:status=500]]")
        #expect(try server.requests().count == 4)
    }

    @Test func keyIsAbsentFromTheCacheFile() throws {
        _ = try shell.query(endpoint() + "SELECT ai_query('llm', 'secret check');")
        let path = shell.home.appendingPathComponent("cache.db").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for suffix in ["-wal", "-shm"] {
            if let extra = try? Data(contentsOf: URL(fileURLWithPath: path + suffix)) { bytes.append(extra) }
        }
        #expect(bytes.count > 0)
        #expect(bytes.range(of: Data("sk-cache-secret-789".utf8)) == nil)
        #expect(bytes.range(of: Data("echo: secret check".utf8)) != nil)
    }

    @Test func requestsPerWindowNeverExceeded() throws {
        let limit = #","limit":{"calls":5,"renewal_period":"second"}"#
        let result = try shell.run(
            endpoint(limit) + """
                SELECT ai_config('cache', 'off');
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 18)
                SELECT count(ai_query('llm', 'r' || i)) FROM n;
                """)
        #expect(result.lines.last == "18")
        let times = try server.requests().compactMap { $0["t"] as? Double }.sorted()
        #expect(times.count == 18)
        // Server-side arrival times: no window of 0.75 s holds more than 5. The slack is for arrival jitter on a
        // loaded machine; without the limiter all 18 would arrive within a fraction of a second.
        for (index, start) in times.enumerated() {
            let inWindow = times[index...].prefix { $0 < start + 0.75 }.count
            #expect(inWindow <= 5, "window starting at request \(index) holds \(inWindow)")
        }
    }

    /// Processes started together on a new cache file race to create it; none may lose a row to "database is
    /// locked" (before, one of two processes did in about a third of the runs), and a second round on the now
    /// existing file answers everything from it. Started by one bash with `&`, so they really start together.
    @Test func processesStartedTogetherShareANewCacheFile() throws {
        let sql = try shell.write(
            "shared.sql",
            endpoint() + """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
                SELECT sum(json_extract(ai_query('llm', 'shared ' || i, 'failOnError', 'false'), '$.response') = 'echo: shared ' || i) FROM n;
                """)
        let library = try Paths.library
        let script = """
            cd "$HOME" && for round in $(seq 1 10); do
              for pass in new existing; do
                pids=""
                for p in 1 2 3; do
                  AIQUERY_CACHE="$HOME/shared-$round.db" sqlite3 -batch :memory: ".load \(library)" ".read \(sql)" > "out-$round-$pass-$p" 2> "err-$round-$pass-$p" &
                  pids="$pids $!"
                done
                wait $pids
              done
            done
            """
        let run = try runToEnd(["env", "HOME=\(shell.home.path)", "TEST_KEY=k", "bash", "-c", script])
        #expect(run.status == 0)
        var failed: [String] = []
        for round in 1...10 {
            for pass in ["new", "existing"] {
                for process in 1...3 {
                    let name = "\(round)-\(pass)-\(process)"
                    let out = (try? String(contentsOf: shell.home.appendingPathComponent("out-" + name), encoding: .utf8)) ?? ""
                    let err = (try? String(contentsOf: shell.home.appendingPathComponent("err-" + name), encoding: .utf8)) ?? ""
                    if !err.isEmpty || out.split(separator: "\n").last != "200" { failed.append("\(name): \(err.prefix(200))") }
                }
            }
        }
        #expect(failed.isEmpty, "processes that lost rows: \(failed)")
    }

    /// A cache another process keeps locked past the busy timeout (10 s) costs the statement one wait and one
    /// warning, never a row: the rows are answered, and the rest of the statement does not wait again.
    @Test func aLockedCacheNeverFailsARow() throws {
        let cache = shell.home.appendingPathComponent("cache.db").path
        _ = try shell.query(endpoint() + "SELECT ai_query('llm', 'creates the file');")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)",
            cache,
        ]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        _ = output.fileHandleForReading.readData(ofLength: 7)  // "locked\n": the lock is held from here
        let result = try shell.run(
            endpoint() + "SELECT ai_query('llm', 'r' || value, 'failOnError', 'false') FROM generate_series(1, 3);", timeout: 60)
        #expect(result.lines.suffix(3) == (1...3).map { #"{"response":"echo: r\#($0)","errorMessage":null}"# })
        #expect(result.stderr.hasPrefix("aiquery: storing an answer in the cache failed, going on without it: cache \(cache): database is locked"))
        #expect(result.stderr.split(separator: "\n").count == 1, "one warning: \(result.stderr)")
    }

    @Test func cacheSurvivesKillNine() throws {
        let cache = shell.home.appendingPathComponent("cache.db").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-batch", ":memory:"]
        process.environment = ["HOME": shell.home.path, "AIQUERY_CACHE": cache, "PATH": "/usr/bin:/bin", "TEST_KEY": "k"]
        let script = ".load \(try Paths.library)\n" + endpoint()
            + "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT count(ai_query('llm', 'k' || i || ' [[sleep:0.01]]')) FROM n;\n"
        let input = shell.home.appendingPathComponent("kill.sql")
        try Data(script.utf8).write(to: input)
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let giveUp = Date().addingTimeInterval(60)
        while try server.requests().count < 30, process.isRunning, Date() < giveUp { usleep(20_000) }
        #expect(process.isRunning, "the long statement should still be running when it is killed")
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { usleep(5_000) }
        let lines = try shell.query(
            """
            SELECT json_extract(ai_cache_stats(), '$.entries') >= 25;
            """)
        #expect(lines == ["1"])
        let check = try shell.run("PRAGMA integrity_check;", database: cache, load: false)
        #expect(check.lines == ["ok"])
    }
}
