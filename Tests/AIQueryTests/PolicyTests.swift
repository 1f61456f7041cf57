import AIQueryTestSupport
import Foundation
import Testing

/// One policy for every door (the runtime's plan factory and the core's request checks): what SQL refuses,
/// `aiquery serve` refuses too, with Databricks' 400 INVALID_PARAMETER_VALUE, before any upstream request.
@Suite struct PolicyTests {
    let base: ServeTests

    init() throws { base = try ServeTests() }

    @Test func theAllowlistBindsTheServerAsItBindsSQL() throws {
        let server = try base.serve(["AIQUERY_ALLOWED_ENDPOINTS": "databricks-gte-large-en"])
        let refused = try base.post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(refused.status == 403 && refused.json["error_code"] as? String == "PERMISSION_DENIED", "\(refused.body)")
        #expect((refused.json["message"] as? String)?.contains("only databricks-gte-large-en may be called") == true)
        let openAI = try base.post(server, "/serving-endpoints/chat/completions", #"{"model":"databricks-dbrx-instruct","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(openAI.status == 403)
        let allowed = try base.post(server, "/serving-endpoints/databricks-gte-large-en/invocations", #"{"input":"hi"}"#)
        #expect(allowed.status == 200, "\(allowed.body)")
        let listed = try curl(["-H", "Authorization: Bearer \(base.token)", server.baseURL + "/api/2.0/serving-endpoints"], in: base.shell.home)
        let names = ((listed.json["endpoints"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
        #expect(names == ["databricks-gte-large-en"])
        #expect(try base.upstreamCalls() == 1)
    }

    /// Each body is refused with 400 INVALID_PARAMETER_VALUE and never reaches the upstream.
    @Test(arguments: [
        (#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":-5}"#, "\"max_tokens\" must be a positive integer"),
        (#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":1e300}"#, "\"max_tokens\" must be a positive integer"),
        (#"{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#, "\"temperature\" must be a number from 0 to 2"),
        (#"{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#, "\"stream\" must be true or false"),
        (#"{"messages":[{"role":"user","content":"hi"}],"n":1000}"#, "\"n\" must be an integer from 1 to 128"),
        (#"{"messages":[{"role":"user","content":"hi"}],"n":2,"stream":true}"#, "a stream carries one answer"),
        (#"{"messages":[{"role":"user"}]}"#, "\"messages[0].content\" must be text or a list of content parts"),
        (#"{"messages":[{"role":"robot","content":"hi"}]}"#, "\"messages[0].role\" must be one of"),
        (#"{"messages":[]}"#, "\"messages\" must be a non-empty list"),
        (#"{"messages":[{"role":"user","content":"\ud800 alone"}]}"#, "lone surrogate"),
    ])
    func everyParameterIsCheckedBeforeTheUpstream(body: String, expected: String) throws {
        let server = try base.serve()
        let answer = try base.post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", body)
        #expect(answer.status == 400, "\(body) → \(answer.status) \(answer.body)")
        #expect(answer.json["error_code"] as? String == "INVALID_PARAMETER_VALUE", "\(answer.body)")
        #expect((answer.json["message"] as? String)?.contains(expected) == true, "\(answer.body)")
        #expect(try base.upstreamCalls() == 0)
    }

    @Test func aBodyThatIsNotUTF8IsRefused() throws {
        let server = try base.serve()
        let file = base.shell.home.appendingPathComponent("latin1.json")
        try Data(#"{"messages":[{"role":"user","content":"caf"#.utf8 + [0xE9] + #""}]}"#.utf8).write(to: file)
        let answer = try curl(
            ["-H", "Authorization: Bearer \(base.token)", "-H", "Content-Type: application/json", "--data-binary", "@\(file.path)",
             server.baseURL + "/serving-endpoints/databricks-dbrx-instruct/invocations"], in: base.shell.home)
        #expect(answer.status == 400 && answer.json["error_code"] as? String == "INVALID_PARAMETER_VALUE", "\(answer.body)")
        #expect((answer.json["message"] as? String)?.contains("not UTF-8") == true)
        #expect(try base.upstreamCalls() == 0)
    }

    /// A client that announces 1,000 bytes and sends 10 is answered 408 once the read timeout passes, and its
    /// connection closed: it cannot hold a request open for as long as it likes.
    @Test func aBodyThatNeverArrivesEndsTheRequest() throws {
        var environment = base.shell.environment
        environment["LOG_LEVEL"] = "warning"
        let server = try ServeProcess(home: base.shell.home, environment: environment, arguments: ["--port", "0", "--read-timeout", "1"])
        let port = Int(server.baseURL.split(separator: ":").last!)!
        let head = "POST /serving-endpoints/databricks-dbrx-instruct/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(base.token)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"message"
        let answer = String(decoding: try rawExchange(port: port, send: head), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.contains("did not arrive within 1 s"))
        #expect(try base.upstreamCalls() == 0)
    }

    /// One token estimator: a server's caller admission costs a request as the pipeline's limiter does (prompt
    /// bytes / 4 + 1 + max_tokens, 256 without), so a second request while the first holds the endpoint's tokens is
    /// answered 429 at once, not admitted and then held for a minute by the pipeline's limiter.
    @Test func callersAreCostedAsUpstreamRequestsAre() throws {
        let upstream = base.upstream
        let yaml = "endpoints:\n" + openAIEndpointEntry("tpm", base: upstream.baseURL, extra: "    limit: {tokens: 400, renewal_period: minute}\n")
        var environment = base.shell.environment
        environment["AIQUERY_CONFIG"] = try base.shell.write("tpm.yaml", yaml)
        environment["AIQUERY_CACHE"] = "off"
        let server = try ServeProcess(home: base.shell.home, environment: environment)
        let slow = Thread { _ = try? base.post(server, "/serving-endpoints/tpm/invocations", #"{"messages":[{"role":"user","content":"first [[sleep:4]]"}]}"#) }
        slow.start()
        let deadline = Date().addingTimeInterval(30)
        while try upstream.requests().isEmpty, Date() < deadline { usleep(20_000) }
        let second = try curl(
            ["--max-time", "30", "-H", "Authorization: Bearer \(base.token)", "-H", "Content-Type: application/json", "--data-binary",
             #"{"messages":[{"role":"user","content":"second"}]}"#, server.baseURL + "/serving-endpoints/tpm/invocations"], in: base.shell.home)
        #expect(second.status == 429 && second.json["error_code"] as? String == "REQUEST_LIMIT_EXCEEDED", "\(second.status) \(second.body)")
        #expect(second.headers["retry-after"] != nil)
    }

    /// An embeddings request that repeats an input asks the upstream for it once, as a statement does.
    @Test func repeatedInputsOfOneRequestAreAskedOnce() throws {
        let server = try base.serve(["AIQUERY_CACHE": "off"])
        let answer = try base.post(server, "/serving-endpoints/databricks-gte-large-en/invocations", #"{"input":["a","b","a","a"]}"#)
        #expect(answer.status == 200, "\(answer.body)")
        let data = (answer.json["data"] as? [[String: Any]]) ?? []
        #expect(data.count == 4)
        let vectors = data.map { ($0["embedding"] as? [Double]) ?? [] }
        #expect(vectors[0] == vectors[2] && vectors[0] == vectors[3] && vectors[0] != vectors[1])
        let sent = try base.upstream.requests().compactMap { ($0["body"] as? [String: Any])?["input"] as? [String] }
        #expect(sent == [["a", "b"]])
    }

    @Test func sqlRefusesTheSameRequests() throws {
        let shell = base.shell
        let error = try shell.error(
            #"SELECT ai_query('databricks-dbrx-instruct', json_object('messages', json_array(json_object('role', 'robot', 'content', 'hi'))));"#)
        #expect(error.hasPrefix(#"ai_query: the request is invalid: "messages[0].role" must be one of assistant, developer, function, system, tool, user, got "robot""#), "\(error)")
        let stream = try shell.error(#"SELECT ai_query('databricks-dbrx-instruct', 'hi', 'modelParameters', '{"stream":true}');"#)
        #expect(stream.hasPrefix(#"ai_query: modelParameters: "stream" is not set by hand"#), "\(stream)")
        let n = try shell.error(#"SELECT ai_query('databricks-dbrx-instruct', 'hi', 'modelParameters', '{"n":1000}');"#)
        #expect(n.hasPrefix(#"ai_query: modelParameters: "n" must be an integer from 1 to 128, got 1000"#), "\(n)")
        #expect(try base.upstreamCalls() == 0)
    }
}
