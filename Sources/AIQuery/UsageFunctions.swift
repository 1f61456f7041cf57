import AIQueryCore

/// `ai_usage` (what this process spent per endpoint) and `ai_usage_reset()`.
enum UsageFunctions {
    static func listing(_ state: ConnectionState) -> [[SQLResult]] {
        state.runtime.ledger.snapshot().map { usage in
            let milliseconds = { (fraction: Double) -> SQLResult in
                usage.latency.quantile(fraction).map { .double(($0 * 1000 * 10).rounded() / 10) } ?? .null
            }
            return [
                .text(usage.endpoint), .integer(Int64(usage.counts.rows)), .integer(Int64(usage.counts.cacheHits)), .integer(Int64(usage.counts.calls)),
                .integer(Int64(usage.counts.retries)), .integer(Int64(usage.counts.errors)), .integer(Int64(usage.counts.inputTokens)),
                .integer(Int64(usage.counts.outputTokens)), milliseconds(0.5), milliseconds(0.95), usage.cost.map { .double($0) } ?? .null,
            ]
        }
    }

    static func reset(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        state.runtime.ledger.reset()
        return .null
    }
}
