/// How an answer's output is stored: a kind and bytes.
enum CachedAnswer {
    static func encode(_ output: ModelOutput) -> (Int64, [UInt8]) {
        switch output {
        case .text(let text): return (1, Array(text.utf8))
        case .embedding(let vector): return (2, vector.withUnsafeBytes { Array($0) })
        case .json(let json): return (3, Array(json.serialized().utf8))
        }
    }

    /// Straight from SQLite's buffer (valid until the statement is reset): one copy per hit, not two.
    static func decode(kind: Int64, bytes: UnsafeRawBufferPointer) -> ModelOutput? {
        switch kind {
        case 1: return .text(String(decoding: bytes, as: UTF8.self))
        case 2:
            let count = bytes.count / 4
            var vector = [Float](repeating: 0, count: count)
            vector.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(count * 4))) }
            return .embedding(vector)
        case 3: return (try? JSONValue.parse(bytes: Array(bytes))).map { .json($0) }
        default: return nil
        }
    }
}
