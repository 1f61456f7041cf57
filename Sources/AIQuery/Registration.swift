import AIQueryCore
import CAIQuery
import Synchronization

/// State shared by every function registered on one connection.
final class ConnectionState: Sendable {
    let endpoints = EndpointResolver()
    /// The process's runtime, asked for every time rather than kept: a forked child gets its own.
    var runtime: Runtime { ProcessRuntime.current(sqlite: .host) }
    /// Defaults set with ai_config: call options override them, they override endpoint definitions.
    let settings = Mutex(SettingLayer())
    /// The endpoints this connection may call: the process's allowlist, narrowed by ai_config.
    let allowlist = Mutex(EndpointAllowlist.process)
    /// The task functions' endpoints set with ai_config on this connection.
    let taskEndpoints = Mutex(TaskEndpointNames())

    /// The endpoints the task functions ask: this connection's, else the process's, the file's, the built-in ones.
    func resolvedTaskEndpoints(for function: TaskFunction? = nil) throws(AIQueryError) -> (chat: String, embeddings: String) {
        let names = try TaskEndpointNames.resolved(connection: taskEndpoints.withLock { $0 }, in: runtime)
        return (names.chat ?? TaskEndpointNames.builtInChat(for: function), names.embeddings ?? TaskEndpointNames.defaults.embeddings!)
    }
    func resolve(_ name: String) throws(AIQueryError) -> Endpoint { try endpoints.resolve(name, in: runtime) }

    /// Everything a statement decides once: the endpoint and how to call it, from the call's options over this
    /// connection's settings over the endpoint's definition (the runtime's one plan factory).
    func plan(endpoint name: String, options: CallOptions) throws(AIQueryError) -> CallPlan {
        try runtime.plan(
            endpoint: name, endpoints: endpoints, allowlist: allowlist.withLock { $0 }, options: options.request, call: options.settings,
            connection: settings.withLock { $0 }, door: .sql)
    }

    /// A plan for a dry run, which never calls (and needs no allowance).
    func dryRunPlan(endpoint name: String, options: RequestOptions = RequestOptions()) throws(AIQueryError) -> CallPlan {
        let runtime = runtime
        return try runtime.dryRunPlan(try endpoints.resolve(name, in: runtime), options: options, door: .sql)
    }
}

/// One SQL function: name, arity (-1 = any) and handler, which gets SQLite's context for per-statement state.
struct SQLFunction: Sendable {
    /// Network and configuration functions must not run from views, triggers or schema (SQLITE_DIRECTONLY):
    /// a hostile database file must not be able to spend your API key.
    static let directOnly = Int32(AIQ_UTF8) | Int32(AIQ_DIRECTONLY)
    /// Pure arithmetic: safe anywhere, including views and indexes.
    static let pure = Int32(AIQ_UTF8) | Int32(AIQ_DETERMINISTIC) | Int32(AIQ_INNOCUOUS)
    /// Takes and returns JSON with its subtype.
    static let directOnlyJSON = directOnly | Int32(AIQ_SUBTYPE) | Int32(AIQ_RESULT_SUBTYPE)

    var name: String
    var arity: Int32
    var flags: Int32 = directOnly
    var handler: @Sendable (ConnectionState, [SQLArgument], OpaquePointer?) throws -> SQLResult
    /// Checked once per statement by the function itself (ai_query, on every row's path) instead of per call.
    var guardsItself = false
    /// SQLITE_DIRECTONLY alone does not keep a function out of CHECK constraints on SQLite 3.40: those functions
    /// also pass the ``SchemaGuard``.
    var isGuarded: Bool { flags & Int32(AIQ_DIRECTONLY) != 0 && !guardsItself }

    init(_ name: String, arity: Int32, flags: Int32 = directOnly, _ handler: @escaping @Sendable (ConnectionState, [SQLArgument]) throws -> SQLResult) {
        self.init(name, arity: arity, flags: flags, contextual: { state, arguments, _ in try handler(state, arguments) })
    }

    init(_ name: String, arity: Int32, flags: Int32, contextual: @escaping @Sendable (ConnectionState, [SQLArgument], OpaquePointer?) throws -> SQLResult) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.handler = contextual
    }
}

extension SQLFunction {
    func guardingItself() -> SQLFunction {
        var copy = self
        copy.guardsItself = true
        return copy
    }
}

