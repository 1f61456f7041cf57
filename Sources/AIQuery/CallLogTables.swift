import AIQueryCore
import Synchronization

/// `ai_usage_log`: the call log of every process and door, read from its file (`SELECT … FROM ai_usage_log WHERE
/// event_time > datetime('now', '-7 days')`); `ai_usage_daily`: its daily totals, kept after the calls are gone.
/// A connection restricted to some endpoints sees only their records.
enum CallLogTables {
    /// The log's columns with `event_time` (text, UTC) first and `id` last, the others as typed in the file.
    static let logColumns: [String] =
        ["event_time TEXT"] + zip(CallLogScan.columns, CallLogScan.types).dropFirst(2).map { "\($0) \($1)" } + ["id INTEGER"]
    static let logRangeColumn: Int32 = 0

    static let dailyColumns = [
        "day TEXT", "endpoint_name TEXT", "door TEXT", "requests INTEGER", "cache_hits INTEGER", "errors INTEGER", "retries INTEGER",
        "input_tokens INTEGER", "output_tokens INTEGER", "cost_usd REAL", "latency_avg_ms REAL", "latency_max_ms REAL",
    ]

    static func log(_ state: ConnectionState) throws(AIQueryError) -> CallLog {
        guard let log = state.runtime.callLog else {
            throw AIQueryError(
                .invalidConfiguration, "the call log is off (AIQUERY_CALL_LOG=off) or could not be opened; unset AIQUERY_CALL_LOG to record calls")
        }
        log.flush()  // this process's calls so far are in the file before it is read
        return log
    }

    /// The arguments are the range hints on `event_time`: lower bound, upper bound, order.
    static func openLog(_ state: ConnectionState, _ db: OpaquePointer, _ hints: [SQLArgument?]) throws -> any RowStream {
        let log = try log(state)
        var query = CallLogQuery()
        if let lower = hints[0].flatMap(seconds) { query.since = lower - 0.001 }
        if let upper = hints[1].flatMap(seconds) { query.until = upper + 0.002 }
        if case .integer(-1)? = hints[2] { query.newestFirst = true }
        let scan = try CallLogScan(path: log.path, api: .host, query: query)
        return LogRows(scan, allowlist: state.allowlist.withLock { $0 })
    }

    static func openDaily(_ state: ConnectionState, _ db: OpaquePointer, _ hints: [SQLArgument?]) throws -> any RowStream {
        let log = try log(state)
        let scan = try CallLogScan(
            path: log.path, api: .host, query: CallLogQuery(),
            sql: """
                SELECT day, endpoint_name, door, requests, cache_hits, errors, retries, input_tokens, output_tokens, cost_usd,
                    CASE WHEN latency_count > 0 THEN latency_ms_sum / latency_count END, latency_ms_max
                FROM daily ORDER BY day, endpoint_name, door
                """)
        return LogRows(scan, allowlist: state.allowlist.withLock { $0 }, isDaily: true)
    }

    /// A bound's Unix seconds: text as `event_time` shows times, or a number; nil (no hint) otherwise.
    private static func seconds(_ argument: SQLArgument) -> Double? {
        switch argument {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        case .text(let text, _): return CallLogTime.seconds(text)
        default: return nil
        }
    }
}

/// Rows of a call log scan, skipping endpoints the connection may not see.
private final class LogRows: RowStream {
    private let scan: CallLogScan
    private let allowlist: EndpointAllowlist
    /// `ai_usage_daily`'s rows, in the scan's order; else the log's, whose table puts the scan's `id` last.
    private let isDaily: Bool
    private let endpointColumn: Int
    private var row: Int64 = 0

    init(_ scan: CallLogScan, allowlist: EndpointAllowlist, isDaily: Bool = false) {
        self.scan = scan
        self.allowlist = allowlist
        self.isDaily = isDaily
        endpointColumn = isDaily ? 1 : 2
    }

    func next() throws -> Bool {
        while try scan.next() {
            row += 1
            guard allowlist.isRestricted else { return true }
            if case .text(let endpoint) = scan.value(endpointColumn), (try? allowlist.check(endpoint)) != nil { return true }
        }
        return false
    }

    func cell(_ column: Int) -> SQLResult {
        let source = isDaily ? column : column == CallLogScan.columns.count - 1 ? 0 : column + 1
        let value = scan.value(source)
        if !isDaily, source == 1, case .real(let seconds) = value { return .text(CallLogTime.text(seconds)) }
        if !isDaily, CallLogScan.columns[source] == "request_tags", case .text(let json) = value { return .json(json) }
        switch value {
        case .null: return .null
        case .integer(let number): return .integer(number)
        case .real(let number): return .double(number)
        case .text(let text): return .text(text)
        }
    }

    var rowid: Int64 { row }
    func close() { scan.close() }
}
