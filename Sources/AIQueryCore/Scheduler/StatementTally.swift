import Synchronization

/// What one statement has spent so far: rows, cache hits, upstream calls, retries, errors and tokens. It enforces
/// the statement's budget (maxCalls, maxTokens), feeds the progress line, and passes rows on to the process's
/// ledger (`ai_usage`): misses at once, runs of cache hits in bulk, which keeps the warm-cache path short.
public final class StatementTally: Sendable {
    public let endpoint: String
    /// Where rows go once counted: the runtime's `ai_usage`.
    let ledger: UsageLedger
    public let maxCalls: Int?
    public let maxTokens: Int?
    /// Rows the statement will produce, when known (ai_query_rows counts them first).
    public let expectedRows = Atomic<Int>(-1)
    public let started = System.monotonicSeconds()
    /// Everything counted, and the rows of it not yet in the ledger.
    private let state = Mutex((counts: UsageCounts(), unrecorded: UsageCounts()))
    private let waited = Mutex(0.0)

    /// Seconds spent waiting for upstream answers (a front door subtracts them to report its own overhead).
    public var upstreamSeconds: Double { waited.withLock { $0 } }

    public func addUpstreamSeconds(_ seconds: Double) {
        waited.withLock { $0 += max(0, seconds) }
    }

    public init(endpoint: String, ledger: UsageLedger, maxCalls: Int? = nil, maxTokens: Int? = nil) {
        self.endpoint = endpoint
        self.ledger = ledger
        self.maxCalls = maxCalls
        self.maxTokens = maxTokens
    }

    deinit { flushRows() }

    public var snapshot: UsageCounts { state.withLock { $0.counts } }

    /// Called before every HTTP attempt: a statement over its budget stops here, before spending more.
    public func beginCall(isRetry: Bool) throws(AIQueryError) {
        try state.withLock { state throws(AIQueryError) in
            let counts = state.counts
            if let maxCalls, counts.calls >= maxCalls {
                throw AIQueryError(
                    .budgetExhausted,
                    "the statement reached its budget of maxCalls \(maxCalls) (\(counts.calls) calls to '\(endpoint)' made, \(counts.rows) rows done); raise maxCalls or run fewer rows"
                )
            }
            if let maxTokens, counts.tokens >= maxTokens {
                throw AIQueryError(
                    .budgetExhausted,
                    "the statement reached its budget of maxTokens \(maxTokens) (\(counts.tokens) tokens in \(counts.calls) calls to '\(endpoint)', \(counts.rows) rows done); raise maxTokens or run fewer rows"
                )
            }
            state.counts.addCall(isRetry: isRetry)
        }
    }

    public func addTokens(_ usage: TokenUsage) {
        state.withLock { $0.counts.addTokens(input: usage.input, output: usage.output) }
    }

    /// One row answered (or failed), counted once however it was answered.
    public func rowDone(cacheHit: Bool, failed: Bool) {
        let due = state.withLock { state in
            state.counts.addRows(1, cacheHits: cacheHit ? 1 : 0, errors: failed ? 1 : 0)
            state.unrecorded.addRows(1, cacheHits: cacheHit ? 1 : 0, errors: failed ? 1 : 0)
            return !cacheHit || failed || state.unrecorded.rows >= 1024
        }
        if due { flushRows() }
    }

    /// Hands the rows not yet recorded to the ledger.
    public func flushRows() {
        let pending = state.withLock { state in
            defer { state.unrecorded = UsageCounts() }
            return state.unrecorded
        }
        guard pending.rows > 0 else { return }
        ledger.recordRows(endpoint: endpoint, count: pending.rows, cacheHits: pending.cacheHits, errors: pending.errors)
    }
}
