import AIQueryCore
import CAIQuery
import Synchronization

/// `ai_query_rows(endpoint, query [, options])`: ai_query over every row of `query`, with many requests in
/// flight, answered in the query's order. `query` returns `(request)` or `(id, request)`; `response` is exactly
/// what `ai_query(endpoint, request, options)` returns for that row, since both end in ``RowValue``.
///
/// SQLite's thread reads the query and feeds a ``CallWindow``, which answers from the statement and the cache at
/// once and fetches the rest on worker threads; a bounded window of rows ahead keeps memory flat.
final class QueryRows: RowStream {
    /// The row a call was made for.
    struct Row {
        let ordinal: Int64
        let id: SQLResult
        let request: SQLResult
        /// The request as the function got it, for ``Requests/finish`` (kept only when there is one).
        let argument: SQLArgument
    }

    /// How the rows of one scan become calls and their answers SQL values: ai_query's, or a task function's.
    struct Requests {
        /// Names the function in row errors (`row 50 (id 50): ai_query: …`).
        var function: String
        var failOnError: Bool
        /// The call for a row's request; nil for a NULL request (a NULL answer, no call).
        var prepare: (SQLArgument, CallControl) throws(AIQueryError) -> PreparedCall?
        /// The answer as SQL, on a worker or from the cache.
        var shape: @Sendable (ModelResponse) throws(AIQueryError) -> SQLResult
        /// What the row's own request adds to a shaped answer (ai_mask masks its row's text), on SQLite's thread.
        var finish: ((SQLResult, SQLArgument) -> SQLResult)? = nil
    }

    private let db: OpaquePointer
    private let plan: CallPlan
    private let requests: Requests
    private let window: CallWindow<Row, SQLResult>
    private let windowLimit: Int
    /// Rows are read ahead only while the window holds less than this in requests and answers (one row always).
    static let windowBytes = 32 << 20
    private let progress: ProgressLine?
    private let control: CallControl
    private var statement: OpaquePointer?
    private let hasIdColumn: Bool
    private var ordinal: Int64 = 0
    private var current: Row?
    private var response: SQLResult = .null

    static func open(_ state: ConnectionState, _ db: OpaquePointer, _ arguments: [SQLArgument?]) throws -> any RowStream {
        guard let endpointArgument = arguments[0], let queryArgument = arguments[1] else {
            throw AIQueryError(
                "expected ai_query_rows(endpoint, query [, options]), e.g. SELECT id, response FROM ai_query_rows('my-llm', 'SELECT id, body FROM docs')"
            )
        }
        guard case .text(let sql, _) = queryArgument, !sql.trimmed().isEmpty else {
            throw AIQueryError("the query (second argument) must be SQL text such as 'SELECT id, body FROM docs', got \(queryArgument.typeName)")
        }
        let (name, options) = try AIQueryFunctions.parseCall([endpointArgument, .null] + (arguments[2].map { [$0] } ?? []), function: "ai_query_rows")
        let plan = try state.plan(endpoint: name, options: options)
        let returnType = options.returnType
        let requests = Requests(
            function: "ai_query", failOnError: options.failOnError,
            prepare: { argument, control throws(AIQueryError) in
                try AIQueryFunctions.modelInput(argument).map { input throws(AIQueryError) in try plan.prepare(input, control: control) }
            },
            shape: { response throws(AIQueryError) in try ResultCasting.result(response.output, returnType: returnType) })
        return try QueryRows(db: db, plan: plan, requests: requests, sql: sql, label: "ai_query_rows \(plan.endpoint.name)")
    }

    init(db: OpaquePointer, plan: CallPlan, requests: Requests, sql: String, label: String) throws(AIQueryError) {
        self.db = db
        self.plan = plan
        self.requests = requests
        let interrupt = InterruptCheck(db: db)
        control = CallControl(isCancelled: { interrupt.isInterrupted() })
        statement = try Self.prepareQuery(sql, db: db)
        hasIdColumn = aiq_column_count(statement) == 2
        // Enough rows ahead to keep every request slot busy while the oldest row is still on its way.
        windowLimit = plan.concurrency * 4 * max(1, plan.batchSize)
        let progress = ProgressLine.forStatement(label, plan: plan)
        self.progress = progress
        window = CallWindow(
            plan: plan, concurrency: plan.concurrency, batchSize: plan.batchSize,
            isInterrupted: { interrupt.isInterrupted() }, whileWaiting: { progress?.update() }, shape: requests.shape)
        if progress != nil { plan.tally.expectedRows.store(Self.count(sql, db: db), ordering: .relaxed) }
    }

