#if canImport(Glibc)
import Glibc
#endif

/// When and how long to retry, following openai-python's defaults: 2 retries, backoff 0.5 s·2ⁿ capped at 8 s with
/// up to 25 % jitter, on 408/409/429/5xx, connection errors and timeouts; Retry-After honoured up to a cap.
public struct RetryPolicy: Sendable, Equatable {
    public var maxRetries = 2
    public var initialBackoff = 0.5
    public var maxBackoff = 8.0
    /// A Retry-After above this is not waited for: the row fails rather than stall the statement.
    public var maxRetryAfter = 60.0
    /// Seconds for all attempts of one row together (nil = only the per-attempt timeout applies).
    public var deadline: Double?

    public init() {}

    /// Whether this outcome is worth another attempt.
    public static func isRetryable(status: Int, response: HTTPResponse?) -> Bool {
        if let override = response?.header("x-should-retry")?.lowercased() {
            if override == "true" { return true }
            if override == "false" { return false }
        }
        return status == 408 || status == 409 || status == 429 || status >= 500
    }

    public static func isRetryable(_ error: HTTPError) -> Bool {
        switch error.kind {
        case .timeout, .connectionRefused, .connectionClosed, .truncatedBody, .other: return true
        case .unresolvedHost, .bodyTooLarge, .headersTooLarge, .tls, .cancelled: return false
        }
    }

    /// Seconds the server asked us to wait (`retry-after-ms`, then `retry-after` in seconds or as an HTTP date),
    /// if any. Values beyond any cap (`inf`, `1e19`) come back as they are, for the caller to refuse; NaN and
    /// negative values are ignored.
    public static func retryAfter(_ response: HTTPResponse, now: Double = Double(time(nil))) -> Double? {
        if let text = response.header("retry-after-ms"), let ms = Double(text.trimmed()), ms >= 0 { return ms / 1000 }
        guard let text = response.header("retry-after")?.trimmed() else { return nil }
        if let seconds = Double(text) { return seconds >= 0 ? seconds : nil }
        return HTTPDate.seconds(text).map { max(0, $0 - now) }
    }

    /// Backoff before retry number `attempt` (1-based).
    public func backoff(attempt: Int, random: Double = Double.random(in: 0..<1)) -> Double {
        let base = min(initialBackoff * pow(2, Double(attempt - 1)), maxBackoff)
        return base * (1 - 0.25 * random)
    }
}
