import Synchronization

/// One limiter per endpoint for the whole process, so every connection and statement shares the same budget.
public final class LimiterRegistry: Sendable {
    public static let shared = LimiterRegistry()

    private struct Entry { var limits: RateLimits; var limiter: EndpointLimiter }
    private let entries = Mutex<[String: Entry]>([:])

    /// The endpoint's limiter, or nil when it has no limits. Changing an endpoint's limits starts a fresh limiter.
    public func limiter(for endpoint: Endpoint) -> EndpointLimiter? {
        guard let limit = endpoint.limit else { return nil }
        // A margin of 1 % of the window (at most 50 ms): requests reach the upstream after a variable network delay,
        // and without it two requests exactly one window apart could land inside one upstream window.
        let window = limit.window + min(0.05, limit.window * 0.01)
        let limits = RateLimits(
            requestsPerWindow: limit.calls, tokensPerWindow: limit.tokens, window: window, maxInFlight: limit.maxInFlight)
        let key = [endpoint.name, endpoint.provider.rawValue, endpoint.url, endpoint.model ?? ""].joined(separator: "\u{0}")
        return entries.withLock { entries in
            if let entry = entries[key], entry.limits == limits { return entry.limiter }
            let limiter = EndpointLimiter(limits: limits)
            entries[key] = Entry(limits: limits, limiter: limiter)
            return limiter
        }
    }
}
