/// Anthropic's Messages API: system prompts go in `system`, `max_tokens` is required, `stop` is `stop_sequences`.
struct AnthropicProvider: Provider {
    func body(for input: ModelInput, task: EndpointTask, endpoint: Endpoint, options: RequestOptions) throws(AIQueryError) -> JSONValue {
        guard task == .chat else {
            throw AIQueryError(
                .invalidConfiguration,
                "endpoint '\(endpoint.name)' uses the anthropic provider, which supports chat only (task llm/v1/chat), not \(task.rawValue)")
        }
        if options.responseFormat != nil {
            throw AIQueryError(
                "responseFormat is not supported by the anthropic provider (endpoint '\(endpoint.name)'); ask for JSON in the prompt instead")
        }
        var body: JSONValue
        switch input {
        case .text(let text): body = .object([("messages", .array([RequestBodies.userMessage(text)]))])
        case .json(let json): body = try RequestBodies.structuredBody(json, task: .chat, endpoint: endpoint)
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

    var streamFormat: StreamFormat? { .anthropic }

    func url(for endpoint: Endpoint, task: EndpointTask) -> String {
        endpoint.url.hasSuffix("/v1") ? "\(endpoint.url)/messages" : "\(endpoint.url)/v1/messages"
    }

    func headers(for endpoint: Endpoint, secret: String?) -> [(String, String)] {
        (secret.map { [("x-api-key", $0)] } ?? []) + [("anthropic-version", endpoint.anthropicVersion)]
    }

    func response(from json: JSONValue, endpoint: Endpoint, task: EndpointTask) throws(AIQueryError) -> ModelResponse {
        guard let blocks = json["content"]?.arrayValue else { throw RequestBodies.missing("content", in: json, endpoint: endpoint) }
        return ModelResponse(output: .text(RequestBodies.joinedText(blocks)), finishReason: json["stop_reason"]?.stringValue)
    }
}
