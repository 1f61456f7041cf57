import AIQueryCore
import CSQLite

extension SQLiteAPI {
    /// The system libsqlite3 linked into this executable: the cache's store over it is the same code the
    /// extension runs over the host's API table.
    public static let linked = SQLiteAPI(
        open: aiql_open, close: sqlite3_close, exec: aiql_exec, errmsg: sqlite3_errmsg, prepare: aiql_prepare, step: sqlite3_step,
        reset: aiql_reset, finalize: sqlite3_finalize, bindBlob: aiql_bind_blob, bindText: aiql_bind_text, bindInt64: sqlite3_bind_int64,
        bindDouble: sqlite3_bind_double, bindNull: sqlite3_bind_null, columnType: sqlite3_column_type, columnBlob: sqlite3_column_blob,
        columnBytes: sqlite3_column_bytes, columnInt64: sqlite3_column_int64, columnDouble: sqlite3_column_double, changes: sqlite3_changes)
}
