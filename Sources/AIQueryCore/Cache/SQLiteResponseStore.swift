import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The persistent response cache: its own SQLite file in WAL mode, through whichever SQLite the front door has
/// (``SQLiteAPI``). Safe with several processes (WAL + busy timeout) and after `kill -9`: every write is its own
/// transaction. One store per file per process, shared by every connection and front door.
public final class SQLiteResponseStore: ResponseStore, @unchecked Sendable {
    /// `AIQUERY_CACHE`, default `~/.cache/aiquery/cache.db`; `off` disables caching. Read once: the environment of
    /// a running process doesn't change, and this is on every statement's path.
    public static let configuredPath: String? = {
        let value = System.environment("AIQUERY_CACHE") ?? "~/.cache/aiquery/cache.db"
        return value == "off" || value.isEmpty ? nil : System.expandingTilde(value)
    }()

    private static let opened = Mutex<[String: SQLiteResponseStore]>([:])

    /// The process's store for `AIQUERY_CACHE`, opened on first use; nil when the cache is off.
    public static func shared(api: SQLiteAPI) throws(AIQueryError) -> SQLiteResponseStore? {
        guard let path = configuredPath else { return nil }
        return try shared(path: path, api: api)
    }

    public static func shared(path: String, api: SQLiteAPI) throws(AIQueryError) -> SQLiteResponseStore {
        try opened.withLock { stores throws(AIQueryError) in
            if let store = stores[path] { return store }
            let store = try SQLiteResponseStore(path: path, api: api)
            stores[path] = store
            return store
        }
    }

    public let path: String
    private let api: SQLiteAPI
    // The connection and statements are only touched under `lock`.
    private let lock = Mutex<Void>(())
    private var db: OpaquePointer?
    private var selectStatement: OpaquePointer?
    private var selectDetailsStatement: OpaquePointer?
    private var upsertStatement: OpaquePointer?
    private var upsertDetailsStatement: OpaquePointer?
    private var deleteDetailsStatement: OpaquePointer?
    private let counters = Mutex<(hits: Int, misses: Int)>((0, 0))
    /// Lookups share one read transaction for up to `readBurst` seconds: in WAL mode every transaction takes
    /// shared-memory locks with fcntl, which was over half the cost of a cache hit. A timer ends the transaction
    /// once lookups stop, so an idle shell never pins an old snapshot (which would stop other processes'
    /// checkpoints).
    private var readStartedAt: Double?
    private var lastLookupAt = 0.0
    private static let readBurst = 0.1
    private let closer = DispatchQueue(label: "aiquery.cache.read-closer")

    init(path: String, api: SQLiteAPI) throws(AIQueryError) {
        self.path = path
        self.api = api
        System.makeParentDirectory(of: path)
        var handle: OpaquePointer?
        let rc = api.open(path, &handle)
        guard rc == SQLiteAPI.ok, let handle else {
            let message = handle.map { String(cString: api.errmsg($0)!) } ?? "error \(rc)"
            if let handle { _ = api.close(handle) }
            throw AIQueryError(
                .invalidConfiguration, "cannot open the cache \(path): \(message); set AIQUERY_CACHE to another file or to off")
        }
        db = handle
        try setUp()
        selectStatement = try prepare("SELECT kind, value, created FROM answers WHERE key = ?1")
        selectDetailsStatement = try prepare("SELECT input_tokens, output_tokens, finish_reason, body FROM answer_details WHERE key = ?1")
        upsertStatement = try prepare(
            "INSERT OR REPLACE INTO answers(key, endpoint, kind, value, created) VALUES (?1, ?2, ?3, ?4, ?5)")
        upsertDetailsStatement = try prepare(
            "INSERT OR REPLACE INTO answer_details(key, input_tokens, output_tokens, finish_reason, body) VALUES (?1, ?2, ?3, ?4, ?5)")
        deleteDetailsStatement = try prepare("DELETE FROM answer_details WHERE key = ?1")
    }

    /// `answers` holds what a SQL hit needs, in rows as small as can be (more of them per page: a warm statement
    /// reads pages in key order, which is random); usage, finish reason and the whole body live apart, read only
    /// by a front door that replays an answer.
    private static let schema = """
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=NORMAL;
        BEGIN IMMEDIATE;
        CREATE TABLE IF NOT EXISTS answers(
            key BLOB PRIMARY KEY, endpoint TEXT NOT NULL, kind INTEGER NOT NULL, value BLOB NOT NULL, created REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS answers_endpoint ON answers(endpoint);
        CREATE TABLE IF NOT EXISTS answer_details(
            key BLOB PRIMARY KEY, input_tokens INTEGER, output_tokens INTEGER, finish_reason TEXT, body BLOB
        );
        COMMIT;
        """

