/// OpenAI and every OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio, Azure OpenAI).
struct OpenAIProvider: Provider {
    func body(for input: ModelInput, task: EndpointTask, endpoint: Endpoint, options: RequestOptions) throws(AIQueryError) -> JSONValue {
        try OpenAIWireFormat.body(for: input, task: task, endpoint: endpoint, options: options, includesModel: true)
    }

    func url(for endpoint: Endpoint, task: EndpointTask) -> String {
        let path: String
        switch task {
        case .chat, .custom: path = "chat/completions"
        case .completions: path = "completions"
        case .embeddings: path = "embeddings"
        }
        if let deployment = endpoint.azureDeployment {
            return "\(endpoint.url)/openai/deployments/\(deployment)/\(path)?api-version=\(endpoint.azureAPIVersion ?? "2024-10-21")"
        }
        return "\(endpoint.url)/\(path)"
    }

    func headers(for endpoint: Endpoint, secret: String?) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let secret {
            // Azure takes its key in `api-key`; Entra ID tokens and everyone else use Bearer.
            let azureKey = endpoint.azureDeployment != nil && !endpoint.azureUsesEntraToken
            headers.append(azureKey ? ("api-key", secret) : ("Authorization", "Bearer \(secret)"))
        }
        if let organization = endpoint.openAIOrganization { headers.append(("OpenAI-Organization", organization)) }
        return headers
    }

    func response(from json: JSONValue, endpoint: Endpoint, task: EndpointTask) throws(AIQueryError) -> ModelResponse {
        try OpenAIWireFormat.response(from: json, endpoint: endpoint, task: task)
    }

    /// OpenAI-compatible servers report a streamed answer's usage when asked (`stream_options`).
    var streamFormat: StreamFormat? { .openAI(includeUsage: true) }

    var batchesEmbeddings: Bool { true }

    func embeddings(from json: JSONValue, count: Int, endpoint: Endpoint) throws(AIQueryError) -> [[Float]] {
        try OpenAIWireFormat.embeddings(from: json, count: count, endpoint: endpoint)
    }
}
