/// One row of the call log: a call answered for a caller (a SQL row, an HTTP request), shaped like Databricks'
/// `system.ai_gateway.usage`. A SQL statement's cache hits are one record for all of them (`requests`), so that
/// a warm statement over a million rows writes one row, not a million.
public struct CallRecord: Sendable, Equatable {
    /// Unix seconds (UTC) when the call ended.
    public var eventTime: Double
    public var endpoint: String
    /// The model the endpoint names (or the endpoint's name when it names none).
    public var model: String
    public var provider: String
    public var door: Door
    public var task: String?
    /// 200 for an answer; else the HTTP status the error maps to (429, 502, …).
    public var status: Int
    /// Databricks' `error_code` (REQUEST_LIMIT_EXCEEDED, …); nil for an answer.
    public var errorCode: String?
    public var errorMessage: String?
    public var cacheHit: Bool
    /// Calls this record stands for: 1, or a SQL statement's cache hits together.
    public var requests: Int = 1
    /// HTTP requests sent; retries are those beyond the first.
    public var attempts: Int = 0
    public var inputTokens: Int?
    public var outputTokens: Int?
    /// The endpoint reported no usage: tokens are (text length + 1) / 4, as Databricks estimates them.
    public var tokensEstimated = false
    public var latencyMs: Double?
    /// Time to the first words of a streamed answer.
    public var ttftMs: Double?
    /// US dollars, when the endpoint has a price; 0 for cache hits.
    public var costUSD: Double?
    /// Sorted JSON (``RequestTags``).
    public var requestTags: String?
    public var pid: Int
    /// The request and the answer, only when `AIQUERY_CALL_LOG_CONTENT=on`, with the request's secrets removed.
    public var request: String?
    public var response: String?

    public var retries: Int { max(0, attempts - 1) }
}

extension CallRecord {
    /// Text kept in a record's content and error columns, at most this many bytes each.
    static let maxTextBytes = 65_536

    /// The record of one call as it ended.
    static func of(
        _ call: PreparedCall?, result: Result<ModelResponse, AIQueryError>, source: AnswerSource, plan: CallPlan, keepsContent: Bool
    ) -> CallRecord {
        let endpoint = plan.endpoint
        var record = CallRecord(
            eventTime: System.unixSeconds(), endpoint: endpoint.name, model: endpoint.model ?? endpoint.name,
            provider: endpoint.provider.rawValue, door: plan.door, task: plan.knownTask?.rawValue, status: 200, errorCode: nil,
            cacheHit: source != .upstream, requestTags: plan.settings.requestTags, pid: System.processID)
        let trace: CallTrace
        switch result {
        case .success(let response):
            trace = response.trace
            if source == .upstream { record.count(response, call: call, plan: plan) }
            if keepsContent { record.response = Self.text(of: response.output) }
        case .failure(let error):
            trace = error.trace
            record.status = error.httpStatus
            record.errorCode = error.databricksErrorCode
            record.errorMessage =
                error.isCancellation && plan.door == .serve ? "the caller went away before the answer was whole" : Self.clip(error.message)
        }
        record.attempts = trace.attempts
        record.latencyMs = trace.seconds.map { ($0 * 1e6).rounded() / 1000 }
        record.ttftMs = trace.firstDeltaSeconds.map { ($0 * 1e6).rounded() / 1000 }
        if record.cacheHit, endpoint.price != nil { record.costUSD = 0 }
        if keepsContent, let call { record.request = Self.clip(plan.contentRedactor().redact(call.body.serialized())) }
        return record
    }

    /// Tokens as the endpoint reported them, else estimated; and their cost.
    private mutating func count(_ response: ModelResponse, call: PreparedCall?, plan: CallPlan) {
        if let usage = response.usage {
            inputTokens = usage.input
            outputTokens = usage.output
        } else {
            tokensEstimated = true
            inputTokens = ((call?.bodyBytes ?? 0) + 1) / 4
            if case .text(let text) = response.output { outputTokens = (text.utf8.count + 1) / 4 } else { outputTokens = 0 }
        }
        costUSD = plan.endpoint.price?.cost(input: inputTokens ?? 0, output: outputTokens ?? 0)
    }

    static func text(of output: ModelOutput) -> String {
        switch output {
        case .text(let text): return clip(text)
        case .json(let json): return clip(json.serialized())
        case .embedding(let vector): return "[embedding of \(vector.count) dimensions]"
        }
    }

    static func clip(_ text: String) -> String {
        guard text.utf8.count > maxTextBytes else { return text }
        let bytes = Array(text.utf8)
        var end = maxTextBytes
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }  // not inside a character's bytes
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
