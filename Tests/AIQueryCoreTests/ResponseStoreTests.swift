import AIQueryTestSupport
import Foundation
import SQLiteLinked
import Testing

@testable import AIQueryCore

/// The cache's store over a directly linked libsqlite3: the same code the extension runs over the host's API table.
@Suite struct ResponseStoreTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-store-\(UUID().uuidString)/cache.db").path

    @Test func keepsTheWholeAnswerAndReadsTheDetailsOnlyWhenAsked() throws {
        let store = try SQLiteResponseStore(path: path, api: .linked)
        let raw = Array(#"{"id":"chatcmpl-1","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}"#.utf8)
        let answer = ModelResponse(output: .text("hi"), raw: raw, usage: TokenUsage(input: 3, output: 1), finishReason: "stop")
        let key = Array(repeating: UInt8(7), count: 16)
        try store.store(key: key, endpoint: "e", response: answer)
        #expect(try store.lookup(key: key, maxAge: nil, withDetails: true) == answer)
        #expect(try store.lookup(key: key, maxAge: nil, withDetails: false) == ModelResponse(output: .text("hi")))
        // An answer stored again without details (a row of a batch) loses the old ones.
        try store.store(key: key, endpoint: "e", response: ModelResponse(output: .text("hi")))
        #expect(try store.lookup(key: key, maxAge: nil, withDetails: true) == ModelResponse(output: .text("hi")))
        let vector = ModelResponse(output: .embedding([0.5, -1, 2]))
        try store.store(key: [1], endpoint: "v", response: vector)
        #expect(try store.lookup(key: [1], maxAge: nil, withDetails: true) == vector)
        #expect(try store.statistics().entries == 2)
        #expect(try store.clear(endpoint: "v") == 1)
        #expect(try store.lookup(key: [1], maxAge: nil, withDetails: false) == nil)
        #expect(try store.clear(endpoint: nil) == 1)
        #expect(try store.statistics().entries == 0)
    }

    /// The server's write-behind: a queued answer is a hit at once, and is in the file once the queue is finished.
    @Test func queuedAnswersAreHitsAtOnceAndReachTheFile() throws {
        let store = try SQLiteResponseStore(path: path, api: .linked)
        let keys = (0..<50).map { [UInt8(1), UInt8($0)] }
        for key in keys { store.storeLater(key: key, endpoint: "e", response: ModelResponse(output: .text("answer \(key[1])"))) }
        #expect(try keys.allSatisfy { try store.lookup(key: $0, maxAge: nil, withDetails: false) == ModelResponse(output: .text("answer \($0[1])")) })
        store.finishQueuedWrites()
        let other = try SQLiteConnection(path: path, api: .linked)
        let count = try other.withLock { () throws(AIQueryError) -> Int64 in
            let statement = try other.prepare("SELECT count(*) FROM answers WHERE endpoint = 'e'")
            defer { _ = other.api.finalize(statement) }
            _ = other.api.step(statement)
            return other.api.columnInt64(statement, 0)
        }
        #expect(count == 50)
    }

    /// A lookup after every write keeps a read snapshot open that is one commit behind, which once kept SQLite's
    /// checkpoints from ever finishing: the WAL grew without end (100 MB in ten seconds of a server's load).
    @Test func theWALStaysSmallWhileLookupsFollowEveryWrite() throws {
        let store = try SQLiteResponseStore(path: path, api: .linked)
        let raw = Array(repeating: UInt8(ascii: "x"), count: 3000)
        for index in 0..<4000 {
            let key = withUnsafeBytes(of: index) { Array($0) }
            try store.store(key: key, endpoint: "e", response: ModelResponse(output: .text("answer"), raw: raw))
            _ = try store.lookup(key: key, maxAge: nil, withDetails: false)
        }
        let walBytes = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        #expect(walBytes <= 8 << 20, "the WAL holds \(walBytes) bytes for 4,000 answers of 3 kB")
    }

    @Test func oneStorePerRuntime() throws {
        let runtime = Runtime(sqlite: .linked, cachePath: path)
        #expect(runtime.store != nil && runtime.store === runtime.store)
        #expect(Runtime(sqlite: .linked, cachePath: nil).store == nil)
    }

    /// Keys carry the layout's version: an answer stored by an older layout is a miss, never a wrong answer.
    @Test func theKeyNamesTheLayoutVersion() {
        let endpoint = Endpoint(name: "e", task: .chat, provider: .openai, model: "m", url: "http://h/v1", apiKey: .none, source: "t")
        let key = CacheKey.make(endpoint: endpoint, task: .chat, body: .object([("a", .integer(1))]))
        #expect(CacheKey.version == "v2")
        var material = Array("v1\nopenai\nhttp://h/v1\nm\n\nllm/v1/chat\n".utf8)
        JSONValue.object([("a", .integer(1))]).write(into: &material, sortedKeys: true)
        #expect(key.count == 16 && key != Array(SHA256.hash(material).prefix(16)))
    }
}
