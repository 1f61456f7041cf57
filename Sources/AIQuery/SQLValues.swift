import AIQueryCore
import CAIQuery

/// sqlite-vec's subtype for float32 vector BLOBs.
let float32VectorSubtype: UInt32 = 223

extension SQLArgument {
    /// Copies a value out of SQLite.
    init(_ value: OpaquePointer?) {
        switch aiq_value_type(value) {
        case Int32(AIQ_INTEGER): self = .integer(aiq_value_int64(value))
        case Int32(AIQ_FLOAT): self = .double(aiq_value_double(value))
        case Int32(AIQ_TEXT):
            // Length-based, so embedded NULs survive; sqlite3_value_text must come before _bytes.
            let text = aiq_value_text(value)
            let count = Int(aiq_value_bytes(value))
            let string = text.map { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) } ?? ""
            self = .text(string, subtype: aiq_value_subtype(value))
        case Int32(AIQ_BLOB):
            let count = Int(aiq_value_bytes(value))
            let bytes = aiq_value_blob(value).map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
            self = .blob(bytes)
        default: self = .null
        }
    }

}

/// A value a function returns to SQLite.
enum SQLResult {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    /// JSON text, tagged with the JSON subtype so json_object() and friends embed it as JSON.
    case json(String)
    /// A float32 vector as sqlite-vec reads it.
    case vector([Float])
    case blob([UInt8])

    /// A value read from SQL handed back unchanged (ai_query_rows' id and request columns).
    init(_ argument: SQLArgument) {
        switch argument {
        case .null: self = .null
        case .integer(let i): self = .integer(i)
        case .double(let d): self = .double(d)
        case .text(let s, let subtype): self = subtype == jsonSubtype ? .json(s) : .text(s)
        case .blob(let bytes): self = .blob(bytes)
        }
    }

    /// For messages: the value as SQL would print it.
    var debugText: String {
        switch self {
        case .null: return "NULL"
        case .integer(let i): return String(i)
        case .double(let d): return String(d)
        case .text(let s), .json(let s): return "'\(s.truncatedForMessage(40))'"
        case .vector, .blob: return "BLOB"
        }
    }

    func store(in context: OpaquePointer?) {
        switch self {
        case .null: aiq_result_null(context)
        case .integer(let i): aiq_result_int64(context, i)
        case .double(let d): aiq_result_double(context, d)
        case .text(let s): Self.storeText(s, in: context)
        case .json(let s):
            Self.storeText(s, in: context)
            aiq_result_subtype(context, jsonSubtype)
        case .vector(let floats):
            // Little-endian float32, which is what every platform we build for stores natively.
            floats.withUnsafeBytes { aiq_result_blob(context, $0.baseAddress, Int32($0.count)) }
            aiq_result_subtype(context, float32VectorSubtype)
        case .blob(let bytes):
            bytes.withUnsafeBytes { aiq_result_blob(context, $0.baseAddress, Int32($0.count)) }
        }
    }

    static func storeText(_ s: String, in context: OpaquePointer?) {
        var s = s
        s.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                if let base = chars.baseAddress {
                    aiq_result_text(context, base, Int32(chars.count))
                } else {
                    aiq_result_text(context, "", 0)
                }
            }
        }
    }

    /// The value inside a JSON document (failOnError => false wraps results this way).
    var jsonValue: JSONValue {
        switch self {
        case .null: return .null
        case .integer(let i): return .integer(i)
        case .double(let d): return .double(d)
        case .text(let s): return .string(s)
        case .json(let s): return (try? JSONValue.parse(s)) ?? .string(s)
        case .vector(let floats): return .array(floats.map(JSONValue.float))
        case .blob(let bytes): return .string(Base64.encode(bytes))
        }
    }
}

extension JSONValue {
    /// A Float as the shortest decimal that reads back as the same Float (0.1, not 0.10000000149011612).
    static func float(_ value: Float) -> JSONValue {
        guard value.isFinite else { return .null }
        return .double(Double(value.description) ?? Double(value))
    }
}

extension String {
    /// The name quoted as an SQL identifier: `a "b"` becomes `"a ""b"""`.
    var sqlIdentifier: String { "\"" + replacingAll("\"", with: "\"\"") + "\"" }
    /// The text quoted as an SQL string literal: `it's` becomes `'it''s'`.
    var sqlLiteral: String { "'" + replacingAll("'", with: "''") + "'" }
}
