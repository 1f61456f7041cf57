import Foundation
import SQLiteLinked
import Testing

@testable import AIQueryCore

/// The call log's file over a directly linked libsqlite3: retention, roll-ups, times and tags.
@Suite struct CallLogStoreTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-log-\(UUID().uuidString)/calls.db").path

    func record(at time: Double, endpoint: String = "e", content: String? = nil) -> CallRecord {
        var record = CallRecord(
            eventTime: time, endpoint: endpoint, model: "m", provider: "openai", door: .serve, task: "llm/v1/chat", status: 200, cacheHit: false,
            pid: 1)
        record.inputTokens = 3
        record.outputTokens = 4
        record.latencyMs = 10
        record.request = content
        return record
    }

    func count(_ sql: String) throws -> Int {
        let scan = try CallLogScan(path: path, api: .linked, query: CallLogQuery(), sql: sql)
        defer { scan.close() }
        _ = try scan.next()
        if case .integer(let value) = scan.value(0) { return Int(value) }
        return -1
    }

    @Test func oldCallsGoButTheirDaysStay() throws {
        let now = System.unixSeconds()
        let log = try CallLog(settings: CallLogSettings(path: path, retentionDays: 2), api: .linked)
        for age in [0.0, 1, 3, 5] { log.append(record(at: now - age * 86_400)) }
        log.flush()
        #expect(try count("SELECT count(*) FROM calls") == 4, "retention runs when the log opens and then now and then, not per write")
        _ = try CallLog(settings: CallLogSettings(path: path, retentionDays: 2), api: .linked)
        #expect(try count("SELECT count(*) FROM calls") == 2)
        #expect(try count("SELECT count(*) FROM daily") == 4)
        #expect(try count("SELECT sum(requests) FROM daily") == 4)
        #expect(try count("SELECT sum(output_tokens) FROM daily") == 16)
    }

    @Test func pastItsSizeTheOldestCallsGoFirst() throws {
        let now = System.unixSeconds()
        let filler = String(repeating: "x", count: 1000)
        let log = try CallLog(settings: CallLogSettings(path: path, maxBytes: 1 << 20), api: .linked)
        for index in 0..<3000 { log.append(record(at: now - 3000 + Double(index), content: filler)) }
        log.flush()
        _ = try CallLog(settings: CallLogSettings(path: path, maxBytes: 1 << 20), api: .linked)
        let kept = try count("SELECT count(*) FROM calls")
        #expect(kept > 100 && kept < 1000, "\(kept) calls of about 1 KB kept under 1 MB")
        #expect(try count("SELECT min(event_time) > \(now - Double(kept) - 5) FROM calls") == 1, "the newest are kept")
        #expect(try count("SELECT sum(requests) FROM daily") == 3000)
        let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(bytes < 2 << 20, "the file gave its freed pages back: \(bytes) bytes")
    }

    @Test func timesReadBackAsTheyAreShown() {
        #expect(CallLogTime.text(0) == "1970-01-01 00:00:00.000")
        #expect(CallLogTime.text(1_796_401_780.3618) == "2026-12-04 16:29:40.361")
        #expect(CallLogTime.text(951_782_400.5, separator: "T", suffix: "Z") == "2000-02-29T00:00:00.500Z")
        #expect(CallLogTime.seconds("2026-12-04 16:29:40.361")! - 1_796_401_780.361 < 1e-6)
        #expect(CallLogTime.seconds("2000-02-29T00:00:00Z") == 951_782_400)
        #expect(CallLogTime.seconds("2000-02-29") == 951_782_400)
        #expect(CallLogTime.seconds("1796401780") == 1_796_401_780)
        #expect(CallLogTime.seconds("yesterday") == nil)
        #expect(CallLogTime.seconds("nan") == nil && CallLogTime.seconds("1e400") == nil && CallLogTime.seconds("-inf") == nil)
        #expect(CallLogTime.seconds("2026-13-01") == nil)
    }

    @Test func tagsAreBoundedAndSorted() throws {
        #expect(try RequestTags.normalized(.string(#"{"b":"2","a":1,"c":true}"#)) == #"{"a":"1","b":"2","c":"true"}"#)
        #expect(try RequestTags.normalized(.string("{}")) == nil)
        #expect(throws: AIQueryError.self) { try RequestTags.normalized(.string(#"{"a":{"b":1}}"#)) }
        #expect(throws: AIQueryError.self) { try RequestTags.normalized(.string("not json")) }
        let many = "{" + (0..<40).map { "\"k\($0)\":\"v\"" }.joined(separator: ",") + "}"
        do {
            _ = try RequestTags.normalized(.string(many))
            Issue.record("40 tags accepted")
        } catch {
            #expect(error.message == "request_tags has 40 tags; at most 32 are kept; give a JSON object of text values such as '{\"team\":\"growth\"}'")
        }
    }
}
