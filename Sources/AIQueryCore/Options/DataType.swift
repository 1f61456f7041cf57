/// A Databricks DDL type (`STRING`, `ARRAY<FLOAT>`, `STRUCT<a: INT, b: ARRAY<STRING>>`), used by returnType and
/// by a DDL responseFormat.
public indirect enum DataType: Sendable, Equatable, CustomStringConvertible {
    case string, integer, double, boolean, variant
    case array(DataType)
    case map(DataType, DataType)
    case structure([(String, DataType)])

    public static func == (a: DataType, b: DataType) -> Bool { a.description == b.description }

    public var description: String {
        switch self {
        case .string: return "STRING"
        case .integer: return "BIGINT"
        case .double: return "DOUBLE"
        case .boolean: return "BOOLEAN"
        case .variant: return "VARIANT"
        case .array(let element): return "ARRAY<\(element)>"
        case .map(let key, let value): return "MAP<\(key), \(value)>"
        case .structure(let fields): return "STRUCT<\(fields.map { "\($0.0): \($0.1)" }.joined(separator: ", "))>"
        }
    }

    /// Parses DDL text; the error says where it stopped understanding.
    public static func parse(_ text: String) throws(AIQueryError) -> DataType {
        var parser = DDLParser(tokens: DDLParser.tokenize(text), source: text)
        let type = try parser.parseType()
        if parser.index < parser.tokens.count {
            throw AIQueryError("returnType '\(text.truncatedForMessage(80))': unexpected '\(parser.tokens[parser.index].truncatedForMessage(40))'")
        }
        return type
    }

    /// The JSON schema a model should follow to produce this type (for responseFormat given as DDL).
    public var jsonSchema: JSONValue {
        switch self {
        case .string: return .object([("type", .string("string"))])
        case .integer: return .object([("type", .string("integer"))])
        case .double: return .object([("type", .string("number"))])
        case .boolean: return .object([("type", .string("boolean"))])
        case .variant: return .object([])
        case .array(let element): return .object([("type", .string("array")), ("items", element.jsonSchema)])
        case .map(_, let value): return .object([("type", .string("object")), ("additionalProperties", value.jsonSchema)])
        case .structure(let fields):
            return .object([
                ("type", .string("object")),
                ("properties", .object(fields.map { ($0.0, $0.1.jsonSchema) })),
                ("required", .array(fields.map { .string($0.0) })),
                ("additionalProperties", .bool(false)),
            ])
        }
    }
}

private struct DDLParser {
    var tokens: [String]
    var source: String
    var index = 0
    /// How deep the type nests so far: bounded, so a hostile type cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 64

    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var word = ""
        var quote: Character?
        for character in text {
            if let open = quote {
                word.append(character)
                if character == open { tokens.append(word); word = ""; quote = nil }
                continue
            }
            if character == "`" || character == "'" || character == "\"" {
                if !word.isEmpty { tokens.append(word); word = "" }
                quote = character
                word.append(character)
            } else if "<>,:()".contains(character) {
                if !word.isEmpty { tokens.append(word); word = "" }
                tokens.append(String(character))
            } else if character == " " || character == "\t" || character == "\n" {
                if !word.isEmpty { tokens.append(word); word = "" }
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { tokens.append(word) }
        return tokens
    }

    func fail(_ message: String) -> AIQueryError { AIQueryError("returnType '\(source.truncatedForMessage(80))': \(message)") }

    mutating func next() throws(AIQueryError) -> String {
        guard index < tokens.count else { throw fail("ends too early") }
        defer { index += 1 }
        return tokens[index]
    }

    mutating func expect(_ token: String) throws(AIQueryError) {
        let found = try next()
        guard found == token else { throw fail("expected '\(token)' but found '\(found)'") }
    }

    func peek() -> String? { index < tokens.count ? tokens[index] : nil }

    mutating func skipParameters() throws(AIQueryError) {
        guard peek() == "(" else { return }
        while try next() != ")" {}
    }

    mutating func parseType() throws(AIQueryError) -> DataType {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("nests more than \(Self.maxDepth) types deep") }
        let word = try next()
        switch word.uppercased() {
        case "STRING", "VARCHAR", "CHAR", "TEXT", "DATE", "TIMESTAMP", "TIMESTAMP_NTZ", "INTERVAL":
            try skipParameters()
            return .string
        case "INT", "INTEGER", "BIGINT", "LONG", "SMALLINT", "SHORT", "TINYINT", "BYTE":
            return .integer
        case "FLOAT", "REAL", "DOUBLE", "DECIMAL", "DEC", "NUMERIC":
            try skipParameters()
            return .double
        case "BOOLEAN", "BOOL":
            return .boolean
        case "VARIANT", "JSON":
            return .variant
        case "ARRAY":
            try expect("<")
            let element = try parseType()
            try expect(">")
            return .array(element)
        case "MAP":
            try expect("<")
            let key = try parseType()
            try expect(",")
            let value = try parseType()
            try expect(">")
            return .map(key, value)
        case "STRUCT":
            try expect("<")
            var fields: [(String, DataType)] = []
            if peek() == ">" { index += 1; return .structure(fields) }
            while true {
                var name = try next()
                if name.count >= 2, let first = name.first, "`'\"".contains(first) { name = String(name.dropFirst().dropLast()) }
                if peek() == ":" { index += 1 }
                fields.append((name, try parseType()))
                // NOT NULL and COMMENT '…' are allowed in Databricks DDL and don't change the shape.
                while let modifier = peek()?.uppercased(), modifier == "NOT" || modifier == "NULL" || modifier == "COMMENT" {
                    index += 1
                    if modifier == "COMMENT" { _ = try next() }
                }
                let separator = try next()
                if separator == ">" { return .structure(fields) }
                guard separator == "," else { throw fail("expected ',' or '>' but found '\(separator)'") }
            }
        default:
            throw fail(
                "unknown type '\(word)'; use STRING, INT, BIGINT, FLOAT, DOUBLE, BOOLEAN, ARRAY<…>, MAP<…, …>, STRUCT<…> or VARIANT")
        }
    }
}