/// Every function the extension adds, in one place.
let functionTable: [SQLFunction] = [
    SQLFunction("ai_query", arity: -1, flags: SQLFunction.directOnlyJSON, contextual: AIQueryFunctions.aiQuery).guardingItself(),
    SQLFunction("ai_query_request", arity: -1, flags: SQLFunction.directOnlyJSON, AIQueryFunctions.aiQueryRequest),
    SQLFunction("ai_endpoint_set", arity: 2, EndpointFunctions.set),
    SQLFunction("ai_endpoint_drop", arity: 1, EndpointFunctions.drop),
    SQLFunction("ai_version", arity: 0, flags: SQLFunction.pure) { _, _ in .text(AIQueryVersion.string) },
    SQLFunction("ai_debug", arity: 0, MetaFunctions.debug),
    SQLFunction("ai_config", arity: 1, SettingsFunctions.config),
    SQLFunction("ai_config", arity: 2, SettingsFunctions.config),
    SQLFunction("ai_cache_stats", arity: 0, SettingsFunctions.cacheStats),
    SQLFunction("ai_cache_clear", arity: 0, SettingsFunctions.cacheClear),
    SQLFunction("ai_cache_clear", arity: 1, SettingsFunctions.cacheClear),
    SQLFunction("ai_usage_reset", arity: 0, UsageFunctions.reset),
    SQLFunction("ai_cosine", arity: 2, flags: SQLFunction.pure, VectorFunctions.cosine),
    SQLFunction("ai_task_request", arity: -1, flags: SQLFunction.directOnlyJSON, TaskFunctions.request),
] + TaskFunction.allCases.map { function in
    SQLFunction(function.name, arity: -1, flags: SQLFunction.directOnlyJSON, contextual: TaskFunctions.handler(function))
}

/// A definition bound to its connection, behind SQLite's user-data pointer; SQLite releases it with `releaseBox`.
final class Bound<Definition> {
    let definition: Definition
    let state: ConnectionState
    init(_ definition: Definition, _ state: ConnectionState) {
        self.definition = definition
        self.state = state
    }
}

/// The destructor SQLite calls for every Swift object the extension hands it (bound definitions, per-statement
/// state, scans): each was passed retained.
let releaseBox: @convention(c) (UnsafeMutableRawPointer?) -> Void = { pointer in
    guard let pointer else { return }
    Unmanaged<AnyObject>.fromOpaque(pointer).release()
}

func retainedPointer(_ object: AnyObject) -> UnsafeMutableRawPointer { Unmanaged.passRetained(object).toOpaque() }

@_cdecl("aiq_swift_register")
func registerFunctions(_ db: OpaquePointer?, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    let state = ConnectionState()
    for function in functionTable {
        let box = retainedPointer(Bound(function, state))
        let rc = aiq_create_function(db, function.name, function.arity, function.flags, box, callFunction, releaseBox)
        guard rc == Int32(AIQ_OK) else { return registrationFailed(function.name, rc, errorMessage) }
    }
    for table in streamTables {
        let box = retainedPointer(Bound(table, state))
        let rc = aiq_create_stream_table(
            db, table.name, table.schema, table.firstArgument, table.argumentCount, table.directOnly ? 1 : 0, table.rangeColumn, box, releaseBox)
        guard rc == Int32(AIQ_OK) else { return registrationFailed(table.name, rc, errorMessage) }
    }
    return Int32(AIQ_OK)
}

private func registrationFailed(_ name: String, _ rc: Int32, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aiq_set_error_message(errorMessage, "aiquery: could not register \(name) (SQLite error \(rc))")
    return rc
}

/// The one place Swift errors cross into C: the message SQLite shows, starting with the function's name, and the
/// result code.
func sqlError(_ error: any Error, in function: String) -> (message: String, code: Int32) {
    guard let error = error as? AIQueryError else { return ("\(function): \(error)", Int32(AIQ_ERROR)) }
    return ("\(function): \(error.message)", error.sqliteResultCode)
}

/// The one C entry for every scalar function.
private let callFunction: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = {
    context, argc, argv in
    guard let pointer = aiq_user_data(context) else { return }
    let bound = Unmanaged<Bound<SQLFunction>>.fromOpaque(pointer).takeUnretainedValue()
    var arguments: [SQLArgument] = []
    arguments.reserveCapacity(Int(argc))
    for index in 0..<Int(argc) { arguments.append(SQLArgument(argv?[index])) }
    do {
        if bound.definition.isGuarded { try SchemaGuard.check(bound.definition.name, db: aiq_context_db(context)) }
        try bound.definition.handler(bound.state, arguments, context).store(in: context)
    } catch {
        let (message, code) = sqlError(error, in: bound.definition.name)
        aiq_result_error(context, message, -1)
        if code != Int32(AIQ_ERROR) { aiq_result_error_code(context, code) }
    }
}
