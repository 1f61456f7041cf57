/// SQLite's subtype for JSON text (what json() and json_object() set).
public let jsonSubtype: UInt32 = 74

/// One SQL argument, copied out of SQLite (by the SQL surface) so it outlives the callback; what option parsing reads.
public enum SQLArgument: Sendable {
    case null
    case integer(Int64)
    case double(Double)
    case text(String, subtype: UInt32)
    case blob([UInt8])

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Text, or the decimal form of a number; nil for NULL and BLOB.
    public var text: String? {
        switch self {
        case .text(let s, _): return s
        case .integer(let i): return String(i)
        case .double(let d): return String(d)
        case .null, .blob: return nil
        }
    }

    public var isJSON: Bool {
        if case .text(_, let subtype) = self { return subtype == jsonSubtype }
        return false
    }

    public var typeName: String {
        switch self {
        case .null: return "NULL"
        case .integer: return "INTEGER"
        case .double: return "REAL"
        case .text: return "TEXT"
        case .blob: return "BLOB"
        }
    }
}

