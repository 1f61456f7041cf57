import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How long a request would have to wait for its limits.
public struct LimitWait: Error, Sendable {
    public var seconds: Double
}

/// Permission to send one request; give it back with `finish(actualTokens:)` or `EndpointLimiter.release`.
/// Releasing a permit again (or a copy of it) does nothing.
public struct LimitPermit: Sendable {
    let limiter: EndpointLimiter
    let id: Int

    public func finish(actualTokens: Int?) {
        limiter.release(self, actualTokens: actualTokens)
    }
}

/// Enforces `RateLimits` for one endpoint across threads by blocking the caller.
///
/// Callers are plain threads (SQLite's), never Swift's cooperative pool, so sleeping here is fine. Waiting is a
/// loop of short sleeps rather than a condition variable: requests take far longer than a slice, it notices
/// cancellation, and it runs unchanged on the injected clock and sleep in tests.
public final class EndpointLimiter: Sendable {
    public let limits: RateLimits
    private let now: @Sendable () -> Double
    private let sleep: @Sendable (Double) -> Void
    private let shared: Mutex<Shared>

    private struct Shared {
        var window: RateLimitState
        /// Ids of permits not yet released; also makes a second release harmless.
        var inFlight: Set<Int> = []
        var waitedSeconds = 0.0
        var started = 0
    }

    /// Longest single sleep, so cancellation is noticed within about this long.
    static let maxSlice = 0.05
    /// How often a caller waiting for an in-flight slot looks again.
    static let inFlightPoll = 0.005
    /// Shortest sleep, so a rounding remainder in `earliest - now` cannot make a waiter spin with the clock still.
    static let minSlice = 0.000001

    public init(
        limits: RateLimits,
        now: @escaping @Sendable () -> Double = System.monotonicSeconds,
        sleep: @escaping @Sendable (Double) -> Void = EndpointLimiter.sleepSeconds
    ) {
        self.limits = limits
        self.now = now
        self.sleep = sleep
        self.shared = Mutex(Shared(window: RateLimitState(limits: limits)))
    }

    /// An endpoint's `limit` (MLflow's `calls` per `renewal_period`, plus `tokens` and `max_in_flight`) as limits.
    /// The window keeps a margin of 1 % (at most 50 ms): requests reach the upstream after a variable network
    /// delay, and without it two requests exactly one window apart could land inside one upstream window.
    public static func from(_ limit: EndpointLimit) -> RateLimits {
        RateLimits(
            requestsPerWindow: limit.calls, tokensPerWindow: limit.tokens, window: limit.window + min(0.05, limit.window * 0.01),
            maxInFlight: limit.maxInFlight)
    }

    /// Blocks until a request debiting `estimatedTokens` may start under every limit and any penalty, then counts
    /// it as started. Throws `CancellationError` when `isCancelled()` is true while it would have to wait.
    public func acquire(estimatedTokens: Int, isCancelled: @Sendable () -> Bool = { false }) throws -> LimitPermit {
        var firstLook: Double?
        while true {
            let decision = decide(estimatedTokens: estimatedTokens, firstLook: &firstLook)
            switch decision {
            case .start(let id):
                return LimitPermit(limiter: self, id: id)
            case .wait(let seconds):
                if isCancelled() {
                    stopWaiting(since: firstLook)
                    throw CancellationError()
                }
                sleep(min(max(seconds, Self.minSlice), Self.maxSlice))
            }
        }
    }

    /// ``acquire(estimatedTokens:isCancelled:)`` for async callers (a server's event loop): the task sleeps
    /// instead of the thread, in the same slices. Throws `CancellationError` when the task is cancelled.
    public func acquire(estimatedTokens: Int) async throws -> LimitPermit {
        var firstLook: Double?
        while true {
            switch decide(estimatedTokens: estimatedTokens, firstLook: &firstLook) {
            case .start(let id):
                return LimitPermit(limiter: self, id: id)
            case .wait(let seconds):
                do {
                    try await Task.sleep(nanoseconds: UInt64(min(max(seconds, Self.minSlice), Self.maxSlice) * 1e9))
                } catch {
                    stopWaiting(since: firstLook)
                    throw CancellationError()
                }
            }
        }
    }

    /// A caller gives up waiting: its time so far still counts as waited.
    private func stopWaiting(since firstLook: Double?) {
        let since = firstLook ?? 0
        shared.withLock { $0.waitedSeconds += now() - since }
    }

    private enum Decision { case start(Int), wait(Double) }

    /// Starts the request now if every limit allows it, or says how long it would have to wait: for callers that
    /// answer "too many requests, retry after" instead of waiting (a server front door).
    public func tryAcquire(estimatedTokens: Int) -> Result<LimitPermit, LimitWait> {
        var firstLook: Double?
        switch decide(estimatedTokens: estimatedTokens, firstLook: &firstLook) {
        case .start(let id): return .success(LimitPermit(limiter: self, id: id))
        case .wait(let seconds): return .failure(LimitWait(seconds: seconds))
        }
    }

    private func decide(estimatedTokens: Int, firstLook: inout Double?) -> Decision {
        shared.withLock { state in
            // The clock is read under the lock so that starts are recorded in time order across threads, and
            // the decision and the record are one step: two threads never both take the last slot.
            let time = now()
            let since = firstLook ?? time
            firstLook = since
            let earliest = state.window.earliestStart(now: time, tokens: estimatedTokens)
            if earliest > time { return .wait(earliest - time) }
            if let cap = limits.maxInFlight, state.inFlight.count >= max(1, cap) { return .wait(Self.inFlightPoll) }
            let id = state.window.recordStart(at: time, tokens: estimatedTokens)
            state.inFlight.insert(id)
            state.started += 1
            state.waitedSeconds += time - since
            return .start(id)
        }
    }

    /// Ends a request: frees its in-flight slot and replaces its token estimate with `actualTokens` when known.
    /// A second release of the same permit, or a permit from another limiter, does nothing.
    public func release(_ permit: LimitPermit, actualTokens: Int?) {
        guard permit.limiter === self else { return }
        shared.withLock { state in
            guard state.inFlight.remove(permit.id) != nil else { return }
            if let actualTokens { state.window.correct(id: permit.id, actualTokens: actualTokens) }
        }
    }

    /// No request starts for `seconds` from now (the upstream returned 429 with Retry-After for the endpoint).
    public func penalize(for seconds: Double) {
        shared.withLock { $0.window.penalize(until: now() + seconds) }
    }

    /// Total time callers spent blocked in `acquire`.
    public var waitedSeconds: Double { shared.withLock { $0.waitedSeconds } }
    /// Requests let through so far.
    public var started: Int { shared.withLock { $0.started } }
    /// Permits not yet released.
    public var inFlight: Int { shared.withLock { $0.inFlight.count } }

    /// Sleeps on the real clock, resuming after signals.
    public static func sleepSeconds(_ seconds: Double) {
        guard seconds > 0 else { return }
        let whole = seconds.rounded(.down)
        var request = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }
}
