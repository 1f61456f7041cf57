import Glibc
import Synchronization

/// What a runtime has spent per endpoint since it was made (the `ai_usage` table: this process since `.load`).
public final class UsageLedger: Sendable {

    public struct Price: Sendable, Equatable {
        /// US dollars per million input and output tokens.
        public var inputPerMillion: Double
        public var outputPerMillion: Double
        public init(inputPerMillion: Double, outputPerMillion: Double) {
            self.inputPerMillion = inputPerMillion
            self.outputPerMillion = outputPerMillion
        }

        /// US dollars for these tokens.
        public func cost(input: Int, output: Int) -> Double {
            (Double(input) * inputPerMillion + Double(output) * outputPerMillion) / 1e6
        }
    }

    public struct EndpointUsage: Sendable {
        public var endpoint: String
        public var counts = UsageCounts()
        public var latency = LatencyHistogram()
        public var price: Price?

        public var cost: Double? {
            price?.cost(input: counts.inputTokens, output: counts.outputTokens)
        }
    }

    private let entries = Mutex<[String: EndpointUsage]>([:])

    public init() {}

    private func update(_ endpoint: String, _ change: (inout EndpointUsage) -> Void) {
        entries.withLock { entries in
            change(&entries[endpoint, default: EndpointUsage(endpoint: endpoint)])
        }
    }

    public func recordRows(endpoint: String, count: Int, cacheHits: Int, errors: Int) {
        update(endpoint) { $0.counts.addRows(count, cacheHits: cacheHits, errors: errors) }
    }

    /// One HTTP attempt that got an answer or failed.
    public func recordCall(endpoint: String, isRetry: Bool, seconds: Double, usage: TokenUsage?) {
        update(endpoint) {
            $0.counts.addCall(isRetry: isRetry)
            if let usage { $0.counts.addTokens(input: usage.input, output: usage.output) }
            $0.latency.record(seconds)
        }
    }

    public func setPrice(endpoint: String, _ price: Price?) {
        update(endpoint) { $0.price = price }
    }

    /// Every endpoint used (or priced) so far, by name.
    public func snapshot() -> [EndpointUsage] {
        entries.withLock { Array($0.values) }.sorted { $0.endpoint < $1.endpoint }
    }

    public func reset() {
        entries.withLock { entries in
            for name in entries.keys {
                entries[name] = EndpointUsage(endpoint: name, price: entries[name]?.price)
            }
        }
    }
}

/// Rows, calls and tokens: what a statement (StatementTally) and an endpoint (UsageLedger) count alike.
public struct UsageCounts: Sendable {
    public var rows = 0
    public var cacheHits = 0
    /// HTTP requests sent, retries included.
    public var calls = 0
    public var retries = 0
    /// Rows that ended in an error.
    public var errors = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var tokens: Int { inputTokens + outputTokens }

    public mutating func addRows(_ count: Int, cacheHits: Int, errors: Int) {
        rows += count
        self.cacheHits += cacheHits
        self.errors += errors
    }

    public mutating func addCall(isRetry: Bool) {
        calls += 1
        if isRetry { retries += 1 }
    }

    public mutating func addTokens(input: Int, output: Int) {
        inputTokens += input
        outputTokens += output
    }
}

/// Latencies in logarithmic buckets 5 % wide, from 0.1 ms to about 10 minutes: fixed memory however many calls,
/// and percentiles within 5 %.
public struct LatencyHistogram: Sendable {
    static let smallest = 1e-4
    static let growth = 1.05
    static let bucketCount = 330
    private var buckets = [Int](repeating: 0, count: LatencyHistogram.bucketCount)
    public private(set) var count = 0

    public init() {}

    static func bucket(_ seconds: Double) -> Int {
        guard seconds > smallest else { return 0 }
        let index = Int((log(seconds / smallest) / log(growth)).rounded(.up))
        return min(index, bucketCount - 1)
    }

    public mutating func record(_ seconds: Double) {
        buckets[Self.bucket(seconds)] += 1
        count += 1
    }

    /// Adds another histogram's calls to this one.
    public mutating func merge(_ other: LatencyHistogram) {
        for index in buckets.indices { buckets[index] += other.buckets[index] }
        count += other.count
    }

    /// The upper edge of the bucket holding the `fraction` quantile (0.5 for p50), or nil with no calls.
    public func quantile(_ fraction: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() {
            seen += n
            if seen >= rank { return Self.smallest * pow(Self.growth, Double(index)) }
        }
        return nil
    }
}
