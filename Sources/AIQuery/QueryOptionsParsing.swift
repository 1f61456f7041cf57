import AIQueryCore

/// ai_query's optional arguments, with Databricks' names.
struct CallOptions {
    var query = QueryOptions()
    var failOnError = true
    var returnType: DataType?
    /// Set only when given in this call; otherwise the connection's setting or the endpoint's applies.
    var timeout: Double?
    var maxRetries: Int?
    var deadline: Double?
    var cacheMode: CacheMode?
    /// Requests in flight at once (ai_query_rows).
    var concurrency: Int?
    /// Embedding inputs per request (ai_query_rows).
    var batchSize: Int?
    /// The statement's budget: it stops with an error before spending more.
    var maxCalls: Int?
    var maxTokens: Int?

    static let names = [
        "returnType", "failOnError", "modelParameters", "responseFormat", "timeout", "maxRetries", "deadline", "cache",
        "concurrency", "batchSize", "maxCalls", "maxTokens",
    ]
    static let reservedParameters: Set<String> = ["messages", "prompt", "input"]

    /// Accepts the three shapes SQL users write:
    /// - key/value pairs: `'failOnError', 'false', 'modelParameters', '{"max_tokens":50}'` (Databricks' original syntax)
    /// - one JSON object: `json_object('failOnError', json('false'), …)` or the same as text
    /// - positional: `returnType[, failOnError]`, or a responseFormat JSON as the third argument (as a Databricks demo does)
    static func parse(_ arguments: ArraySlice<SQLArgument>) throws -> CallOptions {
        var options = CallOptions()
        let args = Array(arguments)
        if args.isEmpty { return options }
        if args.count == 1 {
            let text = try requireText(args[0], what: "the options argument")
            if let json = try? JSONValue.parse(text), case .object(let members) = json {
                if members.contains(where: { key, _ in canonicalName(key) != nil }) || members.isEmpty {
                    for (key, value) in members { try options.set(key, .json(value)) }
                } else if json["type"] != nil {
                    try options.set("responseFormat", .json(json))
                } else {
                    throw AIQueryError(
                        "the options object has no known option (\(members.map(\.0).joined(separator: ", "))); use \(names.joined(separator: ", "))")
                }
            } else {
                try options.set("returnType", .sql(args[0]))
            }
            return options
        }
        if case .text(let first, _) = args[0], canonicalName(first) != nil {
            guard args.count % 2 == 0 else {
                throw AIQueryError("options must be name/value pairs; '\(args.count % 2 == 0 ? "" : args.last?.text ?? "")' has no value")
            }
            for pair in stride(from: 0, to: args.count, by: 2) {
                let name = try requireText(args[pair], what: "an option name")
                try options.set(name, .sql(args[pair + 1]))
            }
            return options
        }
        guard args.count == 2, let typeText = args[0].text, (try? DataType.parse(typeText)) != nil else {
            throw AIQueryError(
                "unknown option '\(args[0].text ?? args[0].typeName)'; options are name/value pairs with names \(names.joined(separator: ", "))")
        }
        try options.set("returnType", .sql(args[0]))
        try options.set("failOnError", .sql(args[1]))
        return options
    }

    static func canonicalName(_ name: String) -> String? {
        names.first { $0.lowercased() == name.lowercased() }
    }

    static func requireText(_ argument: SQLArgument, what: String) throws -> String {
        guard case .text(let text, _) = argument else {
            throw AIQueryError("\(what) must be text, got \(argument.typeName)")
        }
        return text
    }

    /// An option value from SQL or from inside a JSON options object.
    enum Value {
        case sql(SQLArgument)
        case json(JSONValue)

        /// JSON for object-valued options: a JSON object or its text.
        func json(option: String) throws -> JSONValue {
            switch self {
            case .json(.string(let text)), .sql(.text(let text, _)):
                do { return try JSONValue.parse(text) } catch {
                    throw AIQueryError("\(option) must be JSON: \(error)")
                }
            case .json(let value): return value
            case .sql(let argument): throw AIQueryError("\(option) must be JSON text, got \(argument.typeName)")
            }
        }