    deinit { close() }

    /// The query, checked: a read-only statement that returns (request) or (id, request).
    private static func prepareQuery(_ sql: String, db: OpaquePointer) throws(AIQueryError) -> OpaquePointer? {
        var prepared: OpaquePointer?
        let rc = aiq_prepare(db, sql, &prepared)
        guard rc == Int32(AIQ_OK), let prepared else {
            aiq_finalize(prepared)
            if rc & 0xff == Int32(AIQ_INTERRUPT) { throw CallControl.cancelledError }
            throw AIQueryError(rc == Int32(AIQ_OK) ? "the query is empty: give one SELECT statement" : "the query does not prepare: \(String(cString: aiq_errmsg(db)))")
        }
        let columns = aiq_column_count(prepared)
        let readOnly = aiq_stmt_readonly(prepared) != 0
        guard readOnly, columns == 1 || columns == 2 else {
            aiq_finalize(prepared)
            throw AIQueryError(
                columns == 0 || !readOnly
                    ? "the query must be a SELECT that returns (request) or (id, request)"
                    : "the query must return (request) or (id, request); it returns \(columns) columns")
        }
        return prepared
    }

    /// The query's row count for the progress line; -1 when it can't be had cheaply.
    private static func count(_ sql: String, db: OpaquePointer) -> Int {
        var counter: OpaquePointer?
        defer { aiq_finalize(counter) }
        guard aiq_prepare(db, "SELECT count(*) FROM (\(sql))", &counter) == Int32(AIQ_OK), aiq_step(counter) == Int32(AIQ_ROW) else {
            return -1
        }
        return Int(aiq_column_int64(counter, 0))
    }

    var rowid: Int64 { current?.ordinal ?? 0 }

    func cell(_ column: Int) -> SQLResult {
        guard let current else { return .null }
        switch column {
        case 0: return current.id
        case 1: return current.request
        case 2: return response
        default: return .null
        }
    }

    func next() throws -> Bool {
        try fill()
        guard let (row, answer) = try window.next() else {
            current = nil
            progress?.finish()
            return false
        }
        current = row
        defer { progress?.update() }
        guard let answer else {
            response = .null
            return true
        }
        do {
            let finished = requests.finish.map { finish in answer.map { finish($0, row.argument) } } ?? answer
            response = try RowValue.make(finished, failOnError: requests.failOnError)
        } catch {
            throw error.prefixed("row \(row.ordinal)\(hasIdColumn ? " (id \(row.id.debugText))" : ""): \(requests.function): ")
        }
        return true
    }

    func close() {
        window.cancel()
        plan.finishStatement()
        if let statement { aiq_finalize(statement) }
        statement = nil
        progress?.finish()
    }

    /// Reads rows until the window is full or the query ends.
    private func fill() throws(AIQueryError) {
        while let statement, window.count < windowLimit, window.count == 0 || window.heldBytes < Self.windowBytes {
            let rc = aiq_step(statement)
            if rc == Int32(AIQ_DONE) {
                aiq_finalize(statement)
                self.statement = nil
                window.endInput()
                break
            }
            guard rc == Int32(AIQ_ROW) else {
                if rc & 0xff == Int32(AIQ_INTERRUPT) { throw CallControl.cancelledError }
                throw AIQueryError("reading the query failed: \(String(cString: aiq_errmsg(db)))")
            }
            ordinal += 1
            let requestArgument = SQLArgument(aiq_column_value(statement, hasIdColumn ? 1 : 0))
            let id: SQLResult = hasIdColumn ? SQLResult(SQLArgument(aiq_column_value(statement, 0))) : .integer(ordinal)
            let row = Row(ordinal: ordinal, id: id, request: SQLResult(requestArgument), argument: requests.finish == nil ? .null : requestArgument)
            let call: PreparedCall?
            do {
                call = try requests.prepare(requestArgument, control)
            } catch {
                throw error.prefixed("row \(ordinal): ")
            }
            window.add(call, tag: row)
        }
    }
}
