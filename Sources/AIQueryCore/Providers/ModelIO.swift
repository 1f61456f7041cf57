/// The request argument of ai_query: a prompt, or a whole JSON body (from `json(...)` / `json_object(...)`).
public enum ModelInput: Sendable {
    case text(String)
    case json(JSONValue)
}

/// What an endpoint answered, before SQL typing.
public enum ModelOutput: Sendable, Equatable {
    case text(String)
    case embedding([Float])
    case json(JSONValue)
}

/// Per-call options, already validated by the SQL layer.
public struct QueryOptions: Sendable {
    /// Merged into the request body at the top level (max_tokens, temperature, …).
    public var modelParameters: [(String, JSONValue)] = []
    /// Sent as `response_format`; nil for plain text.
    public var responseFormat: JSONValue?
    /// Seconds for one HTTP attempt.
    public var timeout: Double = 300
    public var retry = RetryPolicy()
    public var cache = CachePolicy()

    public init() {}
}