    /// Processes that open a new cache file at the same moment race for its WAL mode and its tables, and the loser
    /// gets SQLITE_BUSY, which the busy timeout does not always cover (changing the journal mode): that is a wait,
    /// not a failure, so it is tried again for a while. A file that is ready needs reads only, which WAL never
    /// blocks: a cache that another process keeps locked still opens (and its writes fail, costing a warning).
    private func setUp() throws(AIQueryError) {
        let giveUp = System.monotonicSeconds() + 12
        while true {
            if isReady() { return }
            let rc = api.exec(db, Self.schema)
            if rc == SQLiteAPI.ok { return }
            let error = failure()
            _ = api.exec(db, "ROLLBACK")
            let busy = rc & 0xff == 5 || rc & 0xff == 6  // SQLITE_BUSY, SQLITE_LOCKED
            guard busy, System.monotonicSeconds() < giveUp else { throw error }
            EndpointLimiter.sleepSeconds(0.02)
        }
    }

    /// In WAL mode with both tables: nothing to create.
    private func isReady() -> Bool {
        var statement: OpaquePointer?
        defer { _ = api.finalize(statement) }
        let sql = "SELECT (SELECT journal_mode FROM pragma_journal_mode) = 'wal' AND (SELECT count(*) FROM sqlite_schema WHERE name IN ('answers', 'answer_details')) = 2"
        guard api.prepare(db, sql, &statement) == SQLiteAPI.ok, api.step(statement) == SQLiteAPI.row else { return false }
        return api.columnInt64(statement, 0) == 1
    }

    private func failure() -> AIQueryError {
        let message = db.flatMap { api.errmsg($0) }.map { String(cString: $0) } ?? "closed"
        return AIQueryError(.internalError, "cache \(path): \(message)")
    }

    private func execute(_ sql: String) throws(AIQueryError) {
        guard api.exec(db, sql) == SQLiteAPI.ok else { throw failure() }
    }

    private func prepare(_ sql: String) throws(AIQueryError) -> OpaquePointer? {
        var statement: OpaquePointer?
        guard api.prepare(db, sql, &statement) == SQLiteAPI.ok else { throw failure() }
        return statement
    }

    private func bind(_ key: [UInt8], to statement: OpaquePointer?) {
        _ = key.withUnsafeBytes { api.bindBlob(statement, 1, $0.baseAddress, Int32($0.count)) }
    }

