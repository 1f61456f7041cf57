/// One call of a task function, its arguments checked: what it asks, and of which text.
public struct TaskCall: Sendable {
    public let function: TaskFunction
    public var content: String
    /// `ai_similarity`'s second text.
    public var other: String?
    public var labels: TaskLabels?
    /// `ai_extract`'s JSON schema form: the object schema the answer must follow.
    public var schema: JSONValue?
    /// `ai_summarize`'s cap; 0 = none.
    public var maxWords = 50
    /// `ai_translate`'s target, as an English name.
    public var language: String?
    public var instructions: String?
    public var multilabel = false
    /// Databricks' v2 answer shape, `{"response": …, "error_message": …}`: labels given as an object, options
    /// given, or an extraction schema.
    public var answersV2 = false

    public static let maxWordsLimit = 10_000

    /// The call, or nil when the text argument is NULL (NULL out, no call). Arguments are checked first, so a
    /// mistake in them fails the statement even on a NULL row.
    public static func make(_ function: TaskFunction, _ arguments: [SQLArgument]) throws(AIQueryError) -> TaskCall? {
        guard function.arity.contains(arguments.count) else {
            throw AIQueryError("expected \(function.usage), got \(arguments.count) argument\(arguments.count == 1 ? "" : "s")")
        }
        var call = TaskCall(function: function, content: "")
        switch function {
        case .gen, .fixGrammar, .analyzeSentiment, .similarity:
            break
        case .summarize:
            if arguments.count == 2 { call.maxWords = try maxWords(arguments[1]) }
        case .translate:
            call.language = try language(arguments[1])
        case .classify:
            call.labels = try TaskLabels.parse(arguments[1], minimum: 2)
            call.answersV2 = call.labels!.isObjectForm
            if arguments.count == 3 { try call.apply(options: arguments[2]) }
        case .extract:
            try call.readFields(arguments[1])
            if arguments.count == 3 { try call.apply(options: arguments[2]) }
        case .mask:
            call.labels = try TaskLabels.parse(arguments[1], minimum: 1, noun: "labels (the entity types to mask)")
        }
        guard var made = try call.with(text: arguments[0]) else { return nil }
        if function == .similarity {
            guard let other = try text(of: arguments[1], position: "second") else { return nil }
            made.other = other
        }
        return made
    }

    /// This call for another text (a row of ai_task_rows: the other arguments are checked once, not per row);
    /// nil for NULL.
    public func with(text argument: SQLArgument) throws(AIQueryError) -> TaskCall? {
        guard let text = try Self.text(of: argument, position: "first") else { return nil }
        var call = self
        call.content = text
        return call
    }

    private static func text(of argument: SQLArgument, position: String) throws(AIQueryError) -> String? {
        switch argument {
        case .null: return nil
        case .blob: throw AIQueryError("the \(position) argument must be text, got a BLOB")
        default: return argument.text ?? ""
        }
    }

    private static func maxWords(_ argument: SQLArgument) throws(AIQueryError) -> Int {
        let problem = "max_words must be a whole number from 0 (no limit) to \(maxWordsLimit)"
        switch argument {
        case .null: return 50
        case .integer(let n) where (0...Int64(maxWordsLimit)).contains(n): return Int(n)
        case .double(let d) where d.rounded() == d && (0...Double(maxWordsLimit)).contains(d): return Int(d)
        default: throw AIQueryError("\(problem), got \(argument.text?.truncatedForMessage(40) ?? argument.typeName)")
        }
    }

    private static func language(_ argument: SQLArgument) throws(AIQueryError) -> String {
        let wanted = argument.text?.trimmed().lowercased() ?? ""
        if let found = TaskFunction.languages.first(where: { $0.code == wanted || $0.name.lowercased() == wanted }) { return found.name }
        throw AIQueryError(
            "to_lang must be one of \(TaskFunction.languages.map(\.code).joined(separator: ", ")) (or its English name), got \(argument.text.map { "'\($0.truncatedForMessage(40))'" } ?? argument.typeName)")
    }

    /// ai_extract's second argument: a JSON array of field names, or a JSON schema of an object.
    private mutating func readFields(_ argument: SQLArgument) throws(AIQueryError) {
        if case .text(let text, _) = argument, let json = try? JSONValue.parse(text), json["properties"] != nil || json["type"] != nil {
            guard json["type"]?.stringValue == "object", let properties = json["properties"]?.objectValue, !properties.isEmpty else {
                throw AIQueryError(#"a schema must describe an object: {"type": "object", "properties": {"name": {"type": "string"}, …}}"#)
            }
            guard properties.count <= TaskLabels.maxLabels else { throw AIQueryError("a schema may have at most \(TaskLabels.maxLabels) properties") }
            schema = json
            labels = TaskLabels(names: properties.map(\.0), descriptions: [:], isObjectForm: false)
            answersV2 = true
            return
        }
        labels = try TaskLabels.parse(argument, minimum: 1, noun: "labels (the fields to extract)")
    }

    /// The JSON schema type of each property of an extraction schema.
    var schemaTypes: [String: String] {
        guard let properties = schema?["properties"]?.objectValue else { return [:] }
        var types: [String: String] = [:]
        for (name, property) in properties { if let type = property["type"]?.stringValue { types[name] = type } }
        return types
    }

    private static let optionNames = ["instructions", "multilabel", "version"]

    /// Databricks' options MAP, as a JSON object: `instructions`, `multilabel` (ai_classify), `version`.
    private mutating func apply(options argument: SQLArgument) throws(AIQueryError) {
        guard case .text(let text, _) = argument, let json = try? JSONValue.parse(text), let members = json.objectValue else {
            if argument.isNull { return }
            throw AIQueryError(#"options must be a JSON object such as json_object('instructions', 'Tickets from the EU shop', 'multilabel', 'true')"#)
        }
        for (name, value) in members {
            switch name.lowercased() {
            case "instructions":
                guard let text = value.stringValue, text.unicodeScalars.count <= 20_000 else {
                    throw AIQueryError("options.instructions must be text of at most 20,000 characters")
                }
                instructions = text
            case "multilabel" where function == .classify:
                guard let flag = value.boolValue ?? ["true": true, "false": false][value.stringValue?.lowercased() ?? ""] else {
                    throw AIQueryError("options.multilabel must be true or false, got \(value.serialized().truncatedForMessage(40))")
                }
                multilabel = flag
            case "version":
                guard value.stringValue != nil || value.doubleValue != nil else { throw AIQueryError("options.version must be text such as '2.0'") }
            default:
                let known = Self.optionNames.filter { $0 != "multilabel" || function == .classify }
                throw AIQueryError("unknown option '\(name.truncatedForMessage(40))'; \(function.name) takes \(known.joined(separator: ", "))")
            }
        }
        answersV2 = true
    }
}
