import AIQueryCore
import CAIQuery

/// Keeps a database file from acting on its own. SQLite 3.40 runs SQLITE_DIRECTONLY functions from CHECK
/// constraints anyway (views, triggers, DEFAULT, generated columns and index expressions it does block), so a
/// network or configuration function also checks, before it acts, that
/// - a statement this connection is running calls it by name: a CHECK's call comes from inside the user's
///   `INSERT`, whose text does not name it;
/// - no table of any attached database calls it in its definition: that catches a CHECK whose function the user's
///   own statement happens to call too (`INSERT INTO t SELECT ai_query(…)`).
enum SchemaGuard {
    static func check(_ function: String, db: OpaquePointer?) throws(AIQueryError) {
        guard let db else { return }
        var statement = aiq_next_stmt(db, nil)
        var calledDirectly = false
        while let current = statement {
            if aiq_stmt_busy(current) != 0, let sql = aiq_sql(current), SQLCalls.calls(function, in: String(cString: sql)) {
                calledDirectly = true
                break
            }
            statement = aiq_next_stmt(db, current)
        }
        guard calledDirectly else {
            throw AIQueryError(
                .permissionDenied,
                "refused: this call does not come from a statement you ran but from the database's schema (a CHECK constraint); \(function) only runs when called directly, so a database file cannot call models or change settings on its own"
            )
        }
        if let table = try tableCalling(function, db: db) {
            throw AIQueryError(
                .permissionDenied,
                "refused: table \(table) of this database calls \(function) in its definition (a CHECK constraint), so a database file could call models or change settings on its own; remove that constraint to use \(function) on this connection"
            )
        }
    }

    /// `schema.table` of the first table whose definition calls `function`, in any attached database.
    static func tableCalling(_ function: String, db: OpaquePointer) throws(AIQueryError) -> String? {
        for schema in try rows(db, "SELECT name FROM pragma_database_list") {
            for table in try rows(db, "SELECT name, sql FROM \(schema[0].sqlIdentifier).sqlite_schema WHERE type = 'table' AND sql IS NOT NULL")
            where SQLCalls.calls(function, in: table[1]) {
                return "\(schema[0]).\(table[0])"
            }
        }
        return nil
    }

    /// Every row of a query on the connection, as text.
    private static func rows(_ db: OpaquePointer, _ sql: String) throws(AIQueryError) -> [[String]] {
        var statement: OpaquePointer?
        defer { aiq_finalize(statement) }
        guard aiq_prepare(db, sql, &statement) == Int32(AIQ_OK), let statement else {
            throw AIQueryError(.internalError, "reading the schema failed: \(String(cString: aiq_errmsg(db)))")
        }
        var result: [[String]] = []
        while aiq_step(statement) == Int32(AIQ_ROW) {
            result.append((0..<aiq_column_count(statement)).map { column in
                aiq_column_text(statement, column).map { String(cString: $0) } ?? ""
            })
        }
        return result
    }
}

/// Whether SQL text calls a function by name: the name (quoted or not, any case) followed by `(`, outside string
/// literals and comments, and not part of a longer identifier (`ai_query_log` is not `ai_query`).
enum SQLCalls {
    static func calls(_ function: String, in sql: String) -> Bool {
        let code = strippingLiteralsAndComments(sql)
        let name = Array(function.lowercased().utf8)
        var index = 0
        while let found = code.firstIndex(of: name, from: index) {
            index = found + 1
            if found > 0, isIdentifier(code[found - 1]) { continue }
            var after = found + name.count
            while after < code.count, code[after] == UInt8(ascii: " ") { after += 1 }
            if after < code.count, code[after] == UInt8(ascii: "(") { return true }
        }
        return false
    }

    static func isIdentifier(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || (48...57).contains(byte) || (97...122).contains(byte) || byte >= 0x80
    }

    /// Lowercased, with string literals, comments, identifier quotes and whitespace runs each made one space.
    static func strippingLiteralsAndComments(_ sql: String) -> [UInt8] {
        let bytes = Array(sql.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        func space() { if out.last != UInt8(ascii: " ") { out.append(UInt8(ascii: " ")) } }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"):  // a string literal, '' inside it
                index += 1
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "'") {
                        if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") { index += 2; continue }
                        break
                    }
                    index += 1
                }
                index += 1
                space()
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                space()
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
                while index + 1 < bytes.count, !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
                space()
            case UInt8(ascii: "\""), UInt8(ascii: "`"), UInt8(ascii: "["), UInt8(ascii: "]"):
                index += 1  // `"ai_query"(…)` is a call of ai_query too
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                space()
                index += 1
            default:
                out.append((65...90).contains(byte) ? byte + 32 : byte)
                index += 1
            }
        }
        return out
    }
}
