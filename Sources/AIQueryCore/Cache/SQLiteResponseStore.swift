import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The persistent response cache: its own SQLite file in WAL mode, through whichever SQLite the front door has
/// (``SQLiteAPI``). Safe with several processes (WAL + busy timeout) and after `kill -9`: every write is its own
/// transaction. One store per runtime (``Runtime/store``), shared by every connection and statement of its front
/// door. Lookups and writes go through connections of their own, so a lookup never waits for a write (or its
/// checkpoint) to finish. No Dispatch: a forked child of a process that used it cannot use it again.
public final class SQLiteResponseStore: ResponseStore, @unchecked Sendable {
    /// `AIQUERY_CACHE`, default `~/.cache/aiquery/cache.db`; `off` disables caching. Read once: the environment of
    /// a running process doesn't change, and this is on every statement's path.
    public static let configuredPath: String? = {
        let value = System.environment("AIQUERY_CACHE") ?? "~/.cache/aiquery/cache.db"
        return value == "off" || value.isEmpty ? nil : System.expandingTilde(value)
    }()

    public let path: String
    let reader: SQLiteConnection
    let writer: SQLiteConnection
    let api: SQLiteAPI
    // The reader's statements and read-transaction state are only touched under its lock, the writer's under its.
    var selectStatement: OpaquePointer?
    var selectDetailsStatement: OpaquePointer?
    var upsertStatement: OpaquePointer?
    var upsertDetailsStatement: OpaquePointer?
    var deleteDetailsStatement: OpaquePointer?
    let counters = Mutex<(hits: Int, misses: Int)>((0, 0))
    /// Lookups share one read transaction for up to `readBurst` seconds: in WAL mode every transaction takes
    /// shared-memory locks with fcntl, which was over half the cost of a cache hit. A timer ends the transaction
    /// once lookups stop, so an idle shell never pins an old snapshot (which would stop other processes'
    /// checkpoints); a write of this process ends it too, so the next lookup sees what was just stored.
    private var readStartedAt: Double?
    private var lastLookupAt = 0.0
    let snapshotStale = Atomic<Bool>(false)
    /// Whether a closer is pending: one at a time, however many read transactions a burst starts.
    private var closerPending = false
    private static let readBurst = 0.1
    private let closer = BackgroundWriter(window: SQLiteResponseStore.readBurst * 2, name: "aiquery-reads")
    /// Answers written since the WAL's size was last looked at (under the writer's lock): a checkpoint is due
    /// once the WAL is over `walBytesPerCheckpoint`, looked at every `answersPerWALCheck` answers (a `stat`).
    private var writtenSinceWALCheck = 0
    private static let answersPerWALCheck = 64
    private static let walBytesPerCheckpoint = 4 << 20
    /// How long a queued answer waits for others to share its write transaction. A transaction per answer was a
    /// sixth of a miss's cost at one request at a time (it competes for the same two cores); a few milliseconds
    /// make it one per several answers, and lookups see queued answers meanwhile.
    private static let writeBehindWindow = 0.005
    /// Answers queued beyond this are written by the caller's worker before it queues more (``storeLater``).
    static let maxQueued = 4096
    private let queued = QueuedAnswers()
    private let writerThread = BackgroundWriter(window: SQLiteResponseStore.writeBehindWindow, name: "aiquery-cache")

    public init(path: String, api: SQLiteAPI) throws(AIQueryError) {
        self.path = path
        self.api = api
        System.makeParentDirectory(of: path)
        writer = try SQLiteConnection(path: path, api: api)
        try Self.setUp(writer)
        reader = try SQLiteConnection(path: path, api: api)
        selectStatement = try reader.prepare("SELECT kind, value, created FROM answers WHERE key = ?1")
        selectDetailsStatement = try reader.prepare("SELECT input_tokens, output_tokens, finish_reason, body FROM answer_details WHERE key = ?1")
        upsertStatement = try writer.prepare(
            "INSERT OR REPLACE INTO answers(key, endpoint, kind, value, created) VALUES (?1, ?2, ?3, ?4, ?5)")
        upsertDetailsStatement = try writer.prepare(
            "INSERT OR REPLACE INTO answer_details(key, input_tokens, output_tokens, finish_reason, body) VALUES (?1, ?2, ?3, ?4, ?5)")
        deleteDetailsStatement = try writer.prepare("DELETE FROM answer_details WHERE key = ?1")
        writerThread.setFlush { [weak self] in self?.writeQueued() }
        closer.setFlush { [weak self] in self?.closeIdleRead() }
    }

