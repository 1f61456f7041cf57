import Synchronization

/// One limiter per endpoint for a whole runtime, so every connection and statement shares the same budget.
public final class LimiterRegistry: Sendable {
    public init() {}

    private struct Entry { var limits: RateLimits; var limiter: EndpointLimiter }
    private let entries = Mutex<[String: Entry]>([:])

    /// The endpoint's limiter, or nil when it has no limits. Changing an endpoint's limits starts a fresh limiter.
    public func limiter(for endpoint: Endpoint) -> EndpointLimiter? {
        guard let limit = endpoint.limit else { return nil }
        let limits = EndpointLimiter.from(limit)
        let key = [endpoint.name, endpoint.provider.rawValue, endpoint.url, endpoint.model ?? ""].joined(separator: "\u{0}")
        return entries.withLock { entries in
            if let entry = entries[key], entry.limits == limits { return entry.limiter }
            let limiter = EndpointLimiter(limits: limits)
            entries[key] = Entry(limits: limits, limiter: limiter)
            return limiter
        }
    }
}