        var text: String? {
            switch self {
            case .sql(let argument): return argument.text
            case .json(let value): return value.stringValue ?? value.serialized()
            }
        }
    }

    mutating func set(_ rawName: String, _ value: Value) throws {
        guard let name = Self.canonicalName(rawName) else {
            throw AIQueryError("unknown option '\(rawName)'; use \(Self.names.joined(separator: ", "))")
        }
        switch name {
        case "failOnError": failOnError = try Self.boolean(value, option: name)
        case "returnType":
            guard let text = value.text else { throw AIQueryError("returnType must be a type name such as 'STRING' or 'ARRAY<FLOAT>'") }
            returnType = try DataType.parse(text)
        case "modelParameters": query.modelParameters = try Self.modelParameters(value.json(option: name))
        case "responseFormat": query.responseFormat = try Self.responseFormat(value)
        case "timeout": timeout = try Self.seconds(value.text, option: name)
        case "deadline": deadline = try Self.seconds(value.text, option: name)
        case "maxRetries": maxRetries = try Self.retries(value.text, option: name)
        case "cache": cacheMode = try Self.cacheMode(value.text, option: name)
        case "concurrency": concurrency = try Self.count(value.text, option: name, range: 1...256)
        case "batchSize": batchSize = try Self.count(value.text, option: name, range: 1...2048)
        case "maxCalls": maxCalls = try Self.count(value.text, option: name, range: 0...Int(Int32.max))
        case "maxTokens": maxTokens = try Self.count(value.text, option: name, range: 0...Int.max)
        default: break
        }
    }

    static func seconds(_ text: String?, option: String) throws -> Double {
        guard let text, let seconds = Double(text), seconds > 0, seconds.isFinite else {
            throw AIQueryError("\(option) must be a positive number of seconds, got '\(text ?? "NULL")'")
        }
        return seconds
    }

    static func retries(_ text: String?, option: String) throws -> Int {
        guard let text, let count = Int(text), count >= 0, count <= 100 else {
            throw AIQueryError("\(option) must be an integer from 0 to 100, got '\(text ?? "NULL")'")
        }
        return count
    }

    static func count(_ text: String?, option: String, range: ClosedRange<Int>) throws -> Int {
        guard let text, let count = Int(text), range.contains(count) else {
            let upper = range.upperBound >= Int(Int32.max) ? "" : " to \(range.upperBound)"
            throw AIQueryError("\(option) must be an integer from \(range.lowerBound)\(upper), got '\(text ?? "NULL")'")
        }
        return count
    }

    static func cacheMode(_ text: String?, option: String) throws -> CacheMode {
        guard let text, let mode = CacheMode(rawValue: text.lowercased()) else {
            throw AIQueryError("\(option) must be on, off, refresh or replay, got '\(text ?? "NULL")'")
        }
        return mode
    }

    static func boolean(_ value: Value, option: String) throws -> Bool {
        switch value {
        case .json(.bool(let b)): return b
        case .sql(.integer(let i)) where i == 0 || i == 1: return i == 1
        case .json(.integer(let i)) where i == 0 || i == 1: return i == 1
        default:
            switch value.text?.lowercased() {
            case "true"?: return true
            case "false"?: return false
            default: throw AIQueryError("\(option) must be true or false, got '\(value.text ?? "NULL")'")
            }
        }
    }

