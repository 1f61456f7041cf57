import AIQueryCore
import CAIQuery

extension SQLiteAPI {
    /// The host's SQLite, through the API table the shell handed the extension: the cache never links a second
    /// SQLite into the process.
    static let host = SQLiteAPI(
        open: aiq_open, close: aiq_close, exec: aiq_exec, errmsg: aiq_errmsg, prepare: aiq_prepare, step: aiq_step,
        reset: aiq_reset, finalize: aiq_finalize, bindBlob: aiq_bind_blob, bindText: aiq_bind_text, bindInt64: aiq_bind_int64,
        bindDouble: aiq_bind_double, bindNull: aiq_bind_null, columnType: aiq_column_type, columnBlob: aiq_column_blob,
        columnBytes: aiq_column_bytes, columnInt64: aiq_column_int64, columnDouble: aiq_column_double, changes: aiq_changes)
}
