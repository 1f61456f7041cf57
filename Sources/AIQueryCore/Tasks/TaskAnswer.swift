/// What a task function returns, before SQL typing.
public enum TaskAnswer: Sendable, Equatable {
    case null
    case text(String)
    case json(JSONValue)
}

extension TaskCall {
    /// The model's answer, checked: a label that is one of the labels (or NULL), an object with exactly the asked
    /// keys, text with the entities masked. Whatever the model sent, the result has the documented shape.
    public func answer(from output: ModelOutput) -> TaskAnswer {
        let text: String
        switch output {
        case .text(let t): text = t
        case .json(let json): text = json.stringValue ?? json.serialized()
        case .embedding: return .null
        }
        switch function {
        case .gen, .translate, .fixGrammar:
            return .text(text.trimmed())
        case .summarize:
            return .text(TaskText.capped(text.trimmed(), words: maxWords))
        case .analyzeSentiment:
            let labels = TaskLabels(names: TaskFunction.sentiments, descriptions: [:], isObjectForm: false)
            let named = TaskText.json(in: text)?["sentiment"]?.stringValue ?? text
            return labels.match(named).map(TaskAnswer.text) ?? .null
        case .classify:
            return classified(text)
        case .extract:
            return extracted(text)
        case .mask:
            return .text(masked(text))
        case .similarity:
            return .null
        }
    }

    private func classified(_ text: String) -> TaskAnswer {
        let labels = labels ?? TaskLabels(names: [], descriptions: [:], isObjectForm: false)
        let json = TaskText.json(in: text)
        var chosen: [String] = []
        if multilabel {
            let named = json?["labels"]?.arrayValue?.compactMap(\.stringValue) ?? text.split(separator: ",").map(String.init)
            for name in named { if let label = labels.match(name), !chosen.contains(label) { chosen.append(label) } }
        } else if let label = labels.match(json?["label"]?.stringValue ?? text) {
            chosen = [label]
        }
        guard answersV2 else { return chosen.first.map(TaskAnswer.text) ?? .null }
        if chosen.isEmpty {
            return .json(.object([("response", .null), ("error_message", .string("the model's answer names none of the labels: \(text.truncatedForMessage(120))"))]))
        }
        return .json(.object([("response", .array(chosen.map(JSONValue.string))), ("error_message", .null)]))
    }

    private func extracted(_ text: String) -> TaskAnswer {
        let found = TaskText.json(in: text)?.objectValue
        var fields: [(String, JSONValue)] = []
        for name in labels?.names ?? [] {
            let value = found?.first(where: { $0.0 == name })?.1 ?? found?.first(where: { $0.0.lowercased() == name.lowercased() })?.1 ?? .null
            fields.append((name, schema == nil ? Self.flattened(value) : Self.typed(value, as: schemaTypes[name])))
        }
        let object = JSONValue.object(fields)
        guard answersV2 else { return .json(object) }
        let problem: JSONValue = found == nil ? .string("the model's answer is not a JSON object: \(text.truncatedForMessage(120))") : .null
        return .json(.object([("response", found == nil ? .null : object), ("error_message", problem)]))
    }

    /// A schema field as its schema's type says: a number out of "2.5 kg", true out of "yes"; null when it
    /// cannot be one. Other types pass as the model gave them.
    static func typed(_ value: JSONValue, as type: String?) -> JSONValue {
        switch type {
        case "number", "integer":
            let number: Double?
            if let direct = value.doubleValue {
                number = direct
            } else if let text = value.stringValue {
                let leading = text.trimmed().prefix { $0.isNumber || $0 == "." || $0 == "-" }
                number = Double(String(leading))
            } else {
                number = nil
            }
            guard let number, number.isFinite else { return .null }
            if type == "integer" { return number.rounded() == number && abs(number) < 9e15 ? .integer(Int64(number)) : .null }
            return number.rounded() == number && abs(number) < 9e15 ? .integer(Int64(number)) : .double(number)
        case "boolean":
            if let flag = value.boolValue { return .bool(flag) }
            switch value.stringValue?.trimmed().lowercased() {
            case "true", "yes": return .bool(true)
            case "false", "no": return .bool(false)
            default: return .null
            }
        case "string":
            if value.isNull { return .null }
            return .string(value.stringValue ?? value.serialized())
        default:
            return value
        }
    }

    /// A legacy field is text or null: numbers and booleans as their JSON text, empty and placeholder answers null.
    private static func flattened(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            let trimmed = text.trimmed()
            return trimmed.isEmpty || ["null", "none", "n/a", "unknown"].contains(trimmed.lowercased()) ? .null : .string(trimmed)
        case .null: return .null
        case .array, .object: return .string(value.serialized())
        default: return .string(value.serialized())
        }
    }

    /// The content with every entity the model listed replaced by [MASKED] — only strings that occur in the
    /// content, longest first — and, for the kinds a pattern finds reliably, those too: the text itself never
    /// comes from the model, so it cannot be rewritten or lost.
    public func masked(_ modelAnswer: String) -> String {
        let listed = TaskText.json(in: modelAnswer)
        var entities = (listed?["entities"]?.arrayValue ?? listed?.arrayValue ?? [])
            .compactMap { $0.stringValue?.trimmed() }
            .filter { $0.unicodeScalars.count >= 2 && content.contains($0) }
        entities += TaskPatterns.matches(in: content, kinds: labels?.names ?? [])
        var result = content
        for entity in Set(entities).sorted(by: { $0.count > $1.count }) {
            result = result.replacingAll(entity, with: "[MASKED]")
        }
        return result
    }
}
