/// ai_query's optional arguments, with Databricks' names: what shapes the answer (failOnError, returnType), what
/// goes into the request (modelParameters, responseFormat), and the call's layer of settings.
public struct CallOptions: Sendable {
    public init() {}

    public var failOnError = true
    public var returnType: DataType?
    public var request = RequestOptions()
    public var settings = SettingLayer()

    public static let names = ["returnType", "failOnError", "modelParameters", "responseFormat"] + Setting.names(in: .call)
    static let reservedParameters: Set<String> = ["messages", "prompt", "input"]

    /// Accepts the three shapes SQL users write:
    /// - key/value pairs: `'failOnError', 'false', 'modelParameters', '{"max_tokens":50}'` (Databricks' original syntax)
    /// - one JSON object: `json_object('failOnError', json('false'), …)` or the same as text
    /// - positional: `returnType[, failOnError]`, or a responseFormat JSON as the third argument (as a Databricks demo does)
    public static func parse(_ arguments: ArraySlice<SQLArgument>) throws(AIQueryError) -> CallOptions {
        var options = CallOptions()
        let args = Array(arguments)
        if args.isEmpty { return options }
        if args.count == 1 {
            let text = try requireText(args[0], what: "the options argument")
            // A type name starts with a letter; anything that starts like JSON was meant as options.
            guard args[0].isJSON || text.trimmed().first.map({ "{[\"-0123456789".contains($0) }) == true else {
                try options.set("returnType", .sql(args[0]))
                return options
            }
            let json: JSONValue
            do { json = try JSONValue.parse(text) } catch {
                throw AIQueryError("the options JSON is invalid: \(error); write a JSON object such as '{\"failOnError\":false,\"timeout\":30}'")
            }
            guard case .object(let members) = json else {
                throw AIQueryError("the options JSON must be an object such as '{\"failOnError\":false}', got \(json.kindName)")
            }
            if members.contains(where: { key, _ in canonicalName(key) != nil }) || members.isEmpty {
                for (key, value) in members { try options.set(key, .json(value)) }
            } else if json["type"] != nil {
                try options.set("responseFormat", .json(json))
            } else {
                throw AIQueryError(
                    "the options object has no known option (\(members.map(\.0).joined(separator: ", ").truncatedForMessage(80))); use \(names.joined(separator: ", "))")
            }
            return options
        }
        if case .text(let first, _) = args[0], canonicalName(first) != nil {
            guard args.count % 2 == 0 else {
                throw AIQueryError("options must be name/value pairs; '\(args.last?.text?.truncatedForMessage(40) ?? "")' has no value")
            }
            for pair in stride(from: 0, to: args.count, by: 2) {
                let name = try requireText(args[pair], what: "an option name")
                try options.set(name, .sql(args[pair + 1]))
            }
            return options
        }
        guard args.count == 2, let typeText = args[0].text, (try? DataType.parse(typeText)) != nil else {
            throw AIQueryError(
                "unknown option '\(args[0].text?.truncatedForMessage(40) ?? args[0].typeName)'; options are name/value pairs with names \(names.joined(separator: ", "))")
        }
        try options.set("returnType", .sql(args[0]))
        try options.set("failOnError", .sql(args[1]))
        return options
    }

    static func canonicalName(_ name: String) -> String? {
        names.first { $0.lowercased() == name.lowercased() }
    }

    static func requireText(_ argument: SQLArgument, what: String) throws(AIQueryError) -> String {
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
        func json(option: String) throws(AIQueryError) -> JSONValue {
            switch self {
            case .json(.string(let text)), .sql(.text(let text, _)):
                do { return try JSONValue.parse(text) } catch {
                    throw AIQueryError("\(option) must be JSON: \(error)")
                }
            case .json(let value): return value
            case .sql(let argument): throw AIQueryError("\(option) must be JSON text, got \(argument.typeName)")
            }
        }

        /// The value as JSON, for a setting's check: SQL numbers stay numbers, text stays text.
        func settingValue(option: String) throws(AIQueryError) -> JSONValue {
            switch self {
            case .json(let value): return value
            case .sql(.integer(let i)): return .integer(i)
            case .sql(.double(let d)): return .double(d)
            case .sql(.text(let text, _)): return .string(text)
            case .sql(.null): return .null
            case .sql(.blob): throw AIQueryError("\(option) must be a number or text, got a BLOB")
            }
        }

        var text: String? {
            switch self {
            case .sql(let argument): return argument.text
            case .json(let value): return value.stringValue ?? value.serialized()
            }
        }
    }

    mutating func set(_ rawName: String, _ value: Value) throws(AIQueryError) {
        guard let name = Self.canonicalName(rawName) else {
            throw AIQueryError("unknown option '\(rawName.truncatedForMessage(40))'; use \(Self.names.joined(separator: ", "))")
        }
        switch name {
        case "failOnError": failOnError = try Self.boolean(value, option: name)
        case "returnType":
            guard let text = value.text else { throw AIQueryError("returnType must be a type name such as 'STRING' or 'ARRAY<FLOAT>'") }
            returnType = try DataType.parse(text)
        case "modelParameters": request.modelParameters = try Self.modelParameters(value.json(option: name))
        case "responseFormat": request.responseFormat = try Self.responseFormat(value)
        default:
            guard let setting = Setting.named(name, in: .call) else { return }
            // null (in JSON or SQL) leaves the setting to the connection, the endpoint or the default.
            let given = try value.settingValue(option: name)
            settings[setting] = given.isNull ? nil : try setting.parse(given, label: name)
        }
    }

    static func boolean(_ value: Value, option: String) throws(AIQueryError) -> Bool {
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

    /// Checked like Databricks' AI_FUNCTION_INVALID_MODEL_PARAMETERS: request fields are refused, the parameters
    /// ``RequestParameters`` knows are type- and bound-checked, anything else passes through to the endpoint.
    static func modelParameters(_ json: JSONValue) throws(AIQueryError) -> [(String, JSONValue)] {
        guard case .object(let members) = json else {
            throw AIQueryError("modelParameters must be a JSON object such as '{\"max_tokens\":100,\"temperature\":0.7}', got \(json.kindName)")
        }
        for (key, value) in members {
            if reservedParameters.contains(key) {
                throw AIQueryError(
                    "modelParameters: the \"\(key)\" parameter belongs in the request argument, not in modelParameters (AI_FUNCTION_INVALID_MODEL_PARAMETERS.FOUND_RESERVED_PARAMETER_NAME)"
                )
            }
            if key == "stream" || key == "stream_options" {
                throw AIQueryError(
                    "modelParameters: \"\(key)\" is not set by hand: ai_query answers whole, and aiquery serve streams when its caller asks (AI_FUNCTION_INVALID_MODEL_PARAMETERS.FOUND_RESERVED_PARAMETER_NAME)")
            }
            do throws(RequestParameters.Problem) {
                try RequestParameters.check(key, value)
            } catch {
                throw AIQueryError("modelParameters: \(error.message) (AI_FUNCTION_INVALID_MODEL_PARAMETERS.INVALID_NUMERIC_PARAMETER)")
            }
        }
        return members
    }

    /// `'text'`, `'{"type":"json_object"}'`, an OpenAI json_schema, a bare JSON schema, or a DDL `STRUCT<…>`.
    static func responseFormat(_ value: Value) throws(AIQueryError) -> JSONValue? {
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

    static func responseFormatJSON(_ json: JSONValue, unsupported: String) throws(AIQueryError) -> JSONValue? {
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
