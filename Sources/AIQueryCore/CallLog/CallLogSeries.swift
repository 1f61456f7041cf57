/// The call log's records over time, in equal buckets from `since` to `until`: what a usage page charts, added up
/// in the same pass as the summary.
public struct CallLogSeries: Sendable {
    public struct Bucket: Sendable {
        /// `rows` are the requests.
        public var counts = UsageCounts()
        public var cost: Double?
    }

    public let since: Double
    public let until: Double
    public let bucketSeconds: Double
    public private(set) var buckets: [Bucket]

    /// Buckets a page can draw: at most this many.
    public static let maxBuckets = 1_000

    /// - Parameter count: 1 to ``maxBuckets``, fewer when the range is shorter than that many seconds (a bucket
    ///   is at least a second).
    public init(since: Double, until: Double, count: Int) {
        self.since = since
        self.until = max(until, since + 1)
        let count = min(Double(min(Self.maxBuckets, max(1, count))), (self.until - since).rounded(.up))
        bucketSeconds = (self.until - since) / count
        buckets = Array(repeating: Bucket(), count: Int(count))
    }

    mutating func add(time: Double, requests: Int, cacheHit: Bool, failed: Bool, input: Int, output: Int, cost: Double?) {
        guard time >= since, time < until else { return }
        let index = min(buckets.count - 1, Int((time - since) / bucketSeconds))
        buckets[index].counts.addRows(requests, cacheHits: cacheHit ? requests : 0, errors: failed ? requests : 0)
        buckets[index].counts.addTokens(input: input, output: output)
        if let cost { buckets[index].cost = (buckets[index].cost ?? 0) + cost }
    }

    public var json: JSONValue {
        .object([
            ("since_unix", .double(since)), ("until_unix", .double(until)), ("bucket_seconds", .double(bucketSeconds)),
            (
                "buckets",
                .array(
                    buckets.enumerated().map { index, bucket in
                        .object([
                            ("start_unix", .double(since + Double(index) * bucketSeconds)), ("requests", .integer(Int64(bucket.counts.rows))),
                            ("cache_hits", .integer(Int64(bucket.counts.cacheHits))), ("errors", .integer(Int64(bucket.counts.errors))),
                            ("input_tokens", .integer(Int64(bucket.counts.inputTokens))),
                            ("output_tokens", .integer(Int64(bucket.counts.outputTokens))), ("cost_usd", bucket.cost.map { .double($0) } ?? .null),
                        ])
                    }
                )
            ),
        ])
    }
}
