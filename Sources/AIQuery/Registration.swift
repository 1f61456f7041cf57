import AIQueryCore
import CAIQuery
import Synchronization

/// State shared by every function registered on one connection.
final class ConnectionState: Sendable {
    let endpoints = EndpointResolver()
    let engine = AIQueryEngine.shared
    let settings = Mutex(ConnectionSettings())
    private let store = Mutex<SQLiteResponseStore?>(nil)

    /// The process's cache store, remembered here so a row doesn't look it up again.
    func responseStore() throws -> SQLiteResponseStore? {
        if let known = store.withLock({ $0 }) { return known }
        let found = try SQLiteResponseStore.shared()
        store.withLock { $0 = found }
        return found
    }
}

/// Per-connection defaults set with ai_config; call options override them, they override endpoint definitions.
struct ConnectionSettings {
    var cacheMode: CacheMode?
    var cacheTTL: Double?
    var timeout: Double?
    var maxRetries: Int?
    var deadline: Double?
    var backoff: Double?
    var concurrency: Int?
    var batchSize: Int?
    var maxCalls: Int?
    var maxTokens: Int?
    var progress: ProgressLine.Mode?
}

/// One SQL function: name, arity (-1 = any) and handler.
struct SQLFunction: Sendable {
    var name: String
    var arity: Int32
    /// Network and configuration functions must not run from views, triggers or schema (SQLITE_DIRECTONLY):
    /// a hostile database file must not be able to spend your API key.
    var flags: Int32 = Int32(AIQ_UTF8) | Int32(AIQ_DIRECTONLY)
    var handler: @Sendable (ConnectionState, [SQLArgument]) throws -> SQLResult

    init(
        name: String, arity: Int32, flags: Int32 = Int32(AIQ_UTF8) | Int32(AIQ_DIRECTONLY),
        handler: @escaping @Sendable (ConnectionState, [SQLArgument]) throws -> SQLResult
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.handler = handler
    }

    /// For functions that keep per-statement state in SQLite's context (ai_query).
    init(
        name: String, arity: Int32, flags: Int32,
        contextual: @escaping @Sendable (ConnectionState, [SQLArgument], OpaquePointer?) throws -> SQLResult
    ) {
        self.init(name: name, arity: arity, flags: flags) { _, _ in .null }
        self.contextual = contextual
    }

    var contextual: (@Sendable (ConnectionState, [SQLArgument], OpaquePointer?) throws -> SQLResult)?
}

/// A table-valued listing (read-only, no arguments).
struct SQLRowsetTable: Sendable {
    var name: String
    var schema: String
    var rows: @Sendable (ConnectionState) throws -> [[SQLResult]]
}

/// Every function the extension adds, in one place.
let functionTable: [SQLFunction] = [
    SQLFunction(name: "ai_query", arity: -1, flags: Int32(AIQ_UTF8) | Int32(AIQ_DIRECTONLY) | Int32(AIQ_SUBTYPE) | Int32(AIQ_RESULT_SUBTYPE), contextual: AIQueryFunctions.aiQuery),
    SQLFunction(name: "ai_query_request", arity: -1, flags: Int32(AIQ_UTF8) | Int32(AIQ_DIRECTONLY) | Int32(AIQ_SUBTYPE) | Int32(AIQ_RESULT_SUBTYPE), handler: AIQueryFunctions.aiQueryRequest),
    SQLFunction(name: "ai_endpoint_set", arity: 2, handler: EndpointFunctions.set),
    SQLFunction(name: "ai_endpoint_drop", arity: 1, handler: EndpointFunctions.drop),
    SQLFunction(name: "ai_version", arity: 0, flags: Int32(AIQ_UTF8) | Int32(AIQ_INNOCUOUS) | Int32(AIQ_DETERMINISTIC)) { _, _ in
        .text(AIQueryVersion.string)
    },
    SQLFunction(name: "ai_debug", arity: 0, handler: MetaFunctions.debug),
    SQLFunction(name: "ai_config", arity: 1, handler: SettingsFunctions.config),
    SQLFunction(name: "ai_config", arity: 2, handler: SettingsFunctions.config),
    SQLFunction(name: "ai_cache_stats", arity: 0, handler: SettingsFunctions.cacheStats),
    SQLFunction(name: "ai_cache_clear", arity: 0, handler: SettingsFunctions.cacheClear),
    SQLFunction(name: "ai_cache_clear", arity: 1, handler: SettingsFunctions.cacheClear),
    SQLFunction(name: "ai_usage_reset", arity: 0, handler: UsageFunctions.reset),
    // Pure arithmetic: safe anywhere, including views and indexes.
    SQLFunction(
        name: "ai_cosine", arity: 2, flags: Int32(AIQ_UTF8) | Int32(AIQ_DETERMINISTIC) | Int32(AIQ_INNOCUOUS),
        handler: VectorFunctions.cosine),
]

let rowsetTables: [SQLRowsetTable] = [
    SQLRowsetTable(
        name: "ai_endpoints", schema: "CREATE TABLE x(name TEXT, task TEXT, provider TEXT, model TEXT, url TEXT, source TEXT, api_key TEXT)",
        rows: EndpointFunctions.listing),
    SQLRowsetTable(
        name: "ai_usage",
        schema: """
            CREATE TABLE x(endpoint TEXT, rows INTEGER, cache_hits INTEGER, calls INTEGER, retries INTEGER, errors INTEGER,
            input_tokens INTEGER, output_tokens INTEGER, latency_p50_ms REAL, latency_p95_ms REAL, cost_usd REAL)
            """,
        rows: UsageFunctions.listing),
]

