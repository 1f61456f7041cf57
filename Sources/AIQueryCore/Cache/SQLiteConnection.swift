/// One SQLite connection of the cache, through the front door's ``SQLiteAPI``, and what every use of it needs:
/// prepared statements, binding, errors that name the file. Its handle and statements are only touched inside
/// ``withLock(_:)``.
final class SQLiteConnection: @unchecked Sendable {
    let path: String
    let api: SQLiteAPI
    /// A pthread mutex, so that a fork's handlers can hold it across the fork (``lock()``).
    private let mutex = ConditionLock()
    private(set) var db: OpaquePointer?

    init(path: String, api: SQLiteAPI) throws(AIQueryError) {
        self.path = path
        self.api = api
        var handle: OpaquePointer?
        let rc = api.open(path, &handle)
        guard rc == SQLiteAPI.ok, let handle else {
            let message = handle.flatMap { api.errmsg($0) }.map { String(cString: $0) } ?? "error \(rc)"
            if let handle { _ = api.close(handle) }
            throw AIQueryError(.invalidConfiguration, "cannot open the cache \(path): \(message); set AIQUERY_CACHE to another file or to off")
        }
        db = handle
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
