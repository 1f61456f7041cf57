/// The call log added up per endpoint and door over a time range: what a usage page lists, from one pass over
/// the range's records (no query per row), with latency percentiles, the whole range's totals and, when asked,
/// the records over time.
public struct CallLogSummary: Sendable {
    public struct Group: Sendable {
        public var endpoint: String
        public var door: String
        /// `rows` are the requests.
        public var counts = UsageCounts()
        public var cost: Double?
        public var latency = LatencyHistogram()
        public var firstToken = LatencyHistogram()

        mutating func add(_ other: Group) {
            counts.addRows(other.counts.rows, cacheHits: other.counts.cacheHits, errors: other.counts.errors)
            counts.retries += other.counts.retries
            counts.addTokens(input: other.counts.inputTokens, output: other.counts.outputTokens)
            if let cost = other.cost { self.cost = (self.cost ?? 0) + cost }
            latency.merge(other.latency)
            firstToken.merge(other.firstToken)
        }

        public var json: JSONValue {
            .object([("endpoint_name", .string(endpoint)), ("door", .string(door))] + fields)
        }

        /// The numbers, without the endpoint and door.
        public var fields: [(String, JSONValue)] {
            func milliseconds(_ histogram: LatencyHistogram, _ fraction: Double) -> JSONValue {
                histogram.quantile(fraction).map { .double(($0 * 1e4).rounded() / 10) } ?? .null
            }
            return [
                ("requests", .integer(Int64(counts.rows))), ("cache_hits", .integer(Int64(counts.cacheHits))),
                ("errors", .integer(Int64(counts.errors))), ("retries", .integer(Int64(counts.retries))),
                ("input_tokens", .integer(Int64(counts.inputTokens))), ("output_tokens", .integer(Int64(counts.outputTokens))),
                ("cost_usd", cost.map { .double($0) } ?? .null), ("latency_p50_ms", milliseconds(latency, 0.5)),
                ("latency_p95_ms", milliseconds(latency, 0.95)), ("latency_p99_ms", milliseconds(latency, 0.99)),
                ("ttft_p50_ms", milliseconds(firstToken, 0.5)),
            ]
        }
    }

    public var groups: [Group]
    /// Every group added up.
    public var totals: Group
    public var series: CallLogSeries?

    /// The records of `query`'s range and filters (its order and limit are not used).
    /// - Parameter buckets: how many time buckets `series` has (none when nil), from the query's `since` (or the
    ///   oldest record) to its `until` (or `now`).
    /// - Parameter includes: whether an endpoint's records count (a server restricted to some endpoints).
    public static func of(
        path: String, api: SQLiteAPI, query: CallLogQuery, buckets: Int? = nil, now: Double? = nil, includes: (String) -> Bool = { _ in true }
    ) throws(AIQueryError) -> CallLogSummary {
        var unlimited = query
        unlimited.limit = nil
        var series: CallLogSeries?
        if let buckets {
            let until = query.until ?? now ?? System.unixSeconds()
            var since = query.since
            if since == nil {
                let oldest = try CallLogScan(path: path, api: api, query: unlimited, sql: "SELECT min(event_time) FROM calls")
                defer { oldest.close() }
                since = try oldest.next() ? oldest.value(0).real : nil
            }
            series = CallLogSeries(since: min(since ?? until - 86_400, until - 1), until: until, count: buckets)
        }
        let scan = try CallLogScan(
            path: path, api: api, query: unlimited,
            sql: "SELECT endpoint_name, door, requests, cache_hit, status_code, retries, input_tokens, output_tokens, cost_usd, latency_ms, ttft_ms, event_time FROM calls")
        defer { scan.close() }
        // Groups are few (endpoints × doors): found by comparing the row's bytes with each, with no string made per
        // row (a million rows are read in a fraction of the time).
        var groups: [Group] = []
        var keys: [(endpoint: [UInt8], door: [UInt8])] = []
        var excluded: [[UInt8]] = []
        while try scan.next() {
            let endpointBytes = scan.bytes(0)
            let doorBytes = scan.bytes(1)
            if excluded.contains(where: { $0.elementsEqual(endpointBytes) }) { continue }
            var index = keys.firstIndex { $0.endpoint.elementsEqual(endpointBytes) && $0.door.elementsEqual(doorBytes) }
            if index == nil {
                let endpoint = String(decoding: endpointBytes, as: UTF8.self)
                guard includes(endpoint) else {
                    excluded.append(Array(endpointBytes))
                    continue
                }
                keys.append((Array(endpointBytes), Array(doorBytes)))
                groups.append(Group(endpoint: endpoint, door: String(decoding: doorBytes, as: UTF8.self)))
                index = groups.count - 1
            }
            let requests = Int(scan.double(2))
            let cacheHit = scan.double(3) != 0
            let failed = scan.double(4) >= 400
            let input = Int(scan.double(6))
            let output = Int(scan.double(7))
            let cost = scan.isNull(8) ? nil : scan.double(8)
            groups[index!].counts.addRows(requests, cacheHits: cacheHit ? requests : 0, errors: failed ? requests : 0)
            groups[index!].counts.retries += Int(scan.double(5))
            groups[index!].counts.addTokens(input: input, output: output)
            if let cost { groups[index!].cost = (groups[index!].cost ?? 0) + cost }
            if !scan.isNull(9) { groups[index!].latency.record(scan.double(9) / 1000) }
            if !scan.isNull(10) { groups[index!].firstToken.record(scan.double(10) / 1000) }
            if series != nil {
                series!.add(time: scan.double(11), requests: requests, cacheHit: cacheHit, failed: failed, input: input, output: output, cost: cost)
            }
        }
        let sorted = groups.sorted { ($0.endpoint, $0.door) < ($1.endpoint, $1.door) }
        var totals = Group(endpoint: "", door: "")
        for group in sorted { totals.add(group) }
        return CallLogSummary(groups: sorted, totals: totals, series: series)
    }

    /// Each endpoint's latest record since `since`: when it was, its status and error, for an endpoint list's
    /// "answering" or "failing". One grouped read over the time index.
    public static func latest(path: String, api: SQLiteAPI, since: Double) throws(AIQueryError) -> [String: (time: Double, status: Int, error: String?)] {
        // SQLite takes a bare column's values from the row max() picked.
        let scan = try CallLogScan(
            path: path, api: api, query: CallLogQuery(since: since),
            sql: "SELECT endpoint_name, max(event_time), status_code, error_message FROM calls", groupBy: "endpoint_name")
        defer { scan.close() }
        var latest: [String: (time: Double, status: Int, error: String?)] = [:]
        while try scan.next() {
            guard case .text(let endpoint) = scan.value(0), let time = scan.value(1).real else { continue }
            var error: String?
            if case .text(let text) = scan.value(3) { error = text }
            latest[endpoint] = (time, scan.value(2).integer, error)
        }
        return latest
    }
}

extension CallLogValue {
    var integer: Int {
        switch self {
        case .integer(let value): return Int(value)
        case .real(let value): return Int(value)
        default: return 0
        }
    }

    var real: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .real(let value): return value
        default: return nil
        }
    }

    /// As JSON: numbers, text, null.
    public var json: JSONValue {
        switch self {
        case .null: return .null
        case .integer(let value): return .integer(value)
        case .real(let value): return .double(value)
        case .text(let text): return .string(text)
        }
    }
}
