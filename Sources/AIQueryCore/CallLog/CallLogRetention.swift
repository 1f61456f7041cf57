/// Keeps the call log bounded: calls older than the retention are removed, and past the size limit the oldest
/// calls go first, down to 80 % of it (so the next check is not due at once). Their days stay in `daily`, which
/// is a few rows a day. The file gives freed pages back (`auto_vacuum=INCREMENTAL`).
struct CallLogRetention {
    let connection: SQLiteConnection
    let settings: CallLogSettings

    /// Called under the connection's lock, outside a transaction.
    func apply(now: Double) throws(AIQueryError) {
        var removed = try connection.transaction { () throws(AIQueryError) in
            try delete("DELETE FROM calls WHERE event_time < ?1", bound: .real(now - settings.retentionDays * 86_400))
        }
        let used = try integer("SELECT (SELECT page_count FROM pragma_page_count) - (SELECT freelist_count FROM pragma_freelist_count)")
            * (try integer("SELECT page_size FROM pragma_page_size"))
        if used > settings.maxBytes {
            let count = try integer("SELECT count(*) FROM calls")
            let keep = Int(Double(count) * 0.8 * Double(settings.maxBytes) / Double(used))
            removed += try connection.transaction { () throws(AIQueryError) in
                try delete("DELETE FROM calls WHERE id IN (SELECT id FROM calls ORDER BY id LIMIT ?1)", bound: .integer(Int64(count - keep)))
            }
        }
        if removed > 0 { _ = connection.api.exec(connection.db, "PRAGMA incremental_vacuum") }
    }

    private func delete(_ sql: String, bound value: CallLogValue) throws(AIQueryError) -> Int {
        let statement = try connection.prepare(sql)
        defer { _ = connection.api.finalize(statement) }
        connection.bind(value, at: 1, of: statement)
        guard connection.api.step(statement) == SQLiteAPI.done else { throw connection.failure() }
        return Int(connection.api.changes(connection.db))
    }

    private func integer(_ sql: String) throws(AIQueryError) -> Int {
        let statement = try connection.prepare(sql)
        defer { _ = connection.api.finalize(statement) }
        guard connection.api.step(statement) == SQLiteAPI.row else { throw connection.failure() }
        return Int(connection.api.columnInt64(statement, 0))
    }
}
