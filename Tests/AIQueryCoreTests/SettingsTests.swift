import Testing

@testable import AIQueryCore

/// One table of settings: names in each place, bounds, defaults and the layered resolution.
@Suite struct SettingsTests {
    @Test func namesPerScope() {
        #expect(Setting.all.enumerated().allSatisfy { $0.offset == $0.element.id })
        #expect(Setting.names(in: .call) == ["timeout", "maxRetries", "deadline", "cache", "concurrency", "batchSize", "maxCalls", "maxTokens", "requestTags"])
        #expect(Setting.names(in: .endpoint) == ["timeout", "max_retries", "deadline", "concurrency", "batch_size"])
        #expect(Setting.named("MAXRETRIES", in: .call) == .maxRetries)
        #expect(Setting.named("max_retries", in: .connection) == .maxRetries)
        #expect(Setting.named("maxRetries", in: .connection) == nil)
        #expect(Setting.named("cache", in: .endpoint) == nil)
    }

    @Test(arguments: [
        (Setting.timeout, JSONValue.double(1e300)), (.timeout, .double(.infinity)), (.timeout, .integer(0)), (.timeout, .string("soon")),
        (.backoff, .double(601)), (.deadline, .double(-1)), (.maxRetries, .integer(101)), (.maxRetries, .double(1.5)),
        (.concurrency, .integer(0)), (.maxTokens, .string("9223372036854775807")), (.cache, .string("sometimes")), (.progress, .null),
    ])
    func outOfBoundsValuesAreRefused(setting: Setting, value: JSONValue) {
        #expect(throws: AIQueryError.self) { try setting.parse(value, label: setting.option) }
    }

    @Test func valuesInBounds() throws {
        #expect(try Setting.timeout.parse(.string(" 0.5 "), label: "timeout") == .seconds(0.5))
        #expect(try Setting.maxRetries.parse(.double(3), label: "maxRetries") == .count(3))
        #expect(try Setting.cache.parse(.string("REPLAY"), label: "cache") == .choice("replay"))
        do {
            _ = try Setting.concurrency.parse(.integer(0), label: "concurrency")
            Issue.record("concurrency 0 was accepted")
        } catch {
            #expect(error.message == "concurrency must be an integer from 1 to 256, got '0'")
            #expect(error.code == .invalidArgument)
        }
    }

    @Test func callOverConnectionOverEndpointOverDefault() {
        var call = SettingLayer(), connection = SettingLayer(), endpoint = SettingLayer()
        #expect(ResolvedSettings().count(.maxRetries) == 2)
        endpoint[.maxRetries] = .count(0)
        #expect(ResolvedSettings(endpoint: endpoint).count(.maxRetries) == 0)
        connection[.maxRetries] = .count(5)
        #expect(ResolvedSettings(connection: connection, endpoint: endpoint).count(.maxRetries) == 5)
        call[.maxRetries] = .count(7)
        let resolved = ResolvedSettings(call: call, connection: connection, endpoint: endpoint)
        #expect(resolved.count(.maxRetries) == 7 && resolved.retryPolicy.maxRetries == 7)
        connection[.backoff] = .seconds(20)
        #expect(ResolvedSettings(connection: connection).retryPolicy.maxBackoff == 20)
        #expect(ResolvedSettings().cacheMode == .on && ResolvedSettings().timeout == 300 && ResolvedSettings().seconds(.deadline) == nil)
    }
}

/// One error type: its code decides scope, SQLite result code, HTTP status and Databricks error_code.
@Suite struct ErrorCodeTests {
    @Test func codesMapToEveryFrontDoor() {
        let unknown = AIQueryError(.unknownEndpoint, "x")
        #expect(unknown.scope == .statement && unknown.httpStatus == 404 && unknown.databricksErrorCode == "RESOURCE_DOES_NOT_EXIST")
        let limited = AIQueryError(.upstreamStatus, "x", status: 429, upstreamCode: "rate_limit_exceeded")
        #expect(limited.scope == .row && limited.httpStatus == 429 && limited.databricksErrorCode == "REQUEST_LIMIT_EXCEEDED")
        let databricks = AIQueryError(.upstreamStatus, "x", status: 403, upstreamCode: "PERMISSION_DENIED")
        #expect(databricks.databricksErrorCode == "PERMISSION_DENIED")
        #expect(CallControl.cancelledError.sqliteResultCode == 9 && AIQueryError("bad").sqliteResultCode == 1)
        #expect(AIQueryError("bad").httpStatus == 400 && AIQueryError("bad").databricksErrorCode == "INVALID_PARAMETER_VALUE")
        #expect(AIQueryError(.budgetExhausted, "x").httpStatus == 429 && AIQueryError(.timeout, "x").httpStatus == 504)
        #expect(AIQueryError(.castFailed, "x").scope == .row && AIQueryError(.budgetExhausted, "x").scope == .statement)
    }

    /// Halving a batch helps only with what the request carries, decided by status, not by the message's words.
    @Test func batchesSplitOnRefusalsOnly() {
        #expect(UpstreamError.isRefusal(AIQueryError(.upstreamStatus, "anything", status: 413)))
        #expect(UpstreamError.isRefusal(AIQueryError(.upstreamStatus, "anything", status: 400)))
        for status in [401, 403, 404, 408, 409, 429, 500, 503] {
            #expect(!UpstreamError.isRefusal(AIQueryError(.upstreamStatus, "input too large", status: status)))
        }
        #expect(!UpstreamError.isRefusal(AIQueryError(.invalidResponse, "batch too large")))
    }
}

@Suite struct RedactorTests {
    @Test func secretsLeaveTextAndBytes() {
        let redactor = Redactor(secrets: ["sk-live-123456", "ab"])
        #expect(redactor.redact("key sk-live-123456 and sk-live-123456!") == "key [REDACTED] and [REDACTED]!")
        #expect(redactor.redact("ab stays: too short to be a secret") == "ab stays: too short to be a secret")
        #expect(redactor.redact(Array("x\"sk-live-123456\"".utf8)) == Array("x\"[REDACTED]\"".utf8))
        // A combining mark after the key makes a different Character, not different bytes (scripts/fuzz checks it).
        #expect(Array(redactor.redact("key sk-live-123456\u{301}!").utf8) == Array("key [REDACTED]\u{301}!".utf8))
        #expect(Redactor.displayURL("http://user:pw-1@host:8/v1") == "http://user:***@host:8/v1")
        #expect(Redactor.password(in: "https://u:secret@h/v1?x=@") == "secret")
        #expect(Redactor.displayURL("http://host/v1?a=b@c") == "http://host/v1?a=***", "an @ in the query is no user info")
        #expect(Redactor.displayURL("http://u:p@host/v1?key=k-123&x&api-version=1") == "http://u:***@host/v1?key=***&x&api-version=***")
    }
}

@Suite struct TrimTests {
    /// As Characters "\r\n" is one grapheme: trimming must work on scalars, or a lone "\n" stays (a token read
    /// from a file kept its newline).
    @Test func loneLineEndsAreTrimmed() throws {
        #expect("dapi123\n".trimmed() == "dapi123")
        #expect("\r x \r\n".trimmed() == "x")
        #expect(" \t\n".trimmed() == "")
        #expect(try Setting.timeout.parse(.string("0.5\n"), label: "timeout") == .seconds(0.5))
    }
}
