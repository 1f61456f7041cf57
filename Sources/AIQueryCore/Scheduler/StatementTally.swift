import Synchronization

/// What one SQL statement has spent so far: rows, cache hits, upstream calls, retries, errors and tokens.
/// It enforces the statement's budget (maxCalls, maxTokens) and feeds the progress line.
public final class StatementTally: Sendable {
    public let maxCalls: Int?
    public let maxTokens: Int?
    /// Rows the statement will produce, when known (ai_query_rows counts them first).
    public let expectedRows = Atomic<Int>(-1)
    public let started = System.monotonicSeconds()
    private let counts = Mutex(UsageCounts())

    public init(maxCalls: Int? = nil, maxTokens: Int? = nil) {
        self.maxCalls = maxCalls
        self.maxTokens = maxTokens
    }

    public var snapshot: UsageCounts { counts.withLock { $0 } }

    /// Called before every HTTP attempt: a statement over its budget stops here, before spending more.
    public func beginCall(endpoint: String, isRetry: Bool) throws {
        try counts.withLock { counts in
            if let maxCalls, counts.calls >= maxCalls {
                throw AIQueryError(
                    "the statement reached its budget of maxCalls \(maxCalls) (\(counts.calls) calls to '\(endpoint)' made, \(counts.rows) rows done); raise maxCalls or run fewer rows"
                )
            }
            if let maxTokens, counts.tokens >= maxTokens {
                throw AIQueryError(
                    "the statement reached its budget of maxTokens \(maxTokens) (\(counts.tokens) tokens in \(counts.calls) calls to '\(endpoint)', \(counts.rows) rows done); raise maxTokens or run fewer rows"
                )
            }
            counts.addCall(isRetry: isRetry)
        }
    }

    public func addTokens(input: Int, output: Int) {
        counts.withLock { $0.addTokens(input: input, output: output) }
    }

    public func rowDone(cacheHit: Bool, failed: Bool) {
        counts.withLock { $0.addRows(1, cacheHits: cacheHit ? 1 : 0, errors: failed ? 1 : 0) }
    }
}
