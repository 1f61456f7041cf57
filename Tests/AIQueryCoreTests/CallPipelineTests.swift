import AIQueryTestSupport
import Foundation
import SQLiteLinked
import Synchronization
import Testing

@testable import AIQueryCore

/// The pipeline in process, as a second front door would use it: a directly linked SQLite for the cache, the
/// blocking face and the async one, against the loopback test server.
@Suite struct CallPipelineTests {
    let server: MockServer
    let runtime: Runtime
    let store: SQLiteResponseStore

    init() throws {
        server = try MockServer()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-pipeline-\(UUID().uuidString)/cache.db").path
        runtime = Runtime(sqlite: .linked, cachePath: path)
        store = try #require(runtime.store)
    }

    func plan(_ configure: (inout SettingLayer) -> Void = { _ in }, key: SecretSource = .none) throws -> CallPlan {
        let endpoint = Endpoint(
            name: "e-\(UUID().uuidString)", task: .chat, provider: .openai, model: "m", url: "\(server.baseURL)/v1", apiKey: key, source: "test")
        var call = SettingLayer()
        call[.backoff] = .seconds(0.01)
        configure(&call)
        return try CallPlan(runtime: runtime, endpoint: endpoint, options: RequestOptions(), settings: ResolvedSettings(call: call), store: store, door: .sql)
    }

    func text(_ response: ModelResponse) -> String {
        if case .text(let text) = response.output { return text }
        return "(not text)"
    }

    func modelCalls() throws -> Int { try server.requests().filter { ($0["path"] as? String) == "/v1/chat/completions" }.count }

    @Test func aFreshAnswerIsStoredWholeAndReplayedExactly() throws {
        let plan = try plan()
        let call = try plan.prepare(.text("hello"), control: CallControl())
        let first = runtime.pipeline.answer(call, plan: plan, control: CallControl()) { $0 }
        let answer = try first.get()
        #expect(text(answer) == "echo: hello" && answer.finishReason == "stop" && answer.usage == TokenUsage(input: 1, output: 2))
        let stored = try #require(try store.lookup(key: call.key, maxAge: nil, withDetails: true))
        #expect(stored == answer)
        let body = try #require(stored.raw)
        let json = try JSONValue.parse(bytes: body)
        #expect(json["id"]?.stringValue == "chatcmpl-mock" && json["created"]?.int64Value == 1_700_000_000)
        // The next plan (a new statement) answers from the cache: no call.
        let again = try self.plan()
        let second = runtime.pipeline.answer(try again.prepare(.text("hello"), control: CallControl()), plan: again, control: CallControl()) { $0 }
        #expect(text(try second.get()) == "echo: hello")
        #expect(try modelCalls() == 1)
        #expect(again.tally.snapshot.cacheHits == 1 && again.tally.snapshot.calls == 0)
    }

    @Test func theStatementAsksIdenticalRequestsOnceWithTheCacheOff() throws {
        let plan = try plan { $0[.cache] = .choice("off") }
        for round in 0..<30 {
            let call = try plan.prepare(.text("p\(round % 3)"), control: CallControl())
            _ = try runtime.pipeline.answer(call, plan: plan, control: CallControl()) { $0 }.get()
        }
        #expect(try modelCalls() == 3)
        let counts = plan.tally.snapshot
        #expect(counts.rows == 30 && counts.cacheHits == 27 && counts.calls == 3)
        #expect(try store.statistics().entries == 0)
    }

    /// The async face runs the blocking work on worker threads: 16 calls wait on the network together (the server
    /// holds each until all 16 have arrived) while the cooperative pool, a thread or two here, stays free. Were the
    /// calls blocking pool threads, fewer would arrive and the server would fail them after 60 s.
    @Test func theAsyncFaceAnswersManyCallsAtOnce() async throws {
        let plan = try plan { $0[.cache] = .choice("off") }
        let calls = try (0..<16).map { try plan.prepare(.text("together \($0) [[barrier:async:16]]"), control: CallControl()) }
        let answers = await withTaskGroup(of: String.self) { group in
            for call in calls {
                group.addTask {
                    let result = await runtime.pipeline.answer(call, plan: plan) { response throws(AIQueryError) in
                        if case .text(let text) = response.output { return text }
                        return ""
                    }
                    return (try? result.get()) ?? "failed"
                }
            }
            var answers: Set<String> = []
            for await answer in group { answers.insert(answer) }
            return answers
        }
        #expect(answers == Set((0..<16).map { "echo: together \($0) [[barrier:async:16]]" }))
    }

    @Test func cancellingTheTaskInterruptsItsCall() async throws {
        let plan = try plan { $0[.cache] = .choice("off") }
        let call = try plan.prepare(.text("very slow [[sleep:30]]"), control: CallControl())
        let task = Task { await runtime.pipeline.answer(call, plan: plan) { $0 } }
        while try modelCalls() == 0 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        let result = await task.value
        #expect(throws: AIQueryError.self) { try result.get() }
        if case .failure(let error) = result { #expect(error.code == .cancelled && error.sqliteResultCode == 9) }
    }

    /// An upstream that quotes the request's headers in its error, or the key in its answer: the key reaches
    /// neither the error text nor the cache.
    @Test func aKeyEchoedByTheUpstreamIsRedacted() throws {
        let key = "sk-echoed-secret-4242"
        let plan = try plan({ $0[.maxRetries] = .count(0) }, key: .literal(key))
        let failing = try plan.prepare(.text("x [[echo_headers:400]]"), control: CallControl())
        let failure = runtime.pipeline.answer(failing, plan: plan, control: CallControl()) { $0 }
        guard case .failure(let error) = failure else { Issue.record("expected a failure"); return }
        #expect(error.code == .upstreamStatus && error.status == 400)
        #expect(!error.message.contains(key) && error.message.contains("[REDACTED]"), "\(error.message)")
        let echoing = try plan.prepare(.text("my key is \(key)"), control: CallControl())
        let answer = try runtime.pipeline.answer(echoing, plan: plan, control: CallControl()) { $0 }.get()
        #expect(text(answer) == "echo: my key is [REDACTED]")
        let stored = try #require(try store.lookup(key: echoing.key, maxAge: nil, withDetails: true))
        #expect(!String(decoding: stored.raw ?? [], as: UTF8.self).contains(key) && text(stored) == "echo: my key is [REDACTED]")
    }

    /// Many calls on worker threads, answered in the order they were added, duplicates asked once.
    @Test func aWindowAnswersInOrder() throws {
        let plan = try plan { $0[.cache] = .choice("off") }
        let window = CallWindow<Int, String>(plan: plan, concurrency: 8, batchSize: 1, isInterrupted: { false }) { response throws(AIQueryError) in
            if case .text(let text) = response.output { return text }
            return ""
        }
        for index in 0..<40 {
            let prompt = index % 10 == 9 ? nil : "r\(index % 20) [[sleep:0.0\(index * 7 % 10)]]"
            window.add(try prompt.map { try plan.prepare(.text($0), control: CallControl()) }, tag: index)
        }
        window.endInput()
        var order: [Int] = []
        while let (tag, answer) = try window.next() {
            order.append(tag)
            if tag % 10 == 9 {
                #expect(answer == nil)
            } else {
                #expect(try answer?.get() == "echo: r\(tag % 20) [[sleep:0.0\(tag * 7 % 10)]]")
            }
        }
        #expect(order == Array(0..<40))
        #expect(try modelCalls() == 18)
    }
}
