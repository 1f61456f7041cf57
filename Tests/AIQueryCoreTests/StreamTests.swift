import AIQueryTestSupport
import Foundation
import SQLiteLinked
import Synchronization
import Testing

@testable import AIQueryCore

/// The streamed face of the pipeline without a server in front: libcurl hands the body on as it comes, the
/// events add up to the whole answer, and secrets split over pieces are still redacted.
@Suite struct StreamTests {
    /// The pipeline tests' loopback server and runtime.
    let base: CallPipelineTests
    var server: MockServer { base.server }
    var runtime: Runtime { base.runtime }

    init() throws { base = try CallPipelineTests() }

    /// Over libcurl on a worker thread (the path an https upstream takes): the first piece is in the caller's hands
    /// while the upstream still holds the rest back.
    @Test func piecesArriveBeforeTheAnswerEnds() async throws {
        let endpoint = Endpoint(name: "s", task: .chat, provider: .openai, model: "m", url: "\(server.baseURL)/v1", apiKey: .none, source: "test")
        let plan = try CallPlan(
            runtime: runtime, endpoint: endpoint, options: RequestOptions(), settings: ResolvedSettings(call: SettingLayer()), store: base.store,
            door: .serve)
        let call = try plan.prepare(.text("red green blue [[hold_after:2:core]]"), control: CallControl())
        let pieces = Mutex<[String]>([])
        let pipeline = runtime.pipeline
        // Waited for as they come, with no clock: on a busy machine this task may get its turn late, and the
        // upstream's hold (up to 300 s) is what bounds the wait.
        let (arrivals, arrived) = AsyncStream<String>.makeStream()
        let streaming = Task {
            await pipeline.stream(call, plan: plan) { piece in
                pieces.withLock { $0.append(piece) }
                arrived.yield(piece)
            }
        }
        var first: [String] = []
        for await piece in arrivals {
            first.append(piece)
            if first.count == 2 { break }
        }
        #expect(first == ["echo: ", "red "])
        #expect(try server.inFlight() == 1, "the upstream is still writing")
        try server.release("core")
        let answer = try await streaming.value.get()
        #expect(answer.output == .text("echo: red green blue [[hold_after:2:core]]"))
        #expect(answer.usage == TokenUsage(input: 4, output: 5))
        #expect(pieces.withLock { $0.joined() } == "echo: red green blue [[hold_after:2:core]]")
        // The cache holds the whole answer: the same call again is a replay, a piece per word, with no request.
        let replayed = Mutex<[String]>([])
        let again = try await pipeline.stream(call, plan: plan) { piece in replayed.withLock { $0.append(piece) } }.get()
        #expect(again.output == answer.output && replayed.withLock { $0 } == ["echo:", " red", " green", " blue", " [[hold_after:2:core]]"])
        #expect(try server.requests().count == 1)
    }

    /// Events split anywhere (a byte at a time here) read the same; the pieces add up to the body a whole answer
    /// has; an error event fails the call; whole JSON is read as whole JSON.
    @Test func eventsAddUpToTheWholeAnswer() throws {
        let endpoint = Endpoint(name: "s", task: .chat, provider: .openai, model: "m", url: "http://x", apiKey: .none, source: "test")
        let body = """
            data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\r
            \r
            : a comment\n\ndata: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo é"},"finish_reason":null}]}

            data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}

            data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}

            data: [DONE]


            """
        let pieces = Mutex<[String]>([])
        let stream = StreamedAnswer(format: .openAI(includeUsage: true), task: .chat, redactor: Redactor(secrets: [])) { piece in
            pieces.withLock { $0.append(piece) }
        }
        for byte in Array(body.utf8) { stream.feed([byte]) }
        #expect(pieces.withLock { $0 } == ["Hel", "lo é"])
        let whole = try #require(try stream.assembled(endpoint: endpoint))
        #expect(
            whole.serialized()
                == #"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello é"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#)

        let failing = StreamedAnswer(format: .openAI(includeUsage: true), task: .chat, redactor: Redactor(secrets: [])) { _ in }
        failing.feed(Array("data: {\"error\":{\"message\":\"overloaded\"}}\n\n".utf8))
        #expect(throws: AIQueryError.self) { try failing.assembled(endpoint: endpoint) }

        // A body that ends without [DONE] or a blank line: its last piece, and text held back as a possible
        // secret's start, still reach the caller, as they reach the whole answer.
        let cut = Mutex<[String]>([])
        let unterminated = StreamedAnswer(format: .openAI(includeUsage: false), task: .chat, redactor: Redactor(secrets: ["sk-abcdef"])) { piece in
            cut.withLock { $0.append(piece) }
        }
        unterminated.feed(Array("data: {\"choices\":[{\"delta\":{\"content\":\"one sk-ab\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\" two\"}}]}".utf8))
        #expect(cut.withLock { $0 } == ["one "])
        let ended = try #require(try unterminated.assembled(endpoint: endpoint))
        #expect(cut.withLock { $0.joined() } == "one sk-ab two")
        #expect(ended["choices"]?[0]?["message"]?["content"]?.stringValue == "one sk-ab two")

        let whole2 = StreamedAnswer(format: .anthropic, task: .chat, redactor: Redactor(secrets: [])) { _ in Issue.record("no pieces from JSON") }
        whole2.feed(Array(#"{"content":[{"type":"text","text":"hi"}]}"#.utf8))
        #expect(try whole2.assembled(endpoint: endpoint) == nil)
    }

    /// A secret that arrives a character at a time is held back until it is whole, then redacted; text that only
    /// starts like one goes out once it is clearly not.
    @Test func aSecretSplitOverPiecesIsRedacted() throws {
        let redactor = Redactor(secrets: ["sk-abcdef"])
        #expect(redactor.heldBack("key sk-ab") == 5)
        #expect(redactor.heldBack("key s") == 1)
        #expect(redactor.heldBack("key x") == 0)
        let pieces = Mutex<[String]>([])
        let stream = StreamedAnswer(format: .openAI(includeUsage: false), task: .chat, redactor: redactor) { piece in pieces.withLock { $0.append(piece) } }
        for character in "a sk-abX, sk-abcdef!" {
            let chunk = #"{"choices":[{"index":0,"delta":{"content":"\#(character)"}}]}"#
            stream.feed(Array("data: \(chunk)\n\n".utf8))
        }
        stream.feed(Array("data: [DONE]\n\n".utf8))
        #expect(pieces.withLock { $0.joined() } == "a sk-abX, [REDACTED]!")
        #expect(!pieces.withLock { $0 }.contains { $0.contains("sk-abc") })
    }
}
