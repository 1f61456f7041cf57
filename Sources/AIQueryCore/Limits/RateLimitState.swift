/// Limits for one endpoint. A nil limit is not enforced; all nil means unlimited.
///
/// Limits below 1 are treated as 1, so a misconfigured limit slows requests down instead of blocking them forever.
public struct RateLimits: Sendable, Equatable {
    /// Request starts allowed in any window of `window` seconds.
    public var requestsPerWindow: Int?
    /// Tokens (estimated at start, corrected from the response's `usage`) allowed in any window.
    public var tokensPerWindow: Int?
    /// The window length in seconds.
    public var window: Double
    /// Requests running at the same time.
    public var maxInFlight: Int?

    public init(requestsPerWindow: Int? = nil, tokensPerWindow: Int? = nil, window: Double = 60, maxInFlight: Int? = nil) {
        self.requestsPerWindow = requestsPerWindow
        self.tokensPerWindow = tokensPerWindow
        self.window = window
        self.maxInFlight = maxInFlight
    }

    public var isUnlimited: Bool { requestsPerWindow == nil && tokensPerWindow == nil && maxInFlight == nil }
}

/// Exact sliding-window bookkeeping for one endpoint, as a pure value: time is passed in, nothing sleeps.
///
/// Guarantee: no half-open window `[t, t + window)` contains more than `requestsPerWindow` recorded starts, and the
/// tokens debited by the starts in it sum to at most `tokensPerWindow`. That holds because every start is checked
/// against all starts less than a window before it, and starts are recorded in time order, so each window is checked
/// when its last start is added. Callers must not move time backwards.
///
/// In-flight counting lives in `EndpointLimiter`; this type only knows about starts.
struct RateLimitState {
    private struct Entry {
        var start: Double
        var tokens: Int
    }

    let limits: RateLimits
    /// Starts in time order; `log[..<head]` have left the window and are dropped in batches (see `expire`).
    private var log: [Entry] = []
    private var head = 0
    /// The id of `log[0]`, so an id maps to an index without a dictionary.
    private var firstID = 0
    /// Sum of `tokens` over `log[head...]`.
    private var liveTokens = 0
    private var penaltyUntil = -Double.infinity

    init(limits: RateLimits) {
        self.limits = limits
    }

    private var requestCap: Int? { limits.requestsPerWindow.map { max(1, $0) } }
    private var tokenCap: Int? { limits.tokensPerWindow.map { max(1, $0) } }
    /// With no request or token limit there is nothing to remember, so the log stays empty.
    private var keepsLog: Bool { requestCap != nil || tokenCap != nil }

    /// A request bigger than the whole budget counts as exactly the budget, so it runs alone in an empty window
    /// instead of never.
    private func debit(_ tokens: Int) -> Int {
        min(max(0, tokens), tokenCap ?? Int.max)
    }

    /// The earliest time ≥ `now` at which a start debiting `tokens` keeps every limit and the penalty.
    ///
    /// Each limit is a condition "start ≥ some time" (the log only shrinks as time passes), so their maximum is
    /// exactly the earliest time that satisfies all of them.
    mutating func earliestStart(now: Double, tokens: Int) -> Double {
        expire(now: now)
        var earliest = max(now, penaltyUntil)
        if let cap = requestCap, log.count - head >= cap {
            // The new start must not share a window with the `cap` most recent starts, so it comes a full window
            // after the oldest of them.
            earliest = max(earliest, log[log.count - cap].start + limits.window)
        }
        if let cap = tokenCap {
            // Let the oldest starts leave the window one by one until the rest plus this request fit.
            let need = debit(tokens)
            var remaining = liveTokens
            var index = head
            while remaining + need > cap, index < log.count {
                remaining -= log[index].tokens
                earliest = max(earliest, log[index].start + limits.window)
                index += 1
            }
        }
        return earliest
    }

    /// Records a start and returns the id to pass to `correct`. A time before the latest recorded start is taken as
    /// that start's time, keeping the log ordered.
    mutating func recordStart(at time: Double, tokens: Int) -> Int {
        let id = firstID + log.count
        guard keepsLog else {
            firstID += 1
            return id
        }
        let start = max(time, log.last?.start ?? time)
        log.append(Entry(start: start, tokens: debit(tokens)))
        liveTokens += log[log.count - 1].tokens
        return id
    }

    /// Replaces a start's estimate with the tokens it really used. Only later decisions see the change; an entry
    /// that already left the window is ignored. Real usage is not capped: an overrun delays the next requests.
    mutating func correct(id: Int, actualTokens: Int) {
        let index = id - firstID
        guard index >= head, index < log.count else { return }
        let tokens = max(0, actualTokens)
        liveTokens += tokens - log[index].tokens
        log[index].tokens = tokens
    }

    /// No request may start before `until` (the upstream said 429 for the whole endpoint).
    mutating func penalize(until: Double) {
        penaltyUntil = max(penaltyUntil, until)
    }

    /// Drops starts that can no longer share a window with a start at `now` or later.
    private mutating func expire(now: Double) {
        while head < log.count, log[head].start + limits.window <= now {
            liveTokens -= log[head].tokens
            head += 1
        }
        // Compact once the dead prefix is at least half the array: amortised O(1) per start, bounded memory.
        if head >= 64, head * 2 >= log.count {
            log.removeFirst(head)
            firstID += head
            head = 0
        }
    }
}
