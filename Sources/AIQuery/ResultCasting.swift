import AIQueryCore

/// Turns a model's answer into a SQL value: the task's natural type by default, or the declared returnType.
enum ResultCasting {
    static func result(_ output: ModelOutput, returnType: DataType?) throws(AIQueryError) -> SQLResult {
        guard let returnType else {
            switch output {
            case .text(let text): return .text(text)
            case .embedding(let vector): return .vector(vector)
            case .json(let json): return natural(json)
            }
        }
        switch output {
        case .embedding(let vector):
            let json = JSONValue.array(vector.map(JSONValue.float))
            switch returnType {
            case .array(.double), .array(.variant), .variant: return .json(json.serialized())
            case .string: return .text(json.serialized())
            default: throw castError(json.serialized(), returnType, "an embedding is an ARRAY<FLOAT>")
            }
        case .json(let json):
            return try cast(json, to: returnType, original: json.serialized())
        case .text(let text):
            switch returnType {
            case .string: return .text(text)
            case .integer, .double, .boolean:
                return try cast(.string(text.trimmed()), to: returnType, original: text)
            case .array, .map, .structure, .variant:
                let json: JSONValue
                do {
                    json = try JSONValue.parse(stripCodeFence(text))
                } catch {
                    throw castError(text, returnType, "the output is not JSON (\(error))")
                }
                return try cast(json, to: returnType, original: text)
            }
        }
    }

    /// A custom model's JSON answer without a returnType: scalars as SQL scalars, the rest as JSON text.
    static func natural(_ json: JSONValue) -> SQLResult {
        switch json {
        case .null: return .null
        case .bool(let b): return .integer(b ? 1 : 0)
        case .integer(let i): return .integer(i)
        case .double(let d): return .double(d)
        case .string(let s): return .text(s)
        case .array, .object: return .json(json.serialized())
        }
    }

    static func cast(_ json: JSONValue, to type: DataType, original: String) throws(AIQueryError) -> SQLResult {
        switch type {
        case .string:
            if let s = json.stringValue { return .text(s) }
            return .text(json.serialized())
        case .integer:
            if let i = json.int64Value { return .integer(i) }
            if let s = json.stringValue, let i = Int64(s) ?? Double(s).flatMap({ $0.rounded() == $0 ? Int64(exactly: $0) : nil }) {
                return .integer(i)
            }
            throw castError(original, type, "not an integer")
        case .double:
            if let d = json.doubleValue { return .double(d) }
            if let s = json.stringValue, let d = Double(s) { return .double(d) }
            throw castError(original, type, "not a number")
        case .boolean:
            if let b = json.boolValue { return .integer(b ? 1 : 0) }
            switch json.stringValue?.lowercased() {
            case "true"?: return .integer(1)
            case "false"?: return .integer(0)
            default: throw castError(original, type, "not true or false")
            }
        case .array, .map, .structure, .variant:
            return .json(try conform(json, to: type, original: original).serialized())
        }
    }

    /// Checks a JSON value against a type, as from_json would: struct fields in declared order, missing ones null.
    static func conform(_ json: JSONValue, to type: DataType, original: String) throws(AIQueryError) -> JSONValue {
        if json.isNull { return .null }
        switch type {
        case .variant: return json
        case .string: return .string(json.stringValue ?? json.serialized())
        case .integer, .double, .boolean: return try cast(json, to: type, original: original).jsonValue
        case .array(let element):
            guard let items = json.arrayValue else { throw castError(original, type, "expected a JSON array, got \(json.kindName)") }
            return .array(try items.map { item throws(AIQueryError) in try conform(item, to: element, original: original) })
        case .map(_, let value):
            guard let members = json.objectValue else { throw castError(original, type, "expected a JSON object, got \(json.kindName)") }
            return .object(try members.map { member throws(AIQueryError) in (member.0, try conform(member.1, to: value, original: original)) })
        case .structure(let fields):
            guard case .object = json else { throw castError(original, type, "expected a JSON object, got \(json.kindName)") }
            return .object(try fields.map { field throws(AIQueryError) in (field.0, try conform(json[field.0] ?? .null, to: field.1, original: original)) })
        }
    }

    /// Models often wrap JSON in a Markdown fence; what is inside is the answer.
    static func stripCodeFence(_ text: String) -> String {
        let trimmed = text.trimmed()
        guard trimmed.hasPrefix("```"), trimmed.hasSuffix("```"), trimmed.count >= 6 else { return trimmed }
        var inner = trimmed.dropFirst(3).dropLast(3)
        if let newline = inner.firstIndex(of: "\n") { inner = inner[inner.index(after: newline)...] }
        return String(inner)
    }

    static func castError(_ original: String, _ type: DataType, _ why: String) -> AIQueryError {
        AIQueryError(
            .castFailed,
            "cannot cast the model output to returnType \(type): \(why); output was \"\(original.truncatedForMessage(200))\" (AI_FUNCTION_HTTP_PARSE_CAST_ERROR); change returnType or ask the model for that format"
        )
    }
}
