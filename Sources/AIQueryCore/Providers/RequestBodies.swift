/// What every provider's body shares: a JSON request body must carry the field its task needs.
enum RequestBodies {
    static func userMessage(_ text: String) -> JSONValue {
        .object([("role", .string("user")), ("content", .string(text))])
    }

    static func structuredBody(_ json: JSONValue, task: EndpointTask, endpoint: Endpoint) throws(AIQueryError) -> JSONValue {
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

    /// Text blocks joined in order; reasoning and other non-text blocks are skipped.
    static func joinedText(_ blocks: [JSONValue]) -> String {
        blocks.compactMap { block -> String? in
            if let text = block.stringValue { return text }
            guard block["type"]?.stringValue == "text" else { return nil }
            return block["text"]?.stringValue
        }.joined()
    }

    static func missing(_ path: String, in json: JSONValue, endpoint: Endpoint) -> AIQueryError {
        AIQueryError(.invalidResponse, "endpoint '\(endpoint.name)' returned JSON without \(path): \(json.serialized().truncatedForMessage(200))")
    }
}
