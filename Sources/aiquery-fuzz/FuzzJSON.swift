import AIQueryCore

/// JSONValue.parse over raw bytes and over the same text as a String, then serialization round trips: what
/// parsed must serialize to text that parses back to the same value, in written order and with sorted keys
/// (the cache key's canonical form, which must be a fixed point). The input also goes through both SHA-256
/// implementations, which must agree.
enum FuzzJSON {
    static func run(_ bytes: [UInt8]) {
        // The cache key's hash (C, SHA extensions when the CPU has them) against the portable C code.
        if SHA256.hash(bytes) != SHA256.portableHash(bytes) { finding("SHA-256 paths disagree", bytes) }
        let fromBytes = try? JSONValue.parse(bytes: bytes)
        // The String entry point repairs invalid UTF-8 up front; the bytes one repairs inside each string. Same
        // outcome either way: invalid bytes outside strings are errors both ways.
        let fromText = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self))
        guard let value = fromBytes else {
            if fromText != nil { finding("parse(String) accepted what parse(bytes:) refused", bytes) }
            return
        }
        guard let text = fromText, identical(text, value) else {
            finding("parse(String) and parse(bytes:) disagree: \(fromText?.serialized() ?? "error") vs \(value.serialized())", bytes)
        }

        let written = value.serialized()
        let reread: JSONValue
        do { reread = try JSONValue.parse(written) } catch {
            finding("serialized() does not parse back: \(error): \(written)", bytes)
        }
        guard identical(reread, value) else { finding("serialized() round trip changed the value: \(written)", bytes) }
        guard reread.serialized() == written else { finding("serialized() is not a fixed point: \(written)", bytes) }
        // JSONValue's == compares objects regardless of member order, looking each key up by its first
        // occurrence: with a repeated key an object is not == to itself, so it is checked only without one.
        if !hasRepeatedKey(value), reread != value { finding("== says the round trip differs: \(written)", bytes) }

        let canonical = value.serialized(sortedKeys: true)
        let sorted: JSONValue
        do { sorted = try JSONValue.parse(canonical) } catch {
            finding("serialized(sortedKeys: true) does not parse back: \(error): \(canonical)", bytes)
        }
        guard identical(sorted, sortedCopy(value)) else { finding("sorted round trip changed the value: \(canonical)", bytes) }
        guard sorted.serialized(sortedKeys: true) == canonical else {
            finding("serialized(sortedKeys: true) is not a fixed point: \(canonical)", bytes)
        }
        if !hasRepeatedKey(value), sorted != value { finding("== says the sorted round trip differs: \(canonical)", bytes) }
    }

    /// Structural equality that keeps member order and tells integers from doubles.
    static func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0.utf8.elementsEqual($1.0.utf8) && identical($0.1, $1.1) }
        default: return false
        }
    }

    /// The value with every object's members in UTF-8 byte order of their keys (repeated keys keep their order).
    static func sortedCopy(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(sortedCopy))
        case .object(let members):
            let order = members.indices.sorted {
                let (x, y) = (members[$0].0.utf8, members[$1].0.utf8)
                return x.lexicographicallyPrecedes(y) || (x.elementsEqual(y) && $0 < $1)
            }
            return .object(order.map { (members[$0].0, sortedCopy(members[$0].1)) })
        default: return value
        }
    }

    static func hasRepeatedKey(_ value: JSONValue) -> Bool {
        switch value {
        case .array(let items): return items.contains(where: hasRepeatedKey)
        case .object(let members):
            var seen = Set<String>()
            for (key, member) in members {
                if !seen.insert(key).inserted || hasRepeatedKey(member) { return true }
            }
            return false
        default: return false
        }
    }
}
