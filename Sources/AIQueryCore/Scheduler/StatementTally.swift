import Synchronization

/// What one SQL statement has spent so far: rows, cache hits, upstream calls, retries, errors and tokens.
/// It enforces the statement's budget (maxCalls, maxTokens) and feeds the progress line.
public final class StatementTally: Sendable {
    public struct Counts: Sendable {
        public var rows = 0
        public var cacheHits = 0
        public var calls = 0
        public var retries = 0
        public var errors = 0
        public var inputTokens = 0
        public var outputTokens = 0
        public var tokens: Int { inputTokens + outputTokens }
    }

    public let maxCalls: Int?
    public let maxTokens: Int?
    /// Rows the statement will produce, when known (ai_query_rows counts them first).
    public let expectedRows = Atomic<Int>(-1)
    public let started = System.monotonicSeconds()
    private let counts = Mutex(Counts())

    public init(maxCalls: Int? = nil, maxTokens: Int? = nil) {
        self.maxCalls = maxCalls
        self.maxTokens = maxTokens
    }

    public var snapshot: Counts { counts.withLock { $0 } }

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
            counts.calls += 1
            if isRetry { counts.retries += 1 }
        }
    }

    public func addTokens(input: Int, output: Int) {
        counts.withLock {
            $0.inputTokens += input
            $0.outputTokens += output
        }
    }

    public func rowDone(cacheHit: Bool, failed: Bool) {
        counts.withLock {
            $0.rows += 1
            if cacheHit { $0.cacheHits += 1 }
            if failed { $0.errors += 1 }
        }
    }
}
