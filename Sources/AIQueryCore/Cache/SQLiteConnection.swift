/// One SQLite connection of the cache, through the front door's ``SQLiteAPI``, and what every use of it needs:
/// prepared statements, binding, errors that name the file. Its handle and statements are only touched inside
/// ``withLock(_:)``.
final class SQLiteConnection: @unchecked Sendable {
    let path: String
    let api: SQLiteAPI
    /// A pthread mutex, so that a fork's handlers can hold it across the fork (``lock()``).
    private let mutex = ConditionLock()
    private(set) var db: OpaquePointer?

    /// - Parameters:
    ///   - what: the file's role in messages ("the cache").
    ///   - variable: where its path is set, for the message that says how to fix an open that failed.
    init(path: String, api: SQLiteAPI, what: String = "the cache", variable: String = "AIQUERY_CACHE") throws(AIQueryError) {
        self.path = path
        self.api = api
        var handle: OpaquePointer?
        let rc = api.open(path, &handle)
        guard rc == SQLiteAPI.ok, let handle else {
            let message = handle.flatMap { api.errmsg($0) }.map { String(cString: $0) } ?? "error \(rc)"
            if let handle { _ = api.close(handle) }
            throw AIQueryError(.invalidConfiguration, "cannot open \(what) \(path): \(message); set \(variable) to another file or to off")
        }
        db = handle
    }

    /// Runs `schema` (which makes the file's tables in a transaction of its own) unless `isReady` (a query that
    /// answers 1) says there is nothing to make. Processes that open a new file at the same moment race for its WAL
    /// mode and its tables, and the loser gets SQLITE_BUSY, which the busy timeout does not always cover (changing
    /// the journal mode): that is a wait, not a failure, so it is tried again for a while. A file that is ready
    /// needs reads only, which WAL never blocks.
    func setUp(schema: String, isReady: String, then pragmas: String) throws(AIQueryError) {
        let giveUp = System.monotonicSeconds() + 12
        while true {
            if ready(isReady) {
                try execute(pragmas)
                return
            }
            let rc = api.exec(db, schema)
            if rc == SQLiteAPI.ok {
                try execute(pragmas)
                return
            }
            let error = failure()
            _ = api.exec(db, "ROLLBACK")
            let busy = rc & 0xff == 5 || rc & 0xff == 6  // SQLITE_BUSY, SQLITE_LOCKED
            guard busy, System.monotonicSeconds() < giveUp else { throw error }
            EndpointLimiter.sleepSeconds(0.02)
        }
    }

    private func ready(_ sql: String) -> Bool {
        guard let statement = try? prepare(sql) else { return false }
        defer { _ = api.finalize(statement) }
        return api.step(statement) == SQLiteAPI.row && api.columnInt64(statement, 0) == 1
    }

    func withLock<T>(_ body: () throws(AIQueryError) -> T) throws(AIQueryError) -> T {
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }

    func lock() { mutex.lock() }
    func unlock() { mutex.unlock() }

    /// Closes the handle without its lock, in a forked child that holds the lock from before the fork.
    func closeAbandoned() {
        _ = api.close(db)
        db = nil
    }

    func failure() -> AIQueryError {
        let message = db.flatMap { api.errmsg($0) }.map { String(cString: $0) } ?? "closed"
        return AIQueryError(.internalError, "cache \(path): \(message)")
    }

    func execute(_ sql: String) throws(AIQueryError) {
        guard api.exec(db, sql) == SQLiteAPI.ok else { throw failure() }
    }

    func prepare(_ sql: String) throws(AIQueryError) -> OpaquePointer? {
        var statement: OpaquePointer?
        guard api.prepare(db, sql, &statement) == SQLiteAPI.ok else { throw failure() }
        return statement
    }

    /// A write transaction around `body`, rolled back when it throws.
    func transaction<T>(_ body: () throws(AIQueryError) -> T) throws(AIQueryError) -> T {
        try execute("BEGIN IMMEDIATE")
        do throws(AIQueryError) {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = api.exec(db, "ROLLBACK")
            throw error
        }
    }

    func bind(_ key: [UInt8], to statement: OpaquePointer?) {
        _ = key.withUnsafeBytes { api.bindBlob(statement, 1, $0.baseAddress, Int32($0.count)) }
    }

    /// Bytes as a BLOB, empty ones included (a nil pointer would bind NULL).
    func bindBytes(_ bytes: [UInt8], at index: Int32, of statement: OpaquePointer?) {
        _ = bytes.withUnsafeBytes { api.bindBlob(statement, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count)) }
    }

    /// A BLOB or TEXT column's bytes, nil for NULL.
    func bytes(_ statement: OpaquePointer?, _ column: Int32) -> [UInt8]? {
        guard api.columnType(statement, column) != SQLiteAPI.null else { return nil }
        return Array(UnsafeRawBufferPointer(start: api.columnBlob(statement, column), count: Int(api.columnBytes(statement, column))))
    }
}
