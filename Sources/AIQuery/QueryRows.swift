import AIQueryCore
import CAIQuery
import Synchronization

/// Defaults for ai_query_rows when neither the call, ai_config nor the endpoint says otherwise.
enum RowsDefaults {
    static let concurrency = 16
    static let batchSize = 64
    /// Bytes of text per embeddings request, whatever the batch size.
    static let batchBytes = 1 << 20
}

/// `ai_query_rows(endpoint, query [, options])`: ai_query over every row of `query`, with many requests in
/// flight, answered in the query's order. `query` returns `(request)` or `(id, request)`.
///
/// SQLite's thread reads the query, answers what it can from the cache and hands the rest to worker threads
/// (embeddings in batches); it then waits for the oldest row, stores fresh answers in the cache and yields it.
/// At most `concurrency` requests are in flight and a bounded window of rows is held, so memory stays flat.
final class QueryRows: RowStream {
    private let state: ConnectionState
    private let db: OpaquePointer
    private let call: AIQueryFunctions.Call
    private let options: QueryOptions
    private let concurrency: Int
    private let batchSize: Int
    private let windowLimit: Int
    private let tally: StatementTally
    private let progress: ProgressLine?
    private let interrupt: InterruptCheck
    private let shared = Shared()
    private var statement: OpaquePointer?
    private let hasIdColumn: Bool
    private var inputDone = false

    private var window: [Row] = []
    private var windowHead = 0
    private var batch: [Row] = []
    private var batchBytes = 0
    private var inFlightByKey: [[UInt8]: Row] = [:]
    private var ordinal: Int64 = 0
    private var current: Row?

    /// What worker threads touch, guarded by `lock`.
    final class Shared: @unchecked Sendable {
        let lock = ConditionLock()
        let cancelled = Atomic<Bool>(false)
        /// Requests not yet sent, oldest first from `queuedHead` (no shifting of thousands of waiting rows).
        var queued: [[Row]] = []
        var queuedHead = 0
        var inFlight = 0

        /// The oldest unsent request, if any. Call with the lock held.
        func nextQueued() -> [Row]? {
            guard queuedHead < queued.count else { return nil }
            let rows = queued[queuedHead]
            queuedHead += 1
            if queuedHead > 1024, queuedHead * 2 > queued.count {  // amortised: each row moves at most once more
                queued.removeFirst(queuedHead)
                queuedHead = 0
            }
            return rows
        }
    }

    /// One input row. `result` is written under the shared lock.
    final class Row: @unchecked Sendable {
        let ordinal: Int64
        let id: SQLResult
        let request: SQLResult
        let prepared: PreparedCall?
        var result: Result<ModelOutput, any Error>?
        var fromCache = false
        /// An identical request earlier in the window: this row takes its answer.
        var leader: Row?

        init(ordinal: Int64, id: SQLResult, request: SQLResult, prepared: PreparedCall?) {
            self.ordinal = ordinal
            self.id = id
            self.request = request
            self.prepared = prepared
        }
    }

    static func open(_ state: ConnectionState, _ db: OpaquePointer, _ arguments: [SQLArgument?]) throws -> any RowStream {
        guard let endpointArgument = arguments[0], let queryArgument = arguments[1] else {
            throw AIQueryError(
                "expected ai_query_rows(endpoint, query [, options]), e.g. SELECT id, response FROM ai_query_rows('my-llm', 'SELECT id, body FROM docs')"
            )
        }
        guard case .text(let sql, _) = queryArgument, !sql.trimmed().isEmpty else {
            throw AIQueryError("the query (second argument) must be SQL text such as 'SELECT id, body FROM docs', got \(queryArgument.typeName)")
        }
        var callArguments = [endpointArgument, .null]
        if let options = arguments[2] { callArguments.append(options) }
        let call = try AIQueryFunctions.parseCall(state, callArguments, function: "ai_query_rows")
        return try QueryRows(state: state, db: db, call: call, sql: sql)
    }

