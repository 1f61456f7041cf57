/// Builds the JSON body each provider expects for a task, the way Databricks' ai_query does: the prompt
/// becomes one user message (chat), `prompt` (completions) or `input` (embeddings), and modelParameters are
/// merged at the top level.
public enum RequestBuilder {
    public static func body(
        endpoint: Endpoint, task: EndpointTask, input: ModelInput, options: QueryOptions
    ) throws -> JSONValue {
        if endpoint.provider == .anthropic {
            return try anthropicBody(endpoint: endpoint, task: task, input: input, options: options)
        }
        var body: JSONValue
        switch (task, input) {
        case (.custom, .json(let json)):
            body = json
        case (.custom, .text(let text)):
            body = .object([("inputs", .array([.string(text)]))])
        case (.chat, .text(let text)):
            body = .object([("messages", .array([userMessage(text)]))])
        case (.completions, .text(let text)):
            body = .object([("prompt", .string(text))])
        case (.embeddings, .text(let text)):
            body = .object([("input", .string(text))])
        case (_, .json(let json)):
            body = try structuredBody(json, task: task, endpoint: endpoint)
        }
        if task == .custom, !options.modelParameters.isEmpty {
            throw AIQueryError(
                "modelParameters is not supported for custom model endpoint '\(endpoint.name)' (AI_FUNCTION_INVALID_MODEL_PARAMETERS.UNSUPPORTED_ENDPOINT_TYPE)"
            )
        }
        for (key, value) in options.modelParameters { body = body.setting(key, value) }
        if let format = options.responseFormat {
            guard task == .chat else {
                throw AIQueryError("responseFormat works with chat endpoints only; '\(endpoint.name)' is \(task.rawValue)")
            }
            body = body.setting("response_format", format)
        }
        if endpoint.provider == .openai || endpoint.provider == .local, body["model"] == nil, let model = endpoint.model, task != .custom {
            body = .object([("model", .string(model))] + (body.objectValue ?? []))
        }
        return body
    }

    static func userMessage(_ text: String) -> JSONValue {
        .object([("role", .string("user")), ("content", .string(text))])
    }

    /// A full request body given as JSON: it must carry the field the task needs.
    static func structuredBody(_ json: JSONValue, task: EndpointTask, endpoint: Endpoint) throws -> JSONValue {
        let field: String
        switch task {
        case .chat: field = "messages"
        case .completions: field = "prompt"
        case .embeddings: field = "input"
        case .custom: return json
        }
        if task == .chat, case .array = json { return .object([("messages", json)]) }
        guard case .object = json, json[field] != nil else {
            throw AIQueryError(
                "a JSON request for \(task.rawValue) endpoint '\(endpoint.name)' must be an object with '\(field)'; pass plain text to send a prompt"
            )
        }
        return json
    }

    /// Anthropic's Messages API: system prompts go in `system`, `max_tokens` is required, `stop` is `stop_sequences`.
    static func anthropicBody(
        endpoint: Endpoint, task: EndpointTask, input: ModelInput, options: QueryOptions
    ) throws -> JSONValue {
        guard task == .chat else {
            throw AIQueryError(
                "endpoint '\(endpoint.name)' uses the anthropic provider, which supports chat only (task llm/v1/chat), not \(task.rawValue)")
        }
        if options.responseFormat != nil {
            throw AIQueryError(
                "responseFormat is not supported by the anthropic provider (endpoint '\(endpoint.name)'); ask for JSON in the prompt instead")
        }
        var body: JSONValue
        switch input {
        case .text(let text):
            body = .object([("messages", .array([userMessage(text)]))])
        case .json(let json):
            body = try structuredBody(json, task: .chat, endpoint: endpoint)
        }
        if let messages = body["messages"]?.arrayValue {
            let system = messages.filter { $0["role"]?.stringValue == "system" }
            if !system.isEmpty {
                let text = system.compactMap { $0["content"]?.stringValue }.joined(separator: "\n")
                body = body.setting("messages", .array(messages.filter { $0["role"]?.stringValue != "system" }))
                if body["system"] == nil { body = body.setting("system", .string(text)) }
            }
        }
        for (key, value) in options.modelParameters {
            body = body.setting(key == "stop" ? "stop_sequences" : key, value)
        }
        if let stop = body["stop"] {
            body = body.removing("stop").setting("stop_sequences", stop)
        }
        if case .string(let single)? = body["stop_sequences"] { body = body.setting("stop_sequences", .array([.string(single)])) }
        if body["max_tokens"] == nil { body = body.setting("max_tokens", .integer(1024)) }
        if body["model"] == nil, let model = endpoint.model {
            body = .object([("model", .string(model))] + (body.objectValue ?? []))
        }
        return body
    }
}
