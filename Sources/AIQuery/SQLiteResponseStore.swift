import AIQueryCore
import CAIQuery
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The persistent response cache: its own SQLite file in WAL mode, opened through the host's SQLite API (never a
/// second SQLite library). Safe with several processes (WAL + busy timeout) and after `kill -9`: every write is
/// its own transaction.
final class SQLiteResponseStore: ResponseStore, @unchecked Sendable {
    /// `AIQUERY_CACHE`, default `~/.cache/aiquery/cache.db`; `off` disables caching.
    /// Read once: the environment of a running shell doesn't change, and this is on every row's path.
    static let configuredPath: String? = {
        let value = System.environment("AIQUERY_CACHE") ?? "~/.cache/aiquery/cache.db"
        return value == "off" || value.isEmpty ? nil : System.expandingTilde(value)
    }()

    private static let opened = Mutex<[String: SQLiteResponseStore]>([:])

    /// One store per file for the whole process.
    static func shared() throws -> SQLiteResponseStore? {
        guard let path = configuredPath else { return nil }
        return try opened.withLock { stores in
            if let store = stores[path] { return store }
            let store = try SQLiteResponseStore(path: path)
            stores[path] = store
            return store
        }
    }

    let path: String
    // The connection and statements are only touched under `lock`.
    private let lock = Mutex<Void>(())
    private var db: OpaquePointer?
    private var selectStatement: OpaquePointer?
    private var upsertStatement: OpaquePointer?
    private let counters = Mutex<(hits: Int, misses: Int)>((0, 0))
    /// Lookups share one read transaction for up to `readBurst` seconds: in WAL mode every transaction takes
    /// shared-memory locks with fcntl, which was over half the cost of a cache hit. A timer ends the transaction
    /// once lookups stop, so an idle shell never pins an old snapshot (which would stop other processes'
    /// checkpoints).
    private var readStartedAt: Double?
    private var lastLookupAt = 0.0
    private static let readBurst = 0.1
    private let closer = DispatchQueue(label: "aiquery.cache.read-closer")

