import CAIQuery

enum SQLiteInfo {
    /// The host's SQLite version, through its API table.
    static var version: String { aiq_libversion().map { String(cString: $0) } ?? "unknown" }
}