    /// `answers` holds what a SQL hit needs, in rows as small as can be (more of them per page: a warm statement
    /// reads pages in key order, which is random); usage, finish reason and the whole body live apart, read only
    /// by a front door that replays an answer.
    private static let schema = """
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=NORMAL;
        PRAGMA journal_size_limit=1048576;
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

    private static func setUp(_ connection: SQLiteConnection) throws(AIQueryError) {
        try connection.setUp(
            schema: schema,
            isReady:
                "SELECT (SELECT journal_mode FROM pragma_journal_mode) = 'wal' AND (SELECT count(*) FROM sqlite_schema WHERE name IN ('answers', 'answer_details')) = 2",
            then: "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=1048576")
    }

    public func lookup(key: [UInt8], maxAge: Double?, withDetails: Bool = false) throws(AIQueryError) -> ModelResponse? {
        if let answer = queued.answer(for: key) {
            counters.withLock { $0.hits += 1 }
            return answer
        }
        let found: ModelResponse? = try reader.withLock { () throws(AIQueryError) in
            try beginReadIfNeeded()
            let statement = selectStatement
            defer { _ = api.reset(statement) }
            reader.bind(key, to: statement)
            let rc = api.step(statement)
            if rc == SQLiteAPI.done { return nil }
            guard rc == SQLiteAPI.row else { throw reader.failure() }
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

    /// Usage, finish reason and body. Called under the reader's lock, inside the read transaction.
    private func readDetails(for key: [UInt8], into response: inout ModelResponse) {
        let statement = selectDetailsStatement
        defer { _ = api.reset(statement) }
        reader.bind(key, to: statement)
        guard api.step(statement) == SQLiteAPI.row else { return }
        if api.columnType(statement, 0) != SQLiteAPI.null {
            response.usage = TokenUsage(input: Int(api.columnInt64(statement, 0)), output: Int(api.columnInt64(statement, 1)))
        }
        response.finishReason = reader.bytes(statement, 2).map { String(decoding: $0, as: UTF8.self) }
        response.raw = reader.bytes(statement, 3)
    }

    /// Called under the reader's lock: reuse the open read transaction while it is young and nothing was written
    /// since, else start a new one.
    private func beginReadIfNeeded() throws(AIQueryError) {
        let now = System.monotonicSeconds()
        lastLookupAt = now
        let stale = snapshotStale.exchange(false, ordering: .acquiring)
        if !stale, let started = readStartedAt, now - started < Self.readBurst { return }
        endRead()
        try reader.execute("BEGIN")
        readStartedAt = now
        if !closerPending { scheduleCloser() }
    }

    /// Called under the reader's lock.
    func endRead() {
        guard readStartedAt != nil else { return }
        _ = api.exec(reader.db, "COMMIT")
        readStartedAt = nil
    }

    /// Called under the reader's lock.
    private func scheduleCloser() {
        closerPending = true
        closer.request()
    }

    /// On the closer's thread, a while after a read transaction began: ends it once lookups have stopped.
    private func closeIdleRead() {
        try? reader.withLock { () throws(AIQueryError) in
            closerPending = false
            guard readStartedAt != nil else { return }
            if System.monotonicSeconds() - lastLookupAt >= Self.readBurst {
                endRead()
            } else {
                scheduleCloser()
            }
        }
    }

    public func store(key: [UInt8], endpoint: String, response: ModelResponse) throws(AIQueryError) {
        try write([(key, endpoint, response)])
    }

    /// Answers in one write transaction; then the reader's snapshot is stale, and a checkpoint may be due.
    private func write(_ answers: [(key: [UInt8], endpoint: String, response: ModelResponse)]) throws(AIQueryError) {
        try writer.withLock { () throws(AIQueryError) in
            try writer.transaction { () throws(AIQueryError) in
                for answer in answers { try upsert(key: answer.key, endpoint: answer.endpoint, response: answer.response) }
            }
            checkpointIfDue(written: answers.count)
        }
        snapshotStale.store(true, ordering: .releasing)
    }

    /// Stores an answer soon, on the store's writer thread, together with whatever else is queued by
    /// then; lookups see it meanwhile. For a server, which has answered already and must not make the next request
    /// wait. True when the queue is over ``maxQueued`` (the writer lags: the machine is saturated).
    @discardableResult
    public func storeLater(key: [UInt8], endpoint: String, response: ModelResponse) -> Bool {
        let (first, count) = queued.add(key: key, endpoint: endpoint, response: response)
        if first { writerThread.request() }
        return count > Self.maxQueued
    }

    /// Waits until every answer queued so far is in the file (or given up on): before a server exits, or when
    /// the queue is too long.
    public func finishQueuedWrites() {
        writerThread.finish()
    }

    private func writeQueued() {
        let batch = queued.takeForWriting()
        guard !batch.isEmpty else { return }
        defer { queued.written(batch) }
        do {
            try write(batch.map { ($0.key, $0.value.endpoint, $0.value.response) })
        } catch {
            System.warnOnce("cache-write", "aiquery: storing answers in the cache failed, going on without them: \(error.message)")
        }
    }

    /// SQLite's own checkpoint, run as a commit ends, can copy back only what every reader's snapshot holds; our
    /// reader starts a new snapshot after each write, so it is always one commit behind, the WAL is never fully
    /// copied back and never restarts: it grew by 10 MB a second under a server's load. So once the WAL is over
    /// 4 MB the reader's snapshot is ended first and the checkpoint copies everything; the next write restarts the
    /// WAL from its beginning, and `journal_size_limit` (1 MB) gives back the rest. By size, not by a count of
    /// answers: batched answers share pages, and a count that suited one answer a commit (200, about 3 MB) made a
    /// server checkpoint five times as often as it needed to, a CPU burst each time. Called under the writer's
    /// lock; a failure (another process reading) waits for the next turn.
    private func checkpointIfDue(written: Int) {
        writtenSinceWALCheck += written
        guard writtenSinceWALCheck >= Self.answersPerWALCheck else { return }
        writtenSinceWALCheck = 0
        guard let walBytes = System.fileStamp(path + "-wal")?[2], walBytes >= Self.walBytesPerCheckpoint else { return }
        try? reader.withLock { () throws(AIQueryError) in endRead() }
        _ = api.exec(writer.db, "PRAGMA wal_checkpoint(PASSIVE)")
    }

    /// Called under the writer's lock, inside a write transaction.
    private func upsert(key: [UInt8], endpoint: String, response: ModelResponse) throws(AIQueryError) {
        let (kind, bytes) = CachedAnswer.encode(response.output)
        let statement = upsertStatement
        defer { _ = api.reset(statement) }
        writer.bind(key, to: statement)
        _ = api.bindText(statement, 2, endpoint, -1)
        _ = api.bindInt64(statement, 3, kind)
        writer.bindBytes(bytes, at: 4, of: statement)
        _ = api.bindDouble(statement, 5, Double(time(nil)))
        guard api.step(statement) == SQLiteAPI.done else { throw writer.failure() }
        let hasDetails = response.usage != nil || response.finishReason != nil || response.raw != nil
        let details = hasDetails ? upsertDetailsStatement : deleteDetailsStatement
        defer { _ = api.reset(details) }
        writer.bind(key, to: details)
        if hasDetails {
            if let usage = response.usage {
                _ = api.bindInt64(details, 2, Int64(usage.input))
                _ = api.bindInt64(details, 3, Int64(usage.output))
            }
            if let finish = response.finishReason { _ = api.bindText(details, 4, finish, -1) }
            if let raw = response.raw { writer.bindBytes(raw, at: 5, of: details) }
        }
        guard api.step(details) == SQLiteAPI.done else { throw writer.failure() }
    }
}
