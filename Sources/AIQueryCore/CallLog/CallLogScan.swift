/// What to read of the call log: a time range and filters, newest or oldest first.
public struct CallLogQuery: Sendable {
    /// Unix seconds; records at or after `since`, before `until`.
    public var since: Double?
    public var until: Double?
    public var endpoint: String?
    public var door: String?
    /// true: errors only; false: answers only.
    public var failed: Bool?
    public var limit: Int?
    public var newestFirst = false

    public init(since: Double? = nil, until: Double? = nil, endpoint: String? = nil, door: String? = nil, failed: Bool? = nil, limit: Int? = nil, newestFirst: Bool = false) {
        self.since = since
        self.until = until
        self.endpoint = endpoint
        self.door = door
        self.failed = failed
        self.limit = limit
        self.newestFirst = newestFirst
    }
}

/// A value of a call log column.
public enum CallLogValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// One read of the call log, a row at a time, on a connection of its own (a scan may stay open while SQLite reads
/// it row by row, and other processes keep writing: WAL readers never block them).
public final class CallLogScan {
    /// `id`, then the columns of ``CallLogSchema/columns``.
    public static let columns = ["id"] + CallLogSchema.columns
    /// Each column's SQLite type in the file (`INTEGER`, `REAL`, `TEXT`), in the order of ``columns``.
    public static let types = ["INTEGER"] + CallLogSchema.declarations.map { String($0.type.split(separator: " ")[0]) }
    private let connection: SQLiteConnection
    private let statement: OpaquePointer?

    /// - Parameter select: a query of its own in place of every column (an aggregate), its filters added.
    /// - Parameter groupBy: columns an aggregate `select` groups by, put after the filters.
    public init(path: String, api: SQLiteAPI, query: CallLogQuery, sql select: String? = nil, groupBy: String? = nil) throws(AIQueryError) {
        connection = try SQLiteConnection(path: path, api: api, what: "the call log", variable: "AIQUERY_CALL_LOG")
        var conditions: [String] = []
        var bindings: [CallLogValue] = []
        func condition(_ text: String, _ value: CallLogValue) {
            bindings.append(value)
            conditions.append(text + "?\(bindings.count)")
        }
        if let since = query.since { condition("event_time >= ", .real(since)) }
        if let until = query.until { condition("event_time < ", .real(until)) }
        if let endpoint = query.endpoint { condition("endpoint_name = ", .text(endpoint)) }
        if let door = query.door { condition("door = ", .text(door)) }
        if let failed = query.failed { conditions.append(failed ? "status_code >= 400" : "status_code < 400") }
        var sql = select ?? "SELECT \(Self.columns.joined(separator: ", ")) FROM calls"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if let groupBy { sql += " GROUP BY " + groupBy }
        if select == nil { sql += query.newestFirst ? " ORDER BY event_time DESC, id DESC" : " ORDER BY event_time, id" }
        if let limit = query.limit { sql += " LIMIT \(max(0, limit))" }
        do {
            statement = try connection.prepare(sql)
        } catch {
            _ = connection.api.close(connection.db)
            throw error
        }
        for (offset, value) in bindings.enumerated() { connection.bind(value, at: Int32(offset + 1), of: statement) }
    }

    deinit { close() }

    private var closed = false

    /// Moves to the next row; false at the end.
    public func next() throws(AIQueryError) -> Bool {
        guard !closed else { return false }
        switch connection.api.step(statement) {
        case SQLiteAPI.row: return true
        case SQLiteAPI.done: return false
        default: throw connection.failure()
        }
    }

    public func value(_ column: Int) -> CallLogValue {
        let api = connection.api
        switch api.columnType(statement, Int32(column)) {
        case 1: return .integer(api.columnInt64(statement, Int32(column)))
        case 2: return .real(api.columnDouble(statement, Int32(column)))
        case SQLiteAPI.null: return .null
        default:
            // Straight from SQLite's buffer: a scan reads a million of these.
            let count = Int(api.columnBytes(statement, Int32(column)))
            return .text(String(decoding: UnsafeRawBufferPointer(start: api.columnBlob(statement, Int32(column)), count: count), as: UTF8.self))
        }
    }

    /// A text column's bytes, valid until the next step: read a million rows without making a string of each.
    func bytes(_ column: Int) -> UnsafeRawBufferPointer {
        let api = connection.api
        let start = api.columnBlob(statement, Int32(column))
        return UnsafeRawBufferPointer(start: start, count: start == nil ? 0 : Int(api.columnBytes(statement, Int32(column))))
    }

    /// A number column as a Double (0 for NULL or text).
    func double(_ column: Int) -> Double { connection.api.columnDouble(statement, Int32(column)) }

    /// Whether a column is NULL.
    func isNull(_ column: Int) -> Bool { connection.api.columnType(statement, Int32(column)) == SQLiteAPI.null }

    public func close() {
        guard !closed else { return }
        closed = true
        _ = connection.api.finalize(statement)
        _ = connection.api.close(connection.db)
    }
}

extension SQLiteConnection {
    /// A call log value bound as its own SQLite type.
    func bind(_ value: CallLogValue, at index: Int32, of statement: OpaquePointer?) {
        switch value {
        case .real(let number): _ = api.bindDouble(statement, index, number)
        case .text(let text): _ = api.bindText(statement, index, text, -1)
        case .integer(let number): _ = api.bindInt64(statement, index, number)
        case .null: _ = api.bindNull(statement, index)
        }
    }
}
