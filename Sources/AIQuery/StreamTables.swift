import AIQueryCore
import CAIQuery

/// A table-valued function whose rows are produced one at a time while SQLite reads them: `ai_query_rows`, and
/// the listings, which are stream tables without arguments.
struct SQLStreamTable: Sendable {
    var name: String
    var columns: [String]
    /// The arguments, HIDDEN columns after the visible ones.
    var arguments: [String] = []
    /// Whether views, triggers and schema are kept from it: anything that calls a model is; a read-only listing
    /// is not.
    var directOnly = false
    /// A visible column whose bounds and order the scan hears of: then three more values follow the arguments
    /// given to `open` (lower bound, upper bound, order: 1 ascending, -1 descending), each nil when not given.
    var rangeColumn: Int32 = -1
    /// Starts a scan with the arguments given (nil where one was left out).
    var open: @Sendable (ConnectionState, OpaquePointer, [SQLArgument?]) throws -> any RowStream

    var schema: String { "CREATE TABLE x(\((columns + arguments.map { "\($0) HIDDEN" }).joined(separator: ", ")))" }
    var firstArgument: Int32 { Int32(columns.count) }
    var argumentCount: Int32 { Int32(arguments.count) }
}

/// One scan of a stream table. All of it runs on the connection's thread.
protocol RowStream: AnyObject {
    /// Moves to the next row; false at the end.
    func next() throws -> Bool
    func cell(_ column: Int) -> SQLResult
    var rowid: Int64 { get }
    func close()
}

let streamTables: [SQLStreamTable] = [
    SQLStreamTable(
        name: "ai_query_rows", columns: ["id", "request", "response"], arguments: ["endpoint", "query", "options"], directOnly: true,
        open: QueryRows.open),
    SQLStreamTable(
        name: "ai_task_rows", columns: ["id", "request", "response"], arguments: ["function", "query", "argument1", "argument2"],
        directOnly: true, open: TaskFunctions.rows),
    SQLStreamTable(
        name: "vector_search", columns: ["id", "score", "row"], arguments: ["index_name", "query", "num_results", "options"],
        directOnly: true, open: VectorSearch.open),
    SQLStreamTable(
        name: "ai_endpoints",
        columns: ["name TEXT", "task TEXT", "provider TEXT", "model TEXT", "url TEXT", "source TEXT", "api_key TEXT"],
        open: { state, _, _ in Listing(try EndpointFunctions.listing(state)) }),
    SQLStreamTable(
        name: "ai_usage",
        columns: [
            "endpoint TEXT", "rows INTEGER", "cache_hits INTEGER", "calls INTEGER", "retries INTEGER", "errors INTEGER",
            "input_tokens INTEGER", "output_tokens INTEGER", "latency_p50_ms REAL", "latency_p95_ms REAL", "cost_usd REAL",
        ],
        open: { state, _, _ in Listing(UsageFunctions.listing(state)) }),
    SQLStreamTable(
        name: "ai_usage_log", columns: CallLogTables.logColumns, rangeColumn: CallLogTables.logRangeColumn, open: CallLogTables.openLog),
    SQLStreamTable(name: "ai_usage_daily", columns: CallLogTables.dailyColumns, open: CallLogTables.openDaily),
]

/// A listing's rows, computed when its scan starts.
final class Listing: RowStream {
    private let rows: [[SQLResult]]
    private var index = -1

    init(_ rows: [[SQLResult]]) { self.rows = rows }

    func next() throws -> Bool {
        index += 1
        return index < rows.count
    }

    func cell(_ column: Int) -> SQLResult {
        guard rows.indices.contains(index), rows[index].indices.contains(column) else { return .null }
        return rows[index][column]
    }

    var rowid: Int64 { Int64(index + 1) }
    func close() {}
}

/// The scan the C cursor holds: the stream, whether it has ended, and which table it belongs to (for messages).
private final class StreamScan {
    let stream: any RowStream
    let name: String
    var atEnd = false
    init(_ stream: any RowStream, name: String) {
        self.stream = stream
        self.name = name
    }
}

private func fail(_ error: any Error, _ name: String, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    let (message, code) = sqlError(error, in: name)
    aiq_set_error_message(errorMessage, message)
    return code
}

@_cdecl("aiq_swift_stream_open")
func streamOpen(
    _ pointer: UnsafeMutableRawPointer?, _ db: OpaquePointer?, _ given: Int32, _ argc: Int32,
    _ argv: UnsafeMutablePointer<OpaquePointer?>?, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutableRawPointer? {
    guard let pointer, let db else { return nil }
    let bound = Unmanaged<Bound<SQLStreamTable>>.fromOpaque(pointer).takeUnretainedValue()
    var arguments: [SQLArgument?] = []
    var next = 0
    for index in 0..<Int(bound.definition.argumentCount) {
        if given & (1 << index) != 0, next < Int(argc) {
            arguments.append(SQLArgument(argv?[next]))
            next += 1
        } else {
            arguments.append(nil)
        }
    }
    if bound.definition.rangeColumn >= 0 {
        for bit in [AIQ_RANGE_LOWER, AIQ_RANGE_UPPER] {
            if given & Int32(bit) != 0, next < Int(argc) {
                arguments.append(SQLArgument(argv?[next]))
                next += 1
            } else {
                arguments.append(nil)
            }
        }
        let descending = given & Int32(AIQ_RANGE_DESCENDING) != 0
        let ascending = given & Int32(AIQ_RANGE_ASCENDING) != 0
        arguments.append(descending ? .integer(-1) : ascending ? .integer(1) : nil)
    }
    do {
        let stream = try bound.definition.open(bound.state, db, arguments)
        return retainedPointer(StreamScan(stream, name: bound.definition.name))
    } catch {
        _ = fail(error, bound.definition.name, errorMessage)
        return nil
    }
}

@_cdecl("aiq_swift_stream_next")
func streamNext(_ pointer: UnsafeMutableRawPointer?, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let pointer else { return Int32(AIQ_ERROR) }
    let scan = Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue()
    do {
        scan.atEnd = try !scan.stream.next()
        return Int32(AIQ_OK)
    } catch {
        scan.atEnd = true
        return fail(error, scan.name, errorMessage)
    }
}

@_cdecl("aiq_swift_stream_eof")
func streamEof(_ pointer: UnsafeMutableRawPointer?) -> Int32 {
    guard let pointer else { return 1 }
    return Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue().atEnd ? 1 : 0
}

@_cdecl("aiq_swift_stream_cell")
func streamCell(_ pointer: UnsafeMutableRawPointer?, _ column: Int32, _ context: OpaquePointer?) {
    guard let pointer else { return aiq_result_null(context) }
    Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue().stream.cell(Int(column)).store(in: context)
}

@_cdecl("aiq_swift_stream_rowid")
func streamRowid(_ pointer: UnsafeMutableRawPointer?) -> Int64 {
    guard let pointer else { return 0 }
    return Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue().stream.rowid
}

@_cdecl("aiq_swift_stream_close")
func streamClose(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    let scan = Unmanaged<StreamScan>.fromOpaque(pointer).takeRetainedValue()
    scan.stream.close()
}
