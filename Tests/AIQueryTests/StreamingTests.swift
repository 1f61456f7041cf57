import AIQueryTestSupport
import Foundation
import Testing

/// Streamed answers through `aiquery serve`: the words go out as the upstream writes them, on the invocations
/// route and the OpenAI path, from OpenAI-shaped and Anthropic upstreams; the whole answer is cached and replayed
/// as a stream; retries stop at the first words; a key the upstream echoes never reaches the stream.
@Suite struct StreamingTests {
    let base: ServeTests

    init() throws { base = try ServeTests() }

    static func body(_ prompt: String, model: String? = nil) -> String {
        let named = model.map { #""model":"\#($0)","# } ?? ""
        return #"{\#(named)"stream":true,"messages":[{"role":"user","content":"\#(prompt)"}]}"#
    }

    /// The upstream stops after its first word until the test lets it go on: the caller must already have that
    /// word while the upstream request is still open. (A server that waits for the whole answer cannot pass.)
    @Test func theFirstWordsArriveWhileTheUpstreamIsStillWriting() throws {
        let server = try base.serve()
        let reader = try EventStreamReader(
            url: server.baseURL + "/serving-endpoints/databricks-dbrx-instruct/invocations", token: base.token,
            body: Self.body("one two three four five six seven [[hold_after:1:ttft]]"))
        let first = try reader.nextEvent()
        #expect(first.contains(#""content":"echo: ""#), "\(first)")
        #expect(try base.upstream.inFlight() == 1, "the upstream is still writing its answer")
        try base.upstream.release("ttft")
        let events = [first] + reader.remainingEvents()
        #expect(EventStreamReader.text(of: events) == "echo: one two three four five six seven [[hold_after:1:ttft]]")
        #expect(events.count >= 9 && events.last == "[DONE]", "\(events)")
        #expect(events.dropLast().last?.contains(#""finish_reason":"stop""#) == true)
        #expect(events.dropLast().last?.contains(#""usage":{"prompt_tokens":"#) == true, "usage asked for with stream_options")
        let sent = try base.upstream.requests().last?["body"] as? [String: Any]
        #expect(sent?["stream"] as? Bool == true && (sent?["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
    }

    /// A caller that hangs up mid-stream cancels the upstream request: the server notices at the next piece it
    /// sends, and the upstream, still writing its 2,000 words 25 ms apart (50 s: room for a busy machine), finds its
    /// connection gone.
    @Test func aCallerThatHangsUpCancelsTheUpstreamRequest() throws {
        let server = try base.serve()
        let words = (1...2000).map { "w\($0)" }.joined(separator: " ")
        let body = Self.body("[[hold_after:2:gone]][[token_ms:25]][[reply:\(words)]]")
        let reader = try EventStreamReader(
            url: server.baseURL + "/serving-endpoints/databricks-dbrx-instruct/invocations", token: base.token, body: body)
        _ = try reader.nextEvent()
        reader.hangUp()
        try base.upstream.release("gone")
        let deadline = Date().addingTimeInterval(120)
        var aborted = false
        while !aborted, Date() < deadline {
            aborted = try base.upstream.requests().last?["aborted"] as? Bool == true
            if !aborted { usleep(20_000) }
        }
        #expect(aborted, "the server kept reading an answer nobody wanted")
    }

    /// A second request for the same answer, streamed or whole, comes from the cache the stream filled: one
    /// upstream request in all, and the replay is still a stream of several events.
    @Test func aStreamedAnswerIsCachedAndReplayedAsAStream() throws {
        let server = try base.serve()
        let path = "/serving-endpoints/chat/completions"
        let body = Self.body("cache me if you can", model: "databricks-dbrx-instruct")
        let first = try base.post(server, path, body)
        let second = try base.post(server, path, body)
        #expect(first.headers["content-type"] == "text/event-stream" && second.headers["content-type"] == "text/event-stream")
        let replayed = EventStreamReader.events(in: second.body)
        #expect(EventStreamReader.text(of: EventStreamReader.events(in: first.body)) == "echo: cache me if you can")
        #expect(EventStreamReader.text(of: replayed) == "echo: cache me if you can")
        #expect(replayed.count >= 6, "\(replayed)")
        #expect(first.headers["x-aiquery-ttft-ms"] != nil && first.headers["x-aiquery-overhead-ms"] == nil)
        let metrics = try curl(["-H", "Authorization: Bearer \(base.token)", server.baseURL + "/metrics"], in: base.shell.home)
        #expect(metrics.body.contains("aiquery_stream_first_word_seconds_count 2"), "\(metrics.body)")
        let whole = try base.post(server, path, body.replacingOccurrences(of: #""stream":true,"#, with: ""))
        let message = ((whole.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
        #expect(message == "echo: cache me if you can", "\(whole.body)")
        #expect(try base.upstreamCalls() == 1)
    }

    /// A failure before the first word is retried (the caller has seen nothing); once words have gone out, a cut
    /// is an error event and no second request, which would tell the caller another story.
    @Test func retriesStopAtTheFirstWords() throws {
        let server = try base.serve()
        let path = "/serving-endpoints/databricks-dbrx-instruct/invocations"
        let healed = try base.post(server, path, Self.body("again [[first:1:status=503]][[retry_after_ms:10]]"))
        #expect(healed.status == 200)
        #expect(EventStreamReader.text(of: EventStreamReader.events(in: healed.body)).hasPrefix("echo: again"), "\(healed.body)")
        #expect(try base.upstreamCalls() == 2)
        let cut = try base.post(server, path, Self.body("a b c d e [[stream_cut:3]]"))
        let events = EventStreamReader.events(in: cut.body)
        #expect(EventStreamReader.text(of: events) == "echo: a b ")
        #expect(events.dropLast().last?.contains(#""error":{"message":"endpoint 'databricks-dbrx-instruct': the response was cut off"#) == true, "\(events)")
        #expect(try base.upstreamCalls() == 3)
        let refused = try base.post(server, path, Self.body("no [[status:400]]"))
        #expect(refused.status == 400 && refused.json["error_code"] as? String != nil, "a failure before any word keeps its status: \(refused.body)")
    }

    /// Anthropic's events stream as OpenAI chunks; a key the upstream echoes back, one character per event, is
    /// held back until it is whole and then redacted.
    @Test func anthropicStreamsAndEchoedKeysAreRedacted() throws {
        let upstream = base.upstream
        let yaml = """
            endpoints:
              - name: claude
                endpoint_type: llm/v1/chat
                model: {provider: anthropic, name: c, config: {anthropic_api_key: "ak-stream-secret-4242", anthropic_api_base: "\(upstream.baseURL)"}}
              - name: echoing
                endpoint_type: llm/v1/chat
                model: {provider: openai, name: m, config: {openai_api_base: "\(upstream.baseURL)/v1", openai_api_key: "sk-stream-secret-9999"}}

            """
        let server = try base.serve(["AIQUERY_CONFIG": try base.shell.write("streams.yaml", yaml)])
        let claude = try base.post(server, "/serving-endpoints/claude/invocations", Self.body("hello from a stream"))
        let pieces = EventStreamReader.events(in: claude.body)
        #expect(EventStreamReader.text(of: pieces) == "echo: hello from a stream" && pieces.count >= 6, "\(claude.body)")
        #expect(pieces.dropLast().last?.contains(#""usage":{"prompt_tokens":4,"completion_tokens":5"#) == true, "\(pieces)")
        let echoed = try base.post(server, "/serving-endpoints/echoing/invocations", Self.body("[[stream_chars]][[reply:my key is sk-stream-secret-9999, see]]"))
        #expect(EventStreamReader.text(of: EventStreamReader.events(in: echoed.body)) == "my key is [REDACTED], see", "\(echoed.body)")
        #expect(!echoed.body.contains("9999"))
    }
}

/// A streamed response read as it comes, through curl -N: each `data:` payload in order.
final class EventStreamReader {
    private let process = Process()
    private let output = Pipe()
    private var buffer = Data()

    init(url: String, token: String, body: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sSN", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json", "--data-binary", body, url]
        process.standardOutput = output
        try process.run()
    }

    deinit {
        if process.isRunning { hangUp() }
    }

    /// The next event's payload; waits for it (curl's own deadline is the test server's).
    func nextEvent() throws -> String {
        while true {
            if let range = buffer.range(of: Data("\n\n".utf8)) {
                let event = String(decoding: buffer[..<range.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<range.upperBound)
                if let payload = Self.payload(event) { return payload }
                continue
            }
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { throw HarnessError("the stream ended before another event: \(String(decoding: buffer, as: UTF8.self))") }
            buffer.append(more)
        }
    }

    /// Ends the request from the caller's side, as a closed notebook does.
    func hangUp() {
        kill(process.processIdentifier, SIGKILL)  // Foundation's children block SIGTERM
        process.waitUntilExit()
    }

    func remainingEvents() -> [String] {
        var events: [String] = []
        while let event = try? nextEvent() { events.append(event) }
        process.waitUntilExit()
        return events
    }

    static func events(in body: String) -> [String] {
        body.components(separatedBy: "\n\n").compactMap(payload)
    }

    private static func payload(_ event: String) -> String? {
        let lines = event.split(separator: "\n").filter { $0.hasPrefix("data: ") }
        return lines.isEmpty ? nil : lines.map { String($0.dropFirst(6)) }.joined(separator: "\n")
    }

    /// The text the events add up to.
    static func text(of events: [String]) -> String {
        events.compactMap { event -> String? in
            guard let json = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any],
                let choice = (json["choices"] as? [[String: Any]])?.first
            else { return nil }
            return ((choice["delta"] as? [String: Any])?["content"] as? String) ?? (choice["text"] as? String)
        }.joined()
    }
}
