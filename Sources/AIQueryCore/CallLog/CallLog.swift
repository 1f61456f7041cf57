import Synchronization

/// The persistent call log: one record per call of every door, in its own SQLite file in WAL mode (beside the
/// cache), written off the caller's path. Records are queued in memory and written together by a thread of the
/// log's own a few milliseconds later; a SQL statement writes what it queued before it ends (``flush()``), so a
/// forked child that exits with `_exit` loses nothing, and an answer is never delayed by a write. Several
/// processes write one file (WAL + busy timeout); after `kill -9` every committed record is intact.
public final class CallLog: @unchecked Sendable {
    public let settings: CallLogSettings
    public var path: String { settings.path }
    public let api: SQLiteAPI
    private let writer: SQLiteConnection
    // The writer's statements are only touched under its lock.
    private var insertStatement: OpaquePointer?
    private var dailyStatement: OpaquePointer?
    private let queue = Mutex(Queue())
    private let thread = BackgroundWriter(window: 0.02, name: "aiquery-log")
    private let counters = Mutex(Counters())
    /// Retention runs on open, then every `recordsPerRetention` records or `secondsPerRetention` seconds.
    private var sinceRetention = 0
    private var lastRetention = 0.0
    static let recordsPerRetention = 20_000
    static let secondsPerRetention = 3_600.0
    /// Records queued beyond this are written by the caller that queues the next one (the disk is behind).
    static let maxQueued = 8_192
    /// Records kept while the file refuses writes (another process holding it): beyond this, the oldest go.
    static let maxKept = 100_000

    struct Queue {
        var records: [CallRecord] = []
        var scheduled = false
    }

    public struct Counters: Sendable {
        /// Records written to the file by this process.
        public var written = 0
        /// Records given up on: the file refused them for longer than ``maxKept`` records took to pile up.
        public var dropped = 0
        public var writeFailures = 0
    }

    public init(settings: CallLogSettings, api: SQLiteAPI) throws(AIQueryError) {
        self.settings = settings
        self.api = api
        System.makeParentDirectory(of: settings.path)
        writer = try SQLiteConnection(path: settings.path, api: api, what: "the call log", variable: "AIQUERY_CALL_LOG")
        try writer.setUp(schema: CallLogSchema.create, isReady: CallLogSchema.isReady, then: CallLogSchema.pragmas)
        insertStatement = try writer.prepare(CallLogSchema.insert)
        dailyStatement = try writer.prepare(DailyTotals.upsert)
        thread.setFlush { [weak self] in self?.writeQueued() }
        try? writer.withLock { () throws(AIQueryError) in try applyRetention() }
    }

    /// A log made for a while (a test's) closes its file; a runtime's lives as long as its process.
    deinit {
        _ = api.finalize(insertStatement)
        _ = api.finalize(dailyStatement)
        _ = api.close(writer.db)
    }

    /// Queues a record; it reaches the file within milliseconds, or at ``flush()``.
    public func append(_ record: CallRecord) {
        let (first, count) = queue.withLock { queue in
            queue.records.append(record)
            defer { queue.scheduled = true }
            return (!queue.scheduled, queue.records.count)
        }
        if count > Self.maxQueued {
            flush()
        } else if first {
            thread.request()
        }
    }

    /// Writes every queued record now, on the caller's thread (after a write in progress).
    public func flush() {
        thread.finish()
    }

    public var statistics: Counters { counters.withLock { $0 } }

    public var queued: Int { queue.withLock { $0.records.count } }

    private func writeQueued() {
        let batch = queue.withLock { queue in
            defer {
                queue.records = []
                queue.scheduled = false
            }
            return queue.records
        }
        guard !batch.isEmpty else { return }
        do {
            try writer.withLock { () throws(AIQueryError) in
                try writer.transaction { () throws(AIQueryError) in
                    for record in batch { try insert(record) }
                    try CallLogSchema.addToDaily(batch, connection: writer, statement: dailyStatement)
                }
                sinceRetention += batch.count
                if sinceRetention >= Self.recordsPerRetention || System.monotonicSeconds() - lastRetention >= Self.secondsPerRetention {
                    try? applyRetention()
                }
            }
            counters.withLock { $0.written += batch.count }
        } catch {
            // Kept for the next write: another process may hold the file for longer than the busy timeout.
            let dropped = queue.withLock { queue -> Int in
                queue.records.insert(contentsOf: batch, at: 0)
                let excess = max(0, queue.records.count - Self.maxKept)
                queue.records.removeFirst(excess)
                return excess
            }
            counters.withLock {
                $0.writeFailures += 1
                $0.dropped += dropped
            }
            System.warnOnce("call-log-write", "aiquery: writing the call log \(settings.path) failed, will try again: \(error.message)")
            thread.request()
        }
    }

    /// Called under the writer's lock, inside a write transaction.
    private func insert(_ record: CallRecord) throws(AIQueryError) {
        let statement = insertStatement
        defer { _ = api.reset(statement) }
        CallLogSchema.bind(record, to: statement, api: api)
        guard api.step(statement) == SQLiteAPI.done else { throw writer.failure() }
    }

    /// Called under the writer's lock.
    private func applyRetention() throws(AIQueryError) {
        sinceRetention = 0
        lastRetention = System.monotonicSeconds()
        try CallLogRetention(connection: writer, settings: settings).apply(now: System.unixSeconds())
    }
}

extension CallLog {
    /// Before a fork: waits for a write in progress and holds the writer's lock until ``resumeAfterFork()`` (in
    /// the parent) or for ever (in the child, which abandons this log and never writes its parent's records).
    func quiesceForFork() { writer.lock() }

    func resumeAfterFork() { writer.unlock() }

    /// In a forked child: closes its copy of the connection (``SQLiteResponseStore/abandonAfterFork()``).
    func abandonAfterFork() {
        _ = api.finalize(insertStatement)
        _ = api.finalize(dailyStatement)
        insertStatement = nil
        dailyStatement = nil
        writer.closeAbandoned()
    }
}
