/// The labels of `ai_classify`, `ai_extract` and `ai_mask`: a JSON array of names, or (Databricks' v2 form) a JSON
/// object of name → description. SQLite has no ARRAY, so `json_array('a', 'b')` or the text `'["a","b"]'`.
public struct TaskLabels: Sendable, Equatable {
    public var names: [String]
    /// Descriptions by label, for the object form.
    public var descriptions: [String: String]
    /// Given as an object: `ai_classify` then answers in the v2 shape.
    public var isObjectForm: Bool

    public static let maxLabels = 500
    public static let maxLabelLength = 100

    /// `noun`: what the function calls them in its error messages (labels, fields, entity types).
    public static func parse(_ argument: SQLArgument, minimum: Int, noun: String = "labels") throws(AIQueryError) -> TaskLabels {
        let shape = "\(noun) must be a JSON array of \(minimum) to \(maxLabels) strings, e.g. json_array('billing', 'bug', 'other')"
        guard case .text(let text, _) = argument else { throw AIQueryError("\(shape); got \(argument.typeName)") }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw AIQueryError("\(shape) or an object of label → description; got text that is not JSON") }
        var names: [String] = []
        var descriptions: [String: String] = [:]
        switch json {
        case .array(let items):
            for item in items {
                guard let name = item.stringValue else { throw AIQueryError("\(shape); it holds \(item.kindName)") }
                names.append(name)
            }
        case .object(let members):
            for (name, description) in members {
                guard let text = description.stringValue ?? (description.isNull ? "" : nil) else {
                    throw AIQueryError("\(noun) as an object map each label to a description (text); '\(name.truncatedForMessage(40))' maps to \(description.kindName)")
                }
                names.append(name)
                if !text.isEmpty { descriptions[name] = text }
            }
        default:
            throw AIQueryError("\(shape); got \(json.kindName)")
        }
        guard (minimum...maxLabels).contains(names.count) else { throw AIQueryError("\(shape); got \(names.count)") }
        var seen = Set<String>()
        for name in names {
            let trimmed = name.trimmed()
            guard !trimmed.isEmpty, trimmed.unicodeScalars.count <= maxLabelLength else {
                throw AIQueryError("each of the \(noun) must be 1 to \(maxLabelLength) characters; '\(name.truncatedForMessage(40))' is not")
            }
            guard seen.insert(trimmed.lowercased()).inserted else { throw AIQueryError("\(noun) must be distinct; '\(trimmed.truncatedForMessage(40))' appears twice") }
        }
        return TaskLabels(names: names.map { $0.trimmed() }, descriptions: descriptions, isObjectForm: json.objectValue != nil)
    }

    /// The label a model's answer names: exactly (ignoring case and surrounding punctuation), else the one label
    /// the answer mentions as a word; nil when it names none or several.
    public func match(_ answer: String) -> String? {
        let cleaned = answer.trimmed().trimmingCharacters(in: "\"'`.,;:!*[](){}").lowercased()
        if let exact = names.first(where: { $0.lowercased() == cleaned }) { return exact }
        let words = TaskText.words(answer.lowercased())
        let mentioned = names.filter { label in
            let labelWords = TaskText.words(label.lowercased())
            guard !labelWords.isEmpty, labelWords.count <= words.count else { return false }
            return (0...(words.count - labelWords.count)).contains { Array(words[$0..<$0 + labelWords.count]) == labelWords }
        }
        return mentioned.count == 1 ? mentioned[0] : nil
    }
}

/// Small text helpers the task functions share.
enum TaskText {
    /// Lowercase-insensitive words: runs of letters, digits and apostrophes.
    static func words(_ text: String) -> [Substring] {
        text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "'" || $0 == "_" || $0 == "-") })
    }

    /// The first JSON object or array in a model's answer (models wrap JSON in prose or code fences).
    static func json(in text: String) -> JSONValue? {
        if let whole = try? JSONValue.parse(text.trimmed()) { return whole }
        guard let start = text.firstIndex(where: { $0 == "{" || $0 == "[" }) else { return nil }
        let closer: Character = text[start] == "{" ? "}" : "]"
        guard let end = text.lastIndex(of: closer), end > start else { return nil }
        return try? JSONValue.parse(String(text[start...end]))
    }

    /// At most `limit` words, cut at a word boundary.
    static func capped(_ text: String, words limit: Int) -> String {
        guard limit > 0 else { return text }
        var count = 0
        var inWord = false
        for index in text.indices {
            let isSpace = text[index].isWhitespace
            if !isSpace, !inWord {
                count += 1
                if count > limit { return String(text[..<index]).trimmed() }
            }
            inWord = !isSpace
        }
        return text
    }
}