    /// Checked like Databricks' AI_FUNCTION_INVALID_MODEL_PARAMETERS: request fields are refused, common numeric
    /// parameters are type-checked, anything else passes through to the endpoint.
    static func modelParameters(_ json: JSONValue) throws -> [(String, JSONValue)] {
        guard case .object(let members) = json else {
            throw AIQueryError("modelParameters must be a JSON object such as '{\"max_tokens\":100,\"temperature\":0.7}', got \(json.kindName)")
        }
        for (key, value) in members {
            if reservedParameters.contains(key) {
                throw AIQueryError(
                    "modelParameters: the \"\(key)\" parameter belongs in the request argument, not in modelParameters (AI_FUNCTION_INVALID_MODEL_PARAMETERS.FOUND_RESERVED_PARAMETER_NAME)"
                )
            }
            func invalid(_ constraint: String) -> AIQueryError {
                AIQueryError(
                    "modelParameters: \"\(key)\" must be \(constraint), got \(value.serialized()) (AI_FUNCTION_INVALID_MODEL_PARAMETERS.INVALID_NUMERIC_PARAMETER)")
            }
            switch key {
            case "max_tokens", "max_completion_tokens", "n", "top_k":
                guard let i = value.int64Value, i > 0 else { throw invalid("a positive integer") }
            case "temperature":
                guard let d = value.doubleValue, d >= 0, d <= 2 else { throw invalid("a number from 0 to 2") }
            case "top_p":
                guard let d = value.doubleValue, d >= 0, d <= 1 else { throw invalid("a number from 0 to 1") }
            case "stop":
                let ok = value.stringValue != nil || (value.arrayValue?.allSatisfy { $0.stringValue != nil } ?? false)
                guard ok else { throw invalid("a string or a list of strings") }
            default: break
            }
        }
        return members
    }

    /// `'text'`, `'{"type":"json_object"}'`, an OpenAI json_schema, a bare JSON schema, or a DDL `STRUCT<…>`.
    static func responseFormat(_ value: Value) throws -> JSONValue? {
        let unsupported = "(AI_FUNCTION_UNSUPPORTED_RESPONSE_FORMAT); use 'text', '{\"type\":\"json_object\"}', a JSON schema or a DDL STRUCT<…>"
        if case .json(let json) = value, case .object = json { return try responseFormatJSON(json, unsupported: unsupported) }
        guard let text = value.text?.trimmed() else { throw AIQueryError("responseFormat must be text \(unsupported)") }
        if text.lowercased() == "text" { return nil }
        if text.hasPrefix("{") {
            let json: JSONValue
            do { json = try JSONValue.parse(text) } catch { throw AIQueryError("responseFormat is not valid JSON: \(error) \(unsupported)") }
            return try responseFormatJSON(json, unsupported: unsupported)
        }
        let type: DataType
        do { type = try DataType.parse(text) } catch {
            throw AIQueryError("responseFormat '\(text.truncatedForMessage(80))' is not supported \(unsupported)")
        }
        guard case .structure(let fields) = type, fields.count == 1 else {
            throw AIQueryError(
                "responseFormat '\(text.truncatedForMessage(80))': a DDL response format must be a STRUCT with exactly one field, whose name names the schema \(unsupported)"
            )
        }
        return .object([
            ("type", .string("json_schema")),
            ("json_schema", .object([("name", .string(fields[0].0)), ("schema", fields[0].1.jsonSchema), ("strict", .bool(true))])),
        ])
    }

    static func responseFormatJSON(_ json: JSONValue, unsupported: String) throws -> JSONValue? {
        switch json["type"]?.stringValue {
        case "text"?: return nil
        case "json_object"?: return json
        case "json_schema"?:
            guard json["json_schema"]?["schema"] != nil else {
                throw AIQueryError("responseFormat: a json_schema format needs json_schema.schema \(unsupported)")
            }
            return json
        case "object"?:
            return .object([
                ("type", .string("json_schema")),
                ("json_schema", .object([("name", .string("response")), ("schema", json), ("strict", .bool(true))])),
            ])
        default:
            throw AIQueryError("responseFormat type \(json["type"]?.serialized() ?? "(missing)") is not supported \(unsupported)")
        }
    }
}
