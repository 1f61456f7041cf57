/// Request tags: a caller's labels for its calls (`{"team":"growth","job":"nightly"}`), kept in each call's
/// record of the call log for grouping usage. Given by `Databricks-Ai-Gateway-Request-Tags` on serve, by
/// `ai_config('request_tags', …)` or the `requestTags` option in SQL. Bounded, and kept as sorted JSON so equal
/// tags group together.
public enum RequestTags {
    public static let header = "Databricks-Ai-Gateway-Request-Tags"
    static let maxTags = 32
    static let maxKeyLength = 128
    static let maxValueLength = 512

    /// The tags as JSON text with sorted keys, from a JSON object of strings (numbers and booleans become text),
    /// or from text holding one; nil for an empty object. The message says what is wrong.
    public static func normalized(_ value: JSONValue, label: String = "request_tags") throws(AIQueryError) -> String? {
        func problem(_ detail: String) -> AIQueryError {
            AIQueryError("\(label) \(detail); give a JSON object of text values such as '{\"team\":\"growth\"}'")
        }
        var value = value
        if case .string(let text) = value {
            guard let parsed = try? JSONValue.parse(text) else { throw problem("is not JSON: '\(text.truncatedForMessage(60))'") }
            value = parsed
        }
        guard let entries = value.objectValue else { throw problem("must be a JSON object, got \(value.kindName)") }
        guard entries.count <= maxTags else { throw problem("has \(entries.count) tags; at most \(maxTags) are kept") }
        var tags: [(String, JSONValue)] = []
        for (key, entry) in entries {
            guard !key.isEmpty, key.count <= maxKeyLength else { throw problem("keys must be 1 to \(maxKeyLength) characters") }
            let text: String
            switch entry {
            case .string(let string): text = string
            case .integer, .double, .bool: text = entry.serialized()
            default: throw problem("tag '\(key.truncatedForMessage(40))' must be text, got \(entry.kindName)")
            }
            guard text.count <= maxValueLength else { throw problem("tag '\(key.truncatedForMessage(40))' is longer than \(maxValueLength) characters") }
            tags.append((key, .string(text)))
        }
        guard !tags.isEmpty else { return nil }
        return JSONValue.object(tags.sorted { $0.0 < $1.0 }).serialized()
    }
}
