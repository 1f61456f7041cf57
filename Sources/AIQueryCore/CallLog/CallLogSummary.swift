/// The call log added up per endpoint and door over a time range: what a usage page lists, from one pass over
/// the range's records (no query per row), with latency percentiles.
public struct CallLogSummary: Sendable {
    public struct Group: Sendable {
        public var endpoint: String
        public var door: String
        /// `rows` are the requests.
        public var counts = UsageCounts()
        public var cost: Double?
        public var latency = LatencyHistogram()
        public var firstToken = LatencyHistogram()

        public var json: JSONValue {
            func milliseconds(_ histogram: LatencyHistogram, _ fraction: Double) -> JSONValue {
                histogram.quantile(fraction).map { .double(($0 * 1e4).rounded() / 10) } ?? .null
            }
            return .object([
                ("endpoint_name", .string(endpoint)), ("door", .string(door)), ("requests", .integer(Int64(counts.rows))),
                ("cache_hits", .integer(Int64(counts.cacheHits))), ("errors", .integer(Int64(counts.errors))),
                ("retries", .integer(Int64(counts.retries))), ("input_tokens", .integer(Int64(counts.inputTokens))),
                ("output_tokens", .integer(Int64(counts.outputTokens))),
                ("cost_usd", cost.map { .double($0) } ?? .null), ("latency_p50_ms", milliseconds(latency, 0.5)),
                ("latency_p95_ms", milliseconds(latency, 0.95)), ("ttft_p50_ms", milliseconds(firstToken, 0.5)),
            ])
        }
    }

    public var groups: [Group]

    /// The records of `query`'s range and filters (its order and limit are not used).
    public static func of(path: String, api: SQLiteAPI, query: CallLogQuery) throws(AIQueryError) -> CallLogSummary {
        var unlimited = query
        unlimited.limit = nil
        let scan = try CallLogScan(
            path: path, api: api, query: unlimited,
            sql: "SELECT endpoint_name, door, requests, cache_hit, status_code, retries, input_tokens, output_tokens, cost_usd, latency_ms, ttft_ms FROM calls")
        defer { scan.close() }
        var groups: [String: Group] = [:]
        while try scan.next() {
            guard case .text(let endpoint) = scan.value(0), case .text(let door) = scan.value(1) else { continue }
            let requests = scan.value(2).integer
            var group = groups[endpoint + "\u{0}" + door] ?? Group(endpoint: endpoint, door: door)
            group.counts.addRows(
                requests, cacheHits: scan.value(3).integer != 0 ? requests : 0, errors: scan.value(4).integer >= 400 ? requests : 0)
            group.counts.retries += scan.value(5).integer
            group.counts.addTokens(input: scan.value(6).integer, output: scan.value(7).integer)
            if let cost = scan.value(8).real { group.cost = (group.cost ?? 0) + cost }
            if let latency = scan.value(9).real { group.latency.record(latency / 1000) }
            if let ttft = scan.value(10).real { group.firstToken.record(ttft / 1000) }
            groups[endpoint + "\u{0}" + door] = group
        }
        return CallLogSummary(groups: groups.values.sorted { ($0.endpoint, $0.door) < ($1.endpoint, $1.door) })
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
