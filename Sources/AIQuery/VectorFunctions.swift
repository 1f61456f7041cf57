import AIQueryCore

/// `ai_cosine(a, b)`: cosine similarity of two embeddings, for nearest-neighbour search in plain SQL.
enum VectorFunctions {
    static func cosine(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        if arguments[0].isNull || arguments[1].isNull { return .null }
        let a = try finite(vector(arguments[0], position: "first"), position: "first")
        let b = try finite(vector(arguments[1], position: "second"), position: "second")
        guard a.count == b.count else {
            throw AIQueryError("the vectors have different lengths (\(a.count) and \(b.count)); compare embeddings from the same model")
        }
        return VectorMath.cosine(a, b).map(SQLResult.double) ?? .null
    }

    /// A NaN or an infinity makes any similarity meaningless: say so rather than answer NULL.
    static func finite(_ vector: [Float], position: String) throws -> [Float] {
        if let index = vector.firstIndex(where: { !$0.isFinite }) {
            throw AIQueryError(
                "the \(position) argument holds \(vector[index].isNaN ? "NaN" : "an infinite value") at position \(index + 1) of \(vector.count); an embedding holds finite numbers only")
        }
        return vector
    }

    /// A float32 BLOB (what ai_query returns for embeddings, and sqlite-vec's format) or a JSON array of numbers.
    static func vector(_ argument: SQLArgument, position: String) throws -> [Float] {
        switch argument {
        case .blob(let bytes):
            guard bytes.count % 4 == 0, !bytes.isEmpty else {
                throw AIQueryError("the \(position) argument is a BLOB of \(bytes.count) bytes, not float32 values (a multiple of 4 bytes)")
            }
            // Little-endian float32, the platform's own layout.
            return bytes.withUnsafeBytes { raw in
                (0..<bytes.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            }
        case .text(let text, _):
            let json: JSONValue
            do { json = try JSONValue.parse(text) } catch {
                throw AIQueryError("the \(position) argument is not valid JSON (\(error)); an embedding is a float32 BLOB or a JSON array of finite numbers")
            }
            guard let items = json.arrayValue, !items.isEmpty else {
                throw AIQueryError("the \(position) argument must be an embedding: a float32 BLOB or a JSON array of numbers")
            }
            return try items.map { item in
                guard let number = item.doubleValue else {
                    throw AIQueryError("the \(position) argument's JSON array holds a non-number: \(item.serialized().truncatedForMessage(40))")
                }
                return Float(number)
            }
        default:
            throw AIQueryError("the \(position) argument must be an embedding (a float32 BLOB or a JSON array), got \(argument.typeName)")
        }
    }
}
