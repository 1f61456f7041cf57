// Scalar typing (YAML 1.2 core schema) for plain scalars; quoted scalars are always strings.

/// Types a plain scalar: null, bool, integer (decimal, 0x, 0o), float, or string.
func resolvePlain(_ bytes: [UInt8]) -> JSONValue {
    let s = String(decoding: bytes, as: UTF8.self)
    switch s {
    case "", "~", "null", "Null", "NULL": return .null
    case "true", "True", "TRUE": return .bool(true)
    case "false", "False", "FALSE": return .bool(false)
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
    case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
    case ".nan", ".NaN", ".NAN": return .double(.nan)
    default: break
    }
    let unsigned = bytes.first == .dash || bytes.first == UInt8(ascii: "+") ? bytes.dropFirst() : bytes[...]
    if !unsigned.isEmpty && unsigned.allSatisfy(\.isDigit) {
        if let value = Int64(s) { return .integer(value) }
        if let value = Double(s) { return .double(value) }  // too large for Int64: still a number
    }
    if bytes.count > 2 && bytes[0] == UInt8(ascii: "0") {
        let radix = bytes[1] == UInt8(ascii: "x") ? 16 : bytes[1] == UInt8(ascii: "o") ? 8 : 0
        if radix != 0, bytes[2] != .dash, bytes[2] != UInt8(ascii: "+"),
           let value = Int64(String(s.dropFirst(2)), radix: radix) {
            return .integer(value)
        }
    }
    if isCoreFloat(bytes), let value = Double(s) { return .double(value) }
    return .string(s)
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` — checked by hand because Double(_:)
/// alone would also accept "inf", "nan" and hex floats, which are strings here.
func isCoreFloat(_ b: [UInt8]) -> Bool {
    var i = 0
    func digits() -> Int {
        let start = i
        while i < b.count && b[i].isDigit { i += 1 }
        return i - start
    }
    if i < b.count && (b[i] == .dash || b[i] == UInt8(ascii: "+")) { i += 1 }
    var count = digits()
    if i < b.count && b[i] == UInt8(ascii: ".") {
        i += 1
        count += digits()
    }
    guard count > 0 else { return false }
    if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
        i += 1
        if i < b.count && (b[i] == .dash || b[i] == UInt8(ascii: "+")) { i += 1 }
        guard digits() > 0 else { return false }
    }
    return i == b.count
}
