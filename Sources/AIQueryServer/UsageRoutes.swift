import AIQueryCore
import Hummingbird

/// The call log as JSON, for a usage page and scripts: `GET /api/2.0/aiquery/calls` (the records, newest first,
/// filtered) and `GET /api/2.0/aiquery/usage` (totals per endpoint and door with latency percentiles, and the
/// daily roll-ups). Both read the file every process writes, so they show SQL's calls too. A server restricted
/// to some endpoints (`AIQUERY_ALLOWED_ENDPOINTS`) shows only theirs.
enum UsageRoutes {
    static let maxRecords = 10_000

    static func add(to router: Router<ServeRequestContext>, state: ServerState) {
        router.get("api/2.0/aiquery/calls") { request, _ in
            let query = try CallLogQuery(request, state: state)
            let log = try callLog(state)
            let allowlist = state.allowlist
            let records = try await state.pipeline.onWorker { _ in
                Result { () throws(AIQueryError) in try read(log, query: query, allowlist: allowlist) }
            }.mapError { ServingError($0, endpoint: nil) }.get()
            return ServingServer.json(.object([("calls", .array(records))]))
        }
        router.get("api/2.0/aiquery/usage") { request, _ in
            let query = try CallLogQuery(request, state: state)
            let buckets = try bucketCount(request)
            let log = try callLog(state)
            let allowlist = state.allowlist
            let summary = try await state.pipeline.onWorker { _ in
                Result { () throws(AIQueryError) in
                    log.flush()
                    return try CallLogSummary.of(path: log.path, api: log.api, query: query, buckets: buckets) { (try? allowlist.check($0)) != nil }
                }
            }.mapError { ServingError($0, endpoint: nil) }.get()
            var fields: [(String, JSONValue)] = [("endpoints", .array(summary.groups.map(\.json))), ("totals", .object(summary.totals.fields))]
            if let series = summary.series { fields.append(("series", series.json)) }
            return ServingServer.json(.object(fields))
        }
    }

    /// `buckets` (1–1000): the usage's records over time in that many buckets; none without it.
    private static func bucketCount(_ request: Request) throws(ServingError) -> Int? {
        guard let text = request.uri.queryParameters["buckets"].map(String.init) else { return nil }
        guard let count = Int(text), (1...CallLogSeries.maxBuckets).contains(count) else {
            throw .invalidParameter("'buckets' must be an integer from 1 to \(CallLogSeries.maxBuckets); got '\(text.truncatedForMessage(40))'")
        }
        return count
    }

    private static func callLog(_ state: ServerState) throws(ServingError) -> CallLog {
        guard let log = state.runtime.callLog else {
            throw ServingError(
                .notFound, "RESOURCE_DOES_NOT_EXIST", "The call log is off (AIQUERY_CALL_LOG=off) or could not be opened; unset AIQUERY_CALL_LOG to record calls")
        }
        return log
    }

    /// Records as JSON objects, the allowed endpoints' only, at most the query's limit.
    private static func read(_ log: CallLog, query: CallLogQuery, allowlist: EndpointAllowlist) throws(AIQueryError) -> [JSONValue] {
        log.flush()
        var unlimited = query
        if allowlist.isRestricted { unlimited.limit = nil }
        let scan = try CallLogScan(path: log.path, api: log.api, query: unlimited)
        defer { scan.close() }
        var records: [JSONValue] = []
        let endpointColumn = CallLogScan.columns.firstIndex(of: "endpoint_name")!
        while records.count < query.limit ?? maxRecords, try scan.next() {
            if allowlist.isRestricted, case .text(let endpoint) = scan.value(endpointColumn), (try? allowlist.check(endpoint)) == nil { continue }
            var fields: [(String, JSONValue)] = []
            for (index, name) in CallLogScan.columns.enumerated() {
                let value = scan.value(index)
                switch name {
                case "event_time":
                    guard case .real(let seconds) = value else { continue }
                    fields.append(("event_time", .string(CallLogTime.text(seconds, separator: "T", suffix: "Z"))))
                    fields.append(("event_unix", .double(seconds)))
                case "request_tags":
                    if case .text(let text) = value, let tags = try? JSONValue.parse(text) { fields.append((name, tags)) } else { fields.append((name, .null)) }
                case "request", "response":
                    if value != CallLogValue.null { fields.append((name, value.json)) }
                default:
                    fields.append((name, value.json))
                }
            }
            records.append(.object(fields))
        }
        return records
    }
}

extension CallLogQuery {
    /// `since`, `until` (a time as `2026-12-04 17:10:03`, ISO 8601 or Unix seconds), `endpoint`, `door` (sql or
    /// serve), `status` (ok or error), `limit` (1–10000, default 100).
    init(_ request: Request, state: ServerState) throws(ServingError) {
        self.init(limit: 100, newestFirst: true)
        let parameters = request.uri.queryParameters
        for (name, field) in [("since", \CallLogQuery.since), ("until", \CallLogQuery.until)] {
            guard let text = parameters[Substring(name)].map(String.init) else { continue }
            guard let seconds = CallLogTime.seconds(text) else {
                throw .invalidParameter("'\(name)' must be a time such as 2026-12-04T17:10:03Z, or Unix seconds; got '\(text.truncatedForMessage(40))'")
            }
            self[keyPath: field] = seconds
        }
        if let endpoint = parameters["endpoint"].map(String.init) {
            do { try state.allowlist.check(endpoint) } catch { throw ServingError(error, endpoint: endpoint) }
            self.endpoint = endpoint
        }
        if let door = parameters["door"].map(String.init) {
            guard Door(rawValue: door) != nil else { throw .invalidParameter("'door' must be sql or serve; got '\(door.truncatedForMessage(40))'") }
            self.door = door
        }
        if let status = parameters["status"].map(String.init) {
            guard status == "ok" || status == "error" else { throw .invalidParameter("'status' must be ok or error; got '\(status.truncatedForMessage(40))'") }
            failed = status == "error"
        }
        if let text = parameters["limit"].map(String.init) {
            guard let limit = Int(text), (1...UsageRoutes.maxRecords).contains(limit) else {
                throw .invalidParameter("'limit' must be an integer from 1 to \(UsageRoutes.maxRecords); got '\(text.truncatedForMessage(40))'")
            }
            self.limit = limit
        }
    }
}