    private init(state: ConnectionState, db: OpaquePointer, call: AIQueryFunctions.Call, sql: String) throws {
        self.state = state
        self.db = db
        self.call = call
        options = try AIQueryFunctions.effectiveOptions(call, state: state)
        let settings = state.settings.withLock { $0 }
        // An in-process model already uses every core for one batch; more at once would only contend.
        let defaultConcurrency = call.endpoint.provider == .local ? 1 : RowsDefaults.concurrency
        concurrency = call.options.concurrency ?? settings.concurrency ?? call.endpoint.concurrency ?? defaultConcurrency
        batchSize = call.options.batchSize ?? settings.batchSize ?? call.endpoint.batchSize ?? RowsDefaults.batchSize
        tally = AIQueryFunctions.tally(call, settings)
        interrupt = InterruptCheck(db: db)

        var prepared: OpaquePointer?
        if aiq_prepare(db, sql, &prepared) != Int32(AIQ_OK) || prepared == nil {
            let message = String(cString: aiq_errmsg(db))
            aiq_finalize(prepared)
            throw AIQueryError("the query does not prepare: \(message)")
        }
        statement = prepared
        let columns = aiq_column_count(prepared)
        let readOnly = aiq_stmt_readonly(prepared) != 0
        guard readOnly, columns == 1 || columns == 2 else {
            aiq_finalize(prepared)
            statement = nil
            throw AIQueryError(
                columns == 0 || !readOnly
                    ? "the query must be a SELECT that returns (request) or (id, request)"
                    : "the query must return (request) or (id, request); it returns \(columns) columns")
        }
        hasIdColumn = columns == 2
        // Enough rows ahead to keep every request slot busy while the oldest row is still on its way.
        windowLimit = concurrency * 4 * max(1, batchSize)

        progress = AIQueryFunctions.progressLine("ai_query_rows \(call.endpoint.name)", tally, settings)
        if progress != nil { tally.expectedRows.store(Self.count(sql, db: db), ordering: .relaxed) }
    }

    deinit { close() }

    /// The query's row count for the progress line; -1 when it can't be had cheaply.
    private static func count(_ sql: String, db: OpaquePointer) -> Int {
        var counter: OpaquePointer?
        defer { aiq_finalize(counter) }
        guard aiq_prepare(db, "SELECT count(*) FROM (\(sql))", &counter) == Int32(AIQ_OK),
            aiq_step(counter) == Int32(AIQ_ROW)
        else { return -1 }
        return Int(aiq_column_int64(counter, 0))
    }

    var rowid: Int64 { current?.ordinal ?? 0 }

    func cell(_ column: Int) -> SQLResult {
        guard let current else { return .null }
        switch column {
        case 0: return current.id
        case 1: return current.request
        case 2: return response ?? .null
        default: return .null
        }
    }

    private var response: SQLResult?

    func next() throws -> Bool {
        try fill()
        guard windowHead < window.count else {
            current = nil
            progress?.finish()
            return false
        }
        let row = window[windowHead]
        try waitFor(row)
        window[windowHead] = placeholder
        windowHead += 1
        if windowHead > 4096, windowHead * 2 > window.count {
            window.removeFirst(windowHead)
            windowHead = 0
        }
        current = row
        response = try finish(row)
        return true
    }

    func close() {
        shared.cancelled.store(true, ordering: .relaxed)
        if let statement { aiq_finalize(statement) }
        statement = nil
        progress?.finish()
    }

    private let placeholder = Row(ordinal: 0, id: .null, request: .null, prepared: nil)

    // MARK: Reading ahead

    /// Reads rows until the window is full or the query ends, answering from the cache and queueing the rest.
    private func fill() throws {
        while !inputDone, window.count - windowHead < windowLimit {
            guard let statement else { break }
            let rc = aiq_step(statement)
            if rc == Int32(AIQ_DONE) {
                inputDone = true
                break
            }
            guard rc == Int32(AIQ_ROW) else {
                let message = String(cString: aiq_errmsg(db))
                if rc & 0xff == Int32(AIQ_INTERRUPT) { throw CallControl.cancelledError }
                throw AIQueryError("reading the query failed: \(message)")
            }
            try admit(readRow(statement))
        }
        // A partial batch goes out at the end of the input, or when the oldest row is in it (see waitFor).
        if !batch.isEmpty, inputDone { flushBatch() }
        dispatch()
    }

    private func readRow(_ statement: OpaquePointer) throws -> Row {
        ordinal += 1
        let requestArgument = SQLArgument(aiq_column_value(statement, hasIdColumn ? 1 : 0))
        let id: SQLResult = hasIdColumn ? SQLResult(SQLArgument(aiq_column_value(statement, 0))) : .integer(ordinal)
        let input: ModelInput?
        do { input = try AIQueryFunctions.modelInput(requestArgument) } catch let error as AIQueryError {
            throw AIQueryError("row \(ordinal): \(error.message)")
        }
        let request = SQLResult(requestArgument)
        guard let input else { return Row(ordinal: ordinal, id: id, request: request, prepared: nil) }
        let prepared = try state.engine.prepare(endpoint: call.endpoint, input: input, options: options)
        return Row(ordinal: ordinal, id: id, request: request, prepared: prepared)
    }

