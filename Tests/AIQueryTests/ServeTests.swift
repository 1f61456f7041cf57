import AIQueryTestSupport
import Foundation
import Testing

/// `aiquery serve` against a loopback upstream: the Databricks serving routes, their errors, auth, caller limits,
/// the cache it shares with the SQL extension, streaming and shutdown.
@Suite("aiquery serve")
struct ServeTests {
    static let token = "dapi-test-serve-token-7070"
    let upstream: MockServer
    let shell: Shell

    init() throws {
        let upstream = try MockServer()
        self.upstream = upstream
        var shell = try Shell(cacheInHome: true)
        let entry = { (name: String, task: String, model: String, extra: String) in
            openAIEndpointEntry(name, task: task, model: model, base: upstream.baseURL, extra: extra)
        }
        shell.environment["AIQUERY_CONFIG"] = try shell.write(
            "endpoints.yaml",
            "endpoints:\n" + entry("databricks-dbrx-instruct", "chat", "dbrx", "")
                + entry("databricks-gte-large-en", "embeddings", "gte", "")
                + entry("anthropic-completions-endpoint", "completions", "claude-2", "")
                + entry("once-a-minute", "chat", "m", "    limit: {calls: 1, renewal_period: minute}\n")
                + entry("flaky", "chat", "m", "    max_retries: 0\n    timeout: 1\n"))
        shell.environment["AIQUERY_SERVE_TOKEN"] = Self.token
        self.shell = shell
    }

    func serve(_ extra: [String: String] = [:]) throws -> ServeProcess {
        var environment = shell.environment
        environment.merge(extra) { $1 }
        return try ServeProcess(home: shell.home, environment: environment)
    }

