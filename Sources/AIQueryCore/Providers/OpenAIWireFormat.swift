/// The OpenAI request and response shapes, which Databricks model serving speaks too: `messages` / `prompt` /
/// `input` bodies, `choices[0]` answers, `data[i].embedding` vectors.
enum OpenAIWireFormat {
    static func body(
        for input: ModelInput, task: EndpointTask, endpoint: Endpoint, options: RequestOptions, includesModel: Bool
    ) throws(AIQueryError) -> JSONValue {
        var body: JSONValue
        switch (task, input) {
        case (.custom, .json(let json)): body = json
        case (.custom, .text(let text)): body = .object([("inputs", .array([.string(text)]))])
        case (.chat, .text(let text)): body = .object([("messages", .array([RequestBodies.userMessage(text)]))])
        case (.completions, .text(let text)): body = .object([("prompt", .string(text))])
        case (.embeddings, .text(let text)): body = .object([("input", .string(text))])
        case (_, .json(let json)): body = try RequestBodies.structuredBody(json, task: task, endpoint: endpoint)
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
        if includesModel, body["model"] == nil, let model = endpoint.model, task != .custom {
            body = .object([("model", .string(model))] + (body.objectValue ?? []))
        }
        return body
    }

    static func response(from json: JSONValue, endpoint: Endpoint, task: EndpointTask) throws(AIQueryError) -> ModelResponse {
        let choice = json["choices"]?[0]
        let finish = choice?["finish_reason"]?.stringValue
        switch task {
        case .chat:
            guard let message = choice?["message"] else { throw RequestBodies.missing("choices[0].message", in: json, endpoint: endpoint) }
            switch message["content"] {
            case .string(let text)?: return ModelResponse(output: .text(text), finishReason: finish)
            case .array(let blocks)?: return ModelResponse(output: .text(RequestBodies.joinedText(blocks)), finishReason: finish)
            default:
                if let refusal = message["refusal"]?.stringValue {
                    throw AIQueryError(.invalidResponse, "endpoint '\(endpoint.name)' refused: \(refusal.truncatedForMessage())")
                }
                throw RequestBodies.missing("choices[0].message.content", in: json, endpoint: endpoint)
            }
        case .completions:
            guard let text = choice?["text"]?.stringValue else { throw RequestBodies.missing("choices[0].text", in: json, endpoint: endpoint) }
            return ModelResponse(output: .text(text), finishReason: finish)
        case .embeddings:
            guard let first = json["data"]?[0]?["embedding"] else { throw RequestBodies.missing("data[0].embedding", in: json, endpoint: endpoint) }
            return ModelResponse(output: .embedding(try embedding(first, endpoint: endpoint)))
        case .custom:
            if let predictions = json["predictions"] {
                if let items = predictions.arrayValue, items.count == 1 { return ModelResponse(output: .json(items[0])) }
                return ModelResponse(output: .json(predictions))
            }
            return ModelResponse(output: .json(json["outputs"] ?? json))
        }
    }

    /// `data[i]` answers input `index` i (the order of `data` itself is not promised).
    static func embeddings(from json: JSONValue, count: Int, endpoint: Endpoint) throws(AIQueryError) -> [[Float]] {
        guard let items = json["data"]?.arrayValue, items.count == count else {
            throw AIQueryError(
                .invalidResponse,
                "endpoint '\(endpoint.name)' answered \(json["data"]?.arrayValue?.count ?? 0) embeddings for a batch of \(count) inputs")
        }
        var vectors = [[Float]?](repeating: nil, count: count)
        for (position, item) in items.enumerated() {
            let index = item["index"]?.int64Value.map(Int.init) ?? position
            guard vectors.indices.contains(index), vectors[index] == nil, let vector = item["embedding"] else {
                throw AIQueryError(.invalidResponse, "endpoint '\(endpoint.name)' answered a batch with a bad data[\(position)]")
            }
            vectors[index] = try embedding(vector, endpoint: endpoint)
        }
        let lengths = Set(vectors.map { $0?.count ?? 0 })
        guard lengths.count == 1 else {
            throw AIQueryError(
                .invalidResponse,
                "endpoint '\(endpoint.name)' answered embeddings of different lengths (\(lengths.sorted().map(String.init).joined(separator: ", "))) for one batch of \(count) inputs")
        }
        return vectors.map { $0 ?? [] }
    }

    /// A list of numbers, or `encoding_format: "base64"` little-endian float32.
    static func embedding(_ value: JSONValue, endpoint: Endpoint) throws(AIQueryError) -> [Float] {
        if let items = value.arrayValue {
            var vector: [Float] = []
            vector.reserveCapacity(items.count)
            for item in items {
                guard let number = item.doubleValue, number.isFinite else {
                    throw AIQueryError(.invalidResponse, "endpoint '\(endpoint.name)' returned an embedding with a non-number: \(item.serialized().truncatedForMessage(40))")
                }
                vector.append(Float(number))
            }
            return vector
        }
        if let text = value.stringValue, let bytes = Base64.decode(text), bytes.count % 4 == 0 {
            var vector: [Float] = []
            vector.reserveCapacity(bytes.count / 4)
            for i in stride(from: 0, to: bytes.count, by: 4) {
                let bits = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
                vector.append(Float(bitPattern: bits))
            }
            return vector
        }
        throw AIQueryError(.invalidResponse, "endpoint '\(endpoint.name)' returned an embedding that is neither a number list nor base64")
    }
}