/// Boxed behind SQLite's user-data pointer; released by SQLite when the function is dropped.
private final class FunctionBox {
    let function: SQLFunction
    let state: ConnectionState
    init(_ function: SQLFunction, _ state: ConnectionState) {
        self.function = function
        self.state = state
    }
}

private final class RowsetBox {
    let table: SQLRowsetTable
    let state: ConnectionState
    init(_ table: SQLRowsetTable, _ state: ConnectionState) {
        self.table = table
        self.state = state
    }
}

/// The rows of one scan, kept alive by the C cursor until it closes.
private final class Rowset {
    let rows: [[SQLResult]]
    init(_ rows: [[SQLResult]]) { self.rows = rows }
}

@_cdecl("aiq_swift_register")
func registerFunctions(_ db: OpaquePointer?, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    let state = ConnectionState()
    for function in functionTable {
        let box = Unmanaged.passRetained(FunctionBox(function, state)).toOpaque()
        let rc = aiq_create_function(db, function.name, function.arity, function.flags, box, callFunction, releaseBox)
        if rc != Int32(AIQ_OK) {
            aiq_set_error_message(errorMessage, "aiquery: could not register \(function.name) (SQLite error \(rc))")
            return rc
        }
    }
    for table in streamTables {
        let box = Unmanaged.passRetained(StreamTableBox(table, state)).toOpaque()
        let rc = aiq_create_stream_table(
            db, table.name, table.schema, table.firstArgument, table.argumentCount, box, releaseStreamTableBox)
        if rc != Int32(AIQ_OK) {
            aiq_set_error_message(errorMessage, "aiquery: could not register \(table.name) (SQLite error \(rc))")
            return rc
        }
    }
    for table in rowsetTables {
        let box = Unmanaged.passRetained(RowsetBox(table, state)).toOpaque()
        let rc = aiq_create_rowset_table(db, table.name, table.schema, box, releaseRowsetBox)
        if rc != Int32(AIQ_OK) {
            aiq_set_error_message(errorMessage, "aiquery: could not register \(table.name) (SQLite error \(rc))")
            return rc
        }
    }
    return Int32(AIQ_OK)
}

/// The one C entry for every scalar function: Swift errors stop here and become SQL errors.
private let callFunction: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = {
    context, argc, argv in
    guard let pointer = aiq_user_data(context) else { return }
    let box = Unmanaged<FunctionBox>.fromOpaque(pointer).takeUnretainedValue()
    var arguments: [SQLArgument] = []
    arguments.reserveCapacity(Int(argc))
    for index in 0..<Int(argc) { arguments.append(SQLArgument(argv?[index])) }
    do {
        if let contextual = box.function.contextual {
            try contextual(box.state, arguments, context).store(in: context)
        } else {
            try box.function.handler(box.state, arguments).store(in: context)
        }
    } catch {
        let message = "\(box.function.name): \((error as? AIQueryError)?.message ?? "\(error)")"
        aiq_result_error(context, message, -1)
        if (error as? AIQueryError)?.interrupted == true { aiq_result_error_code(context, Int32(AIQ_INTERRUPT)) }
    }
}

private let releaseBox: @convention(c) (UnsafeMutableRawPointer?) -> Void = { pointer in
    guard let pointer else { return }
    Unmanaged<FunctionBox>.fromOpaque(pointer).release()
}

private let releaseRowsetBox: @convention(c) (UnsafeMutableRawPointer?) -> Void = { pointer in
    guard let pointer else { return }
    Unmanaged<RowsetBox>.fromOpaque(pointer).release()
}

@_cdecl("aiq_swift_rowset_open")
func rowsetOpen(
    _ pointer: UnsafeMutableRawPointer?, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutableRawPointer? {
    guard let pointer else { return nil }
    let box = Unmanaged<RowsetBox>.fromOpaque(pointer).takeUnretainedValue()
    do {
        return Unmanaged.passRetained(Rowset(try box.table.rows(box.state))).toOpaque()
    } catch {
        // A listing that cannot be read (a broken config file) is an error that says why, never an empty table.
        aiq_set_error_message(errorMessage, "\(box.table.name): \((error as? AIQueryError)?.message ?? "\(error)")")
        return nil
    }
}

@_cdecl("aiq_swift_rowset_count")
func rowsetCount(_ pointer: UnsafeMutableRawPointer?) -> Int32 {
    guard let pointer else { return 0 }
    return Int32(Unmanaged<Rowset>.fromOpaque(pointer).takeUnretainedValue().rows.count)
}

@_cdecl("aiq_swift_rowset_cell")
func rowsetCell(_ pointer: UnsafeMutableRawPointer?, _ row: Int32, _ column: Int32, _ context: OpaquePointer?) {
    guard let pointer else { return }
    let rows = Unmanaged<Rowset>.fromOpaque(pointer).takeUnretainedValue().rows
    guard rows.indices.contains(Int(row)), rows[Int(row)].indices.contains(Int(column)) else { return aiq_result_null(context) }
    rows[Int(row)][Int(column)].store(in: context)
}

@_cdecl("aiq_swift_rowset_close")
func rowsetClose(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    Unmanaged<Rowset>.fromOpaque(pointer).release()
}