    /// Bytes as a BLOB, empty ones included (a nil pointer would bind NULL).
    private func bindBytes(_ bytes: [UInt8], at index: Int32, of statement: OpaquePointer?) {
        _ = bytes.withUnsafeBytes { api.bindBlob(statement, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count)) }
    }

    public func lookup(key: [UInt8], maxAge: Double?, withDetails: Bool = false) throws(AIQueryError) -> ModelResponse? {
        let found: ModelResponse? = try lock.withLock { _ throws(AIQueryError) in
            try beginReadIfNeeded()
            let statement = selectStatement
            defer { _ = api.reset(statement) }
            bind(key, to: statement)
            let rc = api.step(statement)
            if rc == SQLiteAPI.done { return nil }
            guard rc == SQLiteAPI.row else { throw failure() }
            if let maxAge, Double(time(nil)) - api.columnDouble(statement, 2) > maxAge { return nil }
            let count = Int(api.columnBytes(statement, 1))
            let bytes = UnsafeRawBufferPointer(start: api.columnBlob(statement, 1), count: count)
            guard let output = CachedAnswer.decode(kind: api.columnInt64(statement, 0), bytes: bytes) else { return nil }
            var response = ModelResponse(output: output)
            if withDetails { readDetails(for: key, into: &response) }
            return response
        }
        counters.withLock { found == nil ? ($0.misses += 1) : ($0.hits += 1) }
        return found
    }

    /// Usage, finish reason and body. Called under `lock`, inside the read transaction.
    private func readDetails(for key: [UInt8], into response: inout ModelResponse) {
        let statement = selectDetailsStatement
        defer { _ = api.reset(statement) }
        bind(key, to: statement)
        guard api.step(statement) == SQLiteAPI.row else { return }
        if api.columnType(statement, 0) != SQLiteAPI.null {
            response.usage = TokenUsage(input: Int(api.columnInt64(statement, 0)), output: Int(api.columnInt64(statement, 1)))
        }
        func bytes(_ column: Int32) -> [UInt8]? {
            guard api.columnType(statement, column) != SQLiteAPI.null else { return nil }
            return Array(UnsafeRawBufferPointer(start: api.columnBlob(statement, column), count: Int(api.columnBytes(statement, column))))
        }
        response.finishReason = bytes(2).map { String(decoding: $0, as: UTF8.self) }
        response.raw = bytes(3)
    }

    /// Called under `lock`: reuse the open read transaction while it is young, else start a new one.
    private func beginReadIfNeeded() throws(AIQueryError) {
        let now = System.monotonicSeconds()
        lastLookupAt = now
        if let started = readStartedAt, now - started < Self.readBurst { return }
        endRead()
        guard api.exec(db, "BEGIN") == SQLiteAPI.ok else { throw failure() }
        readStartedAt = now
        scheduleCloser()
    }

    /// Called under `lock`.
    private func endRead() {
        guard readStartedAt != nil else { return }
        _ = api.exec(db, "COMMIT")
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

    public func store(key: [UInt8], endpoint: String, response: ModelResponse) throws(AIQueryError) {
        let (kind, bytes) = CachedAnswer.encode(response.output)
        try lock.withLock { _ throws(AIQueryError) in
            endRead()
            try execute("BEGIN IMMEDIATE")
            do throws(AIQueryError) {
                try upsert(key: key, endpoint: endpoint, kind: kind, bytes: bytes, response: response)
                try execute("COMMIT")
            } catch {
                _ = api.exec(db, "ROLLBACK")
                throw error
            }
        }
    }

    /// Called under `lock`, inside a write transaction.
    private func upsert(key: [UInt8], endpoint: String, kind: Int64, bytes: [UInt8], response: ModelResponse) throws(AIQueryError) {
        let statement = upsertStatement
        defer { _ = api.reset(statement) }
        bind(key, to: statement)
        _ = api.bindText(statement, 2, endpoint, -1)
        _ = api.bindInt64(statement, 3, kind)
        bindBytes(bytes, at: 4, of: statement)
        _ = api.bindDouble(statement, 5, Double(time(nil)))
        guard api.step(statement) == SQLiteAPI.done else { throw failure() }
        let hasDetails = response.usage != nil || response.finishReason != nil || response.raw != nil
        let details = hasDetails ? upsertDetailsStatement : deleteDetailsStatement
        defer { _ = api.reset(details) }
        bind(key, to: details)
        if hasDetails {
            if let usage = response.usage {
                _ = api.bindInt64(details, 2, Int64(usage.input))
                _ = api.bindInt64(details, 3, Int64(usage.output))
            }
            if let finish = response.finishReason { _ = api.bindText(details, 4, finish, -1) }
            if let raw = response.raw { bindBytes(raw, at: 5, of: details) }
        }
        guard api.step(details) == SQLiteAPI.done else { throw failure() }
    }

    /// Removes all entries, or one endpoint's; returns how many. Clearing all also drops the table of the
    /// previous cache layout, whose entries are never read again.
    public func clear(endpoint: String?) throws(AIQueryError) -> Int {
        try lock.withLock { _ throws(AIQueryError) in
            endRead()
            try execute("BEGIN IMMEDIATE")
            do throws(AIQueryError) {
                let count = try deleteAnswers(endpoint: endpoint)
                if endpoint == nil { try execute("DROP TABLE IF EXISTS responses") }
                try execute("COMMIT")
                return count
            } catch {
                _ = api.exec(db, "ROLLBACK")
                throw error
            }
        }
    }

    /// Called under `lock`, inside a write transaction.
    private func deleteAnswers(endpoint: String?) throws(AIQueryError) -> Int {
        let filter = endpoint == nil ? "" : " WHERE endpoint = ?1"
        let bodies = try prepare("DELETE FROM answer_details WHERE key IN (SELECT key FROM answers\(filter))")
        defer { _ = api.finalize(bodies) }
        let answers = try prepare("DELETE FROM answers\(filter)")
        defer { _ = api.finalize(answers) }
        for statement in [bodies, answers] {
            if let endpoint { _ = api.bindText(statement, 1, endpoint, -1) }
            guard api.step(statement) == SQLiteAPI.done else { throw failure() }
        }
        return Int(api.changes(db))
    }

    public struct Statistics: Sendable { public var entries: Int; public var bytes: Int; public var hits: Int; public var misses: Int }

    public func statistics() throws(AIQueryError) -> Statistics {
        let (entries, bytes) = try lock.withLock { _ throws(AIQueryError) in
            endRead()
            let statement = try prepare(
                "SELECT (SELECT count(*) FROM answers), (SELECT page_count * page_size FROM pragma_page_count, pragma_page_size)")
            defer { _ = api.finalize(statement) }
            guard api.step(statement) == SQLiteAPI.row else { throw failure() }
            return (Int(api.columnInt64(statement, 0)), Int(api.columnInt64(statement, 1)))
        }
        let (hits, misses) = counters.withLock { ($0.hits, $0.misses) }
        return Statistics(entries: entries, bytes: bytes, hits: hits, misses: misses)
    }
}

/// How an answer's output is stored: a kind and bytes.
enum CachedAnswer {
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