    private func admit(_ row: Row) throws {
        window.append(row)
        guard let prepared = row.prepared else { return }
        do {
            if let hit = try state.engine.cachedAnswer(prepared) {
                row.result = .success(hit)
                row.fromCache = true
                return
            }
        } catch let error as AIQueryError where error.scope == .row {
            row.result = .failure(error)
            return
        }
        if let key = prepared.key {
            if let leader = inFlightByKey[key] {
                row.leader = leader
                return
            }
            inFlightByKey[key] = row
        }
        if AIQueryEngine.isBatchable(prepared), batchSize > 1 {
            batch.append(row)
            if case .text(let text) = prepared.input { batchBytes += text.utf8.count }
            if batch.count >= batchSize || batchBytes >= RowsDefaults.batchBytes { flushBatch() }
        } else {
            shared.lock.withLock { shared.queued.append([row]) }
        }
    }

    private func flushBatch() {
        let rows = batch
        batch = []
        batchBytes = 0
        shared.lock.withLock { shared.queued.append(rows) }
    }

    /// Starts queued requests while fewer than `concurrency` are in flight.
    private func dispatch() {
        let control = CallControl(tally: tally, isCancelled: { [shared] in shared.cancelled.load(ordering: .relaxed) })
        let engine = state.engine
        let shared = shared
        let jobs: [[Row]] = shared.lock.withLock {
            var started: [[Row]] = []
            while shared.inFlight < concurrency, let rows = shared.nextQueued() {
                started.append(rows)
                shared.inFlight += 1
            }
            return started
        }
        for rows in jobs {
            WorkerPool.shared.submit {
                let results: [Result<ModelOutput, any Error>]
                if rows.count == 1, let prepared = rows[0].prepared {
                    results = [Result { try engine.fetch(prepared, control: control) }]
                } else {
                    results = engine.fetchEmbeddings(rows.compactMap(\.prepared), control: control)
                }
                shared.lock.withLock {
                    for (row, result) in zip(rows, results) { row.result = result }
                    shared.inFlight -= 1
                    shared.lock.broadcast()
                }
            }
        }
    }

    // MARK: Waiting for the oldest row

    private func waitFor(_ row: Row) throws {
        guard row.prepared != nil else { return }  // a NULL request: NULL, no call
        let source = row.leader ?? row
        while true {
            let done = shared.lock.withLock { () -> Bool in
                if source.result != nil { return true }
                shared.lock.wait(seconds: 0.05)
                return source.result != nil
            }
            if done { return }
            if interrupt.isInterrupted() {
                shared.cancelled.store(true, ordering: .relaxed)
                throw CallControl.cancelledError
            }
            // The row may be in the unsent batch (the window filled up behind it) or waiting for a free slot.
            if !batch.isEmpty, batch.contains(where: { $0 === source }) { flushBatch() }
            dispatch()
            progress?.update()
        }
    }

    /// The SQL value for a finished row; stores a fresh answer in the cache.
    private func finish(_ row: Row) throws -> SQLResult {
        let source = row.leader ?? row
        let result = shared.lock.withLock { source.result }
        defer { progress?.update() }
        guard let prepared = row.prepared, let result else {
            tally.rowDone(cacheHit: false, failed: false)
            return .null
        }
        let cacheHit = row.fromCache || row.leader != nil
        switch result {
        case .success(let output):
            if row.leader == nil, !row.fromCache {
                try state.engine.remember(prepared, output)
                if let key = prepared.key, inFlightByKey[key] === row { inFlightByKey[key] = nil }
            }
            tally.rowDone(cacheHit: cacheHit, failed: false)
            UsageLedger.shared.recordRow(endpoint: call.endpoint.name, cacheHit: cacheHit, failed: false)
            return AIQueryFunctions.wrap(try ResultCasting.result(output, returnType: call.options.returnType), failOnError: call.options.failOnError)
        case .failure(let error):
            if let key = prepared.key, inFlightByKey[key] === row { inFlightByKey[key] = nil }
            tally.rowDone(cacheHit: false, failed: true)
            UsageLedger.shared.recordRow(endpoint: call.endpoint.name, cacheHit: false, failed: true)
            let aiError = error as? AIQueryError ?? AIQueryError("\(error)")
            if aiError.interrupted { throw aiError }
            guard aiError.scope == .row, !call.options.failOnError else {
                var located = aiError
                located.message = "row \(row.ordinal)\(hasIdColumn ? " (id \(row.id.debugText))" : ""): ai_query: \(aiError.message)"
                throw located
            }
            return AIQueryFunctions.failed(aiError)
        }
    }
}
