/// Models run inside this process (all-MiniLM-L6-v2 embeddings, and GGUF models through llama.cpp for chat and
/// completions): no URL, no key, no network.
struct LocalProvider: Provider {
    /// The body a hosted endpoint would get, for the dry run and the cache key.
    func body(for input: ModelInput, task: EndpointTask, endpoint: Endpoint, options: RequestOptions) throws(AIQueryError) -> JSONValue {
        if LlamaModel.isGGUF(endpoint.url) {
            guard task.isGeneration else {
                throw AIQueryError(
                    .invalidConfiguration, "endpoint '\(endpoint.name)' runs a GGUF model with llama.cpp; its task must be chat or completions")
            }
            return try OpenAIWireFormat.body(for: input, task: task, endpoint: endpoint, options: options, includesModel: false)
        }
        guard task == .embeddings else {
            throw AIQueryError(
                .invalidConfiguration,
                "endpoint '\(endpoint.name)' runs \(LocalModels.miniLMModel), an embeddings model; its task must be embeddings")
        }
        guard case .text = input else {
            throw AIQueryError("endpoint '\(endpoint.name)' takes text to embed, not a JSON request")
        }
        return try OpenAIWireFormat.body(for: input, task: task, endpoint: endpoint, options: options, includesModel: true)
    }

    func url(for endpoint: Endpoint, task: EndpointTask) -> String { "in-process \(endpoint.model ?? endpoint.name)" }

    func headers(for endpoint: Endpoint, secret: String?) -> [(String, String)] { [] }

    func response(from json: JSONValue, endpoint: Endpoint, task: EndpointTask) throws(AIQueryError) -> ModelResponse {
        try OpenAIWireFormat.response(from: json, endpoint: endpoint, task: task)
    }

    var batchesEmbeddings: Bool { true }
    var inProcess: (any InProcessModel)? { LocalModels.runner }
}