    func post(_ server: ServeProcess, _ path: String, _ body: String, auth: [String] = ["-H", "Authorization: Bearer \(token)"]) throws -> CurlResult {
        try curl(auth + ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body, server.baseURL + path], in: shell.home)
    }

    var token: String { Self.token }

    func upstreamCalls() throws -> Int { try upstream.requests().count }

    @Test func printsItsURLAndMakesATokenOnce() throws {
        var environment = shell.environment
        environment["AIQUERY_SERVE_TOKEN"] = nil
        let first = try ServeProcess(home: shell.home, environment: environment)
        #expect(first.baseURL.range(of: #"^http://127\.0\.0\.1:[0-9]+$"#, options: .regularExpression) != nil)
        let tokenFile = shell.home.appendingPathComponent(".config/aiquery/serve-token")
        let stored = try String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(stored.hasPrefix("dapi") && stored.count == 44)
        let permissions = try FileManager.default.attributesOfItem(atPath: tokenFile.path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        #expect(first.stderr.contains("generated a token") && first.stderr.contains(stored))
        let listed = try curl(["-u", "token:\(stored)", first.baseURL + "/api/2.0/serving-endpoints"], in: shell.home)
        #expect(listed.status == 200)
        #expect(first.stop() == 0)
        let second = try ServeProcess(home: shell.home, environment: environment)
        #expect(!second.stderr.contains("generated a token"), "printed once only")
        #expect(try curl(["-H", "Authorization: Bearer \(stored)", second.baseURL + "/api/2.0/serving-endpoints"], in: shell.home).status == 200)
    }

    @Test func noTokenNoAnswer() throws {
        let server = try serve()
        let chat = #"{"messages":[{"role":"user","content":"hi"}]}"#
        let missing = try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", chat, auth: [])
        #expect(missing.status == 401 && missing.json["error_code"] as? String == "UNAUTHENTICATED")
        let wrong = try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", chat, auth: ["-H", "Authorization: Bearer dapi-wrong"])
        #expect(wrong.status == 401 && wrong.json["message"] as? String == "Invalid access token.")
        #expect(try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", chat, auth: ["-u", "token:\(token)"]).status == 200)
        #expect(try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", chat).status == 200)
        #expect(try upstreamCalls() == 1, "the unauthenticated requests never reached the upstream; the second good one was cached")
    }

    @Test func eachTaskAnswersOnBothRoutes() throws {
        let server = try serve()
        let chat = try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"messages":[{"role":"user","content":"chat one"}],"max_tokens":5}"#)
        #expect(chat.status == 200 && chat.headers["x-aiquery-overhead-ms"] != nil)
        #expect(((chat.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String == "echo: chat one")
        let openAIChat = try post(server, "/serving-endpoints/chat/completions", #"{"model":"databricks-dbrx-instruct","messages":[{"role":"user","content":"chat two"}]}"#)
        #expect(((openAIChat.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String == "echo: chat two")
        let completion = try post(server, "/serving-endpoints/completions", #"{"model":"anthropic-completions-endpoint","prompt":"What is a quoll?","n":2}"#)
        #expect((completion.json["choices"] as? [[String: Any]])?.map { $0["text"] as? String } == ["echo: What is a quoll?", "echo: What is a quoll?"])
        let embeddings = try post(server, "/serving-endpoints/databricks-gte-large-en/invocations", #"{"input":["a","b","c"]}"#)
        let data = try #require(embeddings.json["data"] as? [[String: Any]])
        #expect(data.count == 3 && data.map { $0["index"] as? Int } == [0, 1, 2] && (data[0]["embedding"] as? [Double])?.count == 8)
        let base64 = try post(server, "/serving-endpoints/embeddings", #"{"model":"databricks-gte-large-en","input":"a","encoding_format":"base64"}"#)
        let encoded = try #require((base64.json["data"] as? [[String: Any]])?.first?["embedding"] as? String)
        #expect(Data(base64Encoded: encoded)?.count == 32)
        // The upstream saw one batch for the three inputs and nothing for "a" again.
        let bodies = try upstream.requests().filter { ($0["path"] as? String) == "/v1/embeddings" }.compactMap { $0["body"] as? [String: Any] }
        #expect(bodies.count == 1 && (bodies[0]["input"] as? [String]) == ["a", "b", "c"])
        let listing = try curl(["-H", "Authorization: Bearer \(token)", server.baseURL + "/api/2.0/serving-endpoints"], in: shell.home)
        let names = (listing.json["endpoints"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(names.contains("databricks-dbrx-instruct") && names.contains("local-minilm"))
        let one = try curl(["-H", "Authorization: Bearer \(token)", server.baseURL + "/api/2.0/serving-endpoints/databricks-gte-large-en"], in: shell.home)
        #expect(one.json["task"] as? String == "llm/v1/embeddings" && (one.json["state"] as? [String: Any])?["ready"] as? String == "READY")
        let metrics = try curl(["-H", "Authorization: Bearer \(token)", server.baseURL + "/metrics"], in: shell.home)
        #expect(metrics.body.contains(#"aiquery_requests_total{endpoint="databricks-dbrx-instruct",status="200"} 2"#), "\(metrics.body)")
        #expect(metrics.body.contains("aiquery_overhead_seconds_count 5"), "\(metrics.body)")
    }

    func expectError(_ result: CurlResult, _ status: Int, _ code: String, _ message: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "\(result.body)", sourceLocation: sourceLocation)
        #expect(result.json["error_code"] as? String == code, "\(result.body)", sourceLocation: sourceLocation)
        if let message { #expect(result.json["message"] as? String == message, sourceLocation: sourceLocation) }
    }

    @Test func errorsHaveTheDatabricksShape() throws {
        let server = try serve()
        expectError(
            try post(server, "/serving-endpoints/nope/invocations", #"{"messages":[]}"#), 404, "RESOURCE_DOES_NOT_EXIST",
            "Endpoint with name 'nope' does not exist.")
        expectError(
            try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"input":"x"}"#), 400, "BAD_REQUEST",
            "Missing required field: messages")
        expectError(try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", "{oops"), 400, "MALFORMED_REQUEST")
        expectError(try post(server, "/serving-endpoints/chat/completions", #"{"messages":[]}"#), 400, "INVALID_PARAMETER_VALUE")
        let huge = shell.home.appendingPathComponent("huge.json")
        try Data(count: 100 << 20).write(to: huge)
        expectError(try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", "@" + huge.path), 413, "BAD_REQUEST")
        let failing = try post(server, "/serving-endpoints/flaky/invocations", #"{"messages":[{"role":"user","content":"x [[status:500]]"}]}"#)
        expectError(failing, 500, "INTERNAL_ERROR")
        #expect((failing.json["message"] as? String)?.hasPrefix("endpoint 'flaky' returned HTTP 500") == true)
        expectError(try post(server, "/serving-endpoints/flaky/invocations", #"{"messages":[{"role":"user","content":"x [[sleep:5]]"}]}"#), 504, "DEADLINE_EXCEEDED")
        #expect(try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"messages":[{"role":"user","content":"still fine"}]}"#).status == 200)
    }

    /// An endpoint's `limit:` holds for callers too: over it, 429 with Retry-After at once.
    @Test func callersOverTheLimitGetTooManyRequests() throws {
        let server = try serve()
        let first = try post(server, "/serving-endpoints/once-a-minute/invocations", #"{"messages":[{"role":"user","content":"one"}]}"#)
        #expect(first.status == 200)
        let second = try post(server, "/serving-endpoints/once-a-minute/invocations", #"{"messages":[{"role":"user","content":"two"}]}"#)
        #expect(second.status == 429 && second.json["error_code"] as? String == "REQUEST_LIMIT_EXCEEDED")
        #expect((Int(second.headers["retry-after"] ?? "") ?? 0) >= 1)
        #expect(try upstreamCalls() == 1)
    }

    /// One cache for both front doors: what ai_query stored the server answers, and the other way round.
    @Test func theCacheIsSharedWithTheExtension() throws {
        _ = try shell.query("SELECT ai_query('databricks-dbrx-instruct', 'asked in SQL first');")
        #expect(try upstreamCalls() == 1)
        let server = try serve()
        let served = try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"messages":[{"role":"user","content":"asked in SQL first"}]}"#)
        #expect(((served.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String == "echo: asked in SQL first")
        _ = try post(server, "/serving-endpoints/databricks-gte-large-en/invocations", #"{"input":"served first"}"#)
        #expect(try upstreamCalls() == 2)
        // The server writes answers to the file a few milliseconds after sending them, and before it exits.
        #expect(server.stop() == 0)
        #expect(try shell.query("SELECT length(ai_query('databricks-gte-large-en', 'served first'));") == ["32"])
        #expect(try upstreamCalls() == 2)
    }

    /// The extension's `databricks` provider pointed at the server: answered through it, then from the cache.
    @Test func theExtensionsDatabricksProviderQueriesTheServer() throws {
        let server = try serve()
        var shell = shell
        shell.environment["SERVE_TOKEN"] = token
        let sql = #"SELECT ai_endpoint_set('via-serve', '{"provider":"databricks","task":"chat","model":"databricks-dbrx-instruct","url":"\#(server.baseURL)","api_key":"$SERVE_TOKEN"}');"#
            + "\nSELECT ai_query('via-serve', 'through the server');"
        #expect(try shell.query(sql).last == "echo: through the server")
        #expect(try upstreamCalls() == 1)
        #expect(try shell.query(sql).last == "echo: through the server")
        let metrics = try curl(["-H", "Authorization: Bearer \(token)", server.baseURL + "/metrics"], in: shell.home)
        #expect(metrics.body.contains(#"aiquery_requests_total{endpoint="databricks-dbrx-instruct",status="200"} 1"#), "the second run asked neither")
        #expect(try upstreamCalls() == 1)
    }

    @Test func streamsServerSentEvents() throws {
        let server = try serve()
        let stream = try post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"messages":[{"role":"user","content":"stream me"}],"stream":true}"#)
        #expect(stream.headers["content-type"] == "text/event-stream")
        let events = stream.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.last == "data: [DONE]")
        #expect(events.dropLast().allSatisfy { $0.hasPrefix("data: {") })
        #expect(stream.body.contains(#""delta":{"role":"assistant","content":"echo: "}"#), "a word per event, the first saying who speaks")
        #expect(EventStreamReader.text(of: EventStreamReader.events(in: stream.body)) == "echo: stream me")
    }

    /// SIGTERM lets the request in flight finish before the server exits.
    @Test func stopsGracefully() throws {
        let server = try serve()
        let slow = Process()
        slow.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        slow.arguments = [
            "curl", "-sS", "-o", shell.home.appendingPathComponent("slow.json").path, "-H", "Authorization: Bearer \(token)", "-d",
            #"{"messages":[{"role":"user","content":"slow [[sleep:1.5]]"}]}"#, server.baseURL + "/serving-endpoints/databricks-dbrx-instruct/invocations",
        ]
        try slow.run()
        let giveUp = Date().addingTimeInterval(30)
        while try upstreamCalls() == 0, Date() < giveUp { usleep(10_000) }
        #expect(server.stop() == 0)
        slow.waitUntilExit()
        let answer = try String(contentsOf: shell.home.appendingPathComponent("slow.json"), encoding: .utf8)
        #expect(answer.contains("echo: slow [[sleep:1.5]]"))
    }
}
