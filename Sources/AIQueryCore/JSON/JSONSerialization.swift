extension JSONValue {
    /// Compact JSON text. Keys keep their order unless `sortedKeys` (used for canonical cache keys).
    public func serialized(sortedKeys: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, sortedKeys: sortedKeys)
        return String(decoding: out, as: UTF8.self)
    }

    func write(into out: inout [UInt8], sortedKeys: Bool) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: Self.format(d).utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            func writeMember(_ index: Int, first: Bool) {
                if !first { out.append(UInt8(ascii: ",")) }
                Self.writeString(members[index].0, into: &out)
                out.append(UInt8(ascii: ":"))
                members[index].1.write(into: &out, sortedKeys: sortedKeys)
            }
            if sortedKeys, !Self.keysAreSorted(members) {
                // Byte order of the UTF-8 keys: the same on every platform and cheaper than String's `<`.
                let order = members.indices.sorted { members[$0].0.utf8.lexicographicallyPrecedes(members[$1].0.utf8) }
                for (n, index) in order.enumerated() { writeMember(index, first: n == 0) }
            } else {
                for index in members.indices { writeMember(index, first: index == 0) }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func keysAreSorted(_ members: [(String, JSONValue)]) -> Bool {
        var index = 1
        while index < members.count {
            if members[index].0.utf8.lexicographicallyPrecedes(members[index - 1].0.utf8) { return false }
            index += 1
        }
        return true
    }

    /// Shortest text that reads back as the same Double; JSON has no NaN or infinity, so those become null.
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        return d.description
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Fast path: most strings need no escaping and go in as one copy.
        let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            out.append(contentsOf: bytes)
            return true
        }
        if copied == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { serialized() }
}