    init(path: String) throws {
        self.path = path
        Self.makeParentDirectory(of: path)
        var handle: OpaquePointer?
        let rc = aiq_open(path, &handle)
        guard rc == Int32(AIQ_OK), let handle else {
            let message = handle.map { String(cString: aiq_errmsg($0)) } ?? "error \(rc)"
            if let handle { aiq_close(handle) }
            throw AIQueryError("cannot open the cache \(path): \(message); set AIQUERY_CACHE to another file or to off")
        }
        db = handle
        try execute(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS responses(
                key BLOB PRIMARY KEY, endpoint TEXT NOT NULL, kind INTEGER NOT NULL, value BLOB NOT NULL, created REAL NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS responses_endpoint ON responses(endpoint);
            """)
        selectStatement = try prepare("SELECT kind, value, created FROM responses WHERE key = ?1")
        upsertStatement = try prepare(
            "INSERT INTO responses(key, endpoint, kind, value, created) VALUES (?1, ?2, ?3, ?4, ?5) "
                + "ON CONFLICT(key) DO UPDATE SET endpoint = excluded.endpoint, kind = excluded.kind, value = excluded.value, created = excluded.created"
        )
    }

    /// `mkdir -p` of the file's folder (errors surface when the file is opened).
    static func makeParentDirectory(of path: String) {
        var index = path.index(after: path.startIndex)
        while let slash = path[index...].firstIndex(of: "/") {
            mkdir(String(path[..<slash]), 0o755)
            index = path.index(after: slash)
        }
    }

    private func errorText() -> String { db.map { String(cString: aiq_errmsg($0)) } ?? "closed" }

    private func execute(_ sql: String) throws {
        guard aiq_exec(db, sql) == Int32(AIQ_OK) else { throw AIQueryError("cache \(path): \(errorText())") }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard aiq_prepare(db, sql, &statement) == Int32(AIQ_OK) else { throw AIQueryError("cache \(path): \(errorText())") }
        return statement
    }

    func lookup(key: [UInt8], maxAge: Double?) throws -> ModelOutput? {
        let found: ModelOutput? = try lock.withLock { _ in
            try beginReadIfNeeded()
            let statement = selectStatement
            defer { aiq_reset(statement) }
            _ = key.withUnsafeBytes { aiq_bind_blob(statement, 1, $0.baseAddress, Int32($0.count)) }
            let rc = aiq_step(statement)
            if rc == Int32(AIQ_DONE) { return nil }
            guard rc == Int32(AIQ_ROW) else { throw AIQueryError("cache \(path): \(errorText())") }
            if let maxAge, Double(time(nil)) - aiq_column_double(statement, 2) > maxAge { return nil }
            let count = Int(aiq_column_bytes(statement, 1))
            let bytes = UnsafeRawBufferPointer(start: aiq_column_blob(statement, 1), count: count)
            return Self.decode(kind: aiq_column_int64(statement, 0), bytes: bytes)
        }
        counters.withLock { found == nil ? ($0.misses += 1) : ($0.hits += 1) }
        return found
    }

    /// Called under `lock`: reuse the open read transaction while it is young, else start a new one.
    private func beginReadIfNeeded() throws {
        let now = System.monotonicSeconds()
        lastLookupAt = now
        if let started = readStartedAt, now - started < Self.readBurst { return }
        endRead()
        guard aiq_exec(db, "BEGIN") == Int32(AIQ_OK) else { throw AIQueryError("cache \(path): \(errorText())") }
        readStartedAt = now
        scheduleCloser()
    }

    /// Called under `lock`.
    private func endRead() {
        guard readStartedAt != nil else { return }
        _ = aiq_exec(db, "COMMIT")
        readStartedAt = nil
    }

    private func scheduleCloser() {
        closer.asyncAfter(deadline: .now() + Self.readBurst * 2) { [self] in
            lock.withLock { _ in
                guard readStartedAt != nil else { return }
                if System.monotonicSeconds() - lastLookupAt >= Self.readBurst {
                    endRead()
                } else {
                    scheduleCloser()
                }
            }
        }
    }

    func store(key: [UInt8], endpoint: String, output: ModelOutput) throws {
        let (kind, bytes) = Self.encode(output)
        try lock.withLock { _ in
            endRead()
            let statement = upsertStatement
            defer { aiq_reset(statement) }
            _ = key.withUnsafeBytes { aiq_bind_blob(statement, 1, $0.baseAddress, Int32($0.count)) }
            _ = aiq_bind_text(statement, 2, endpoint, -1)
            _ = aiq_bind_int64(statement, 3, kind)
            _ = bytes.withUnsafeBytes { aiq_bind_blob(statement, 4, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count)) }
            _ = aiq_bind_double(statement, 5, Double(time(nil)))
            guard aiq_step(statement) == Int32(AIQ_DONE) else { throw AIQueryError("cache \(path): \(errorText())") }
        }
    }

    /// Removes all entries, or one endpoint's; returns how many.
    func clear(endpoint: String?) throws -> Int {
        try lock.withLock { _ in
            endRead()
            let statement = try prepare(endpoint == nil ? "DELETE FROM responses" : "DELETE FROM responses WHERE endpoint = ?1")
            defer { aiq_finalize(statement) }
            if let endpoint { _ = aiq_bind_text(statement, 1, endpoint, -1) }
            guard aiq_step(statement) == Int32(AIQ_DONE) else { throw AIQueryError("cache \(path): \(errorText())") }
            return Int(aiq_changes(db))
        }
    }

    struct Statistics { var entries: Int; var bytes: Int; var hits: Int; var misses: Int }

    func statistics() throws -> Statistics {
        let (entries, bytes) = try lock.withLock { _ in
            endRead()
            let statement = try prepare(
                "SELECT (SELECT count(*) FROM responses), (SELECT page_count * page_size FROM pragma_page_count, pragma_page_size)")
            defer { aiq_finalize(statement) }
            guard aiq_step(statement) == Int32(AIQ_ROW) else { throw AIQueryError("cache \(path): \(errorText())") }
            return (Int(aiq_column_int64(statement, 0)), Int(aiq_column_int64(statement, 1)))
        }
        let (hits, misses) = counters.withLock { ($0.hits, $0.misses) }
        return Statistics(entries: entries, bytes: bytes, hits: hits, misses: misses)
    }

    static func encode(_ output: ModelOutput) -> (Int64, [UInt8]) {
        switch output {
        case .text(let text): return (1, Array(text.utf8))
        case .embedding(let vector): return (2, vector.withUnsafeBytes { Array($0) })
        case .json(let json): return (3, Array(json.serialized().utf8))
        }
    }

    /// Straight from SQLite's buffer (valid until the statement is reset): one copy per hit, not two.
    static func decode(kind: Int64, bytes: UnsafeRawBufferPointer) -> ModelOutput? {
        switch kind {
        case 1: return .text(String(decoding: bytes, as: UTF8.self))
        case 2:
            let count = bytes.count / 4
            var vector = [Float](repeating: 0, count: count)
            vector.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(count * 4))) }
            return .embedding(vector)
        case 3: return (try? JSONValue.parse(bytes: Array(bytes))).map { .json($0) }
        default: return nil
        }
    }
}
