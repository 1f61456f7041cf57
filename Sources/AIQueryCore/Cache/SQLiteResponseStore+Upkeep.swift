import Synchronization

/// What the cache does besides answering and storing: clearing, statistics, and standing aside for a fork.
extension SQLiteResponseStore {
    /// Removes all entries, or one endpoint's; returns how many. Clearing all also drops the table of the
    /// previous cache layout, whose entries are never read again.
    public func clear(endpoint: String?) throws(AIQueryError) -> Int {
        finishQueuedWrites()
        let count = try writer.withLock { () throws(AIQueryError) in
            try writer.transaction { () throws(AIQueryError) in
                let filter = endpoint == nil ? "" : " WHERE endpoint = ?1"
                var removed = 0
                for sql in ["DELETE FROM answer_details WHERE key IN (SELECT key FROM answers\(filter))", "DELETE FROM answers\(filter)"] {
                    let statement = try writer.prepare(sql)
                    defer { _ = api.finalize(statement) }
                    if let endpoint { _ = api.bindText(statement, 1, endpoint, -1) }
                    guard api.step(statement) == SQLiteAPI.done else { throw writer.failure() }
                    removed = Int(api.changes(writer.db))
                }
                if endpoint == nil { try writer.execute("DROP TABLE IF EXISTS responses") }
                return removed
            }
        }
        snapshotStale.store(true, ordering: .releasing)
        return count
    }

    public struct Statistics: Sendable { public var entries: Int; public var bytes: Int; public var hits: Int; public var misses: Int }

    public func statistics() throws(AIQueryError) -> Statistics {
        let (entries, bytes) = try reader.withLock { () throws(AIQueryError) in
            endRead()
            let statement = try reader.prepare(
                "SELECT (SELECT count(*) FROM answers), (SELECT page_count * page_size FROM pragma_page_count, pragma_page_size)")
            defer { _ = api.finalize(statement) }
            guard api.step(statement) == SQLiteAPI.row else { throw reader.failure() }
            return (Int(api.columnInt64(statement, 0)), Int(api.columnInt64(statement, 1)))
        }
        let (hits, misses) = counters.withLock { ($0.hits, $0.misses) }
        return Statistics(entries: entries, bytes: bytes, hits: hits, misses: misses)
    }
}

extension SQLiteResponseStore {
    /// Before a fork: waits for a write in progress and ends the read transaction, and holds both connections'
    /// locks until ``resumeAfterFork()`` (in the parent) or for ever (in the child, which abandons this store).
    func quiesceForFork() {
        reader.lock()
        endRead()
        writer.lock()
    }

    func resumeAfterFork() {
        writer.unlock()
        reader.unlock()
    }

    /// In a forked child, before it opens its own connections to the file: closes its copies of this store's,
    /// which ``quiesceForFork()`` left without a transaction. SQLite keeps one record of a file's locks per
    /// process; copies left open would make it believe the child's new connections hold locks they do not take.
    func abandonAfterFork() {
        for statement in [selectStatement, selectDetailsStatement, upsertStatement, upsertDetailsStatement, deleteDetailsStatement] {
            _ = api.finalize(statement)
        }
        reader.closeAbandoned()
        writer.closeAbandoned()
    }
}
