/// One wire format: how a request body, its URL and headers are made for a provider, and how its answers are
/// read. Adding a provider, or translating between API dialects, is one new conforming type.
public protocol Provider: Sendable {
    /// The JSON body of one request, the way Databricks' ai_query builds it: the prompt becomes one user message
    /// (chat), `prompt` (completions) or `input` (embeddings), and modelParameters are merged at the top level.
    func body(for input: ModelInput, task: EndpointTask, endpoint: Endpoint, options: RequestOptions) throws(AIQueryError) -> JSONValue
    /// Where requests are posted.
    func url(for endpoint: Endpoint, task: EndpointTask) -> String
    /// Authentication and protocol headers, given the call's secret (an API key or a workspace token).
    func headers(for endpoint: Endpoint, secret: String?) -> [(String, String)]
    /// The answer in a successful body (usage and the raw body are filled in by the pipeline).
    func response(from json: JSONValue, endpoint: Endpoint, task: EndpointTask) throws(AIQueryError) -> ModelResponse
    /// Whether several embeddings inputs can share one request (`"input": [text, …]`).
    var batchesEmbeddings: Bool { get }
    /// The vectors of a batched embeddings answer, in input order.
    func embeddings(from json: JSONValue, count: Int, endpoint: Endpoint) throws(AIQueryError) -> [[Float]]
    /// A model run inside this process instead of over HTTP; nil for HTTP providers.
    var inProcess: (any InProcessModel)? { get }
    /// How chat and completions answers stream from this provider; nil when they do not.
    var streamFormat: StreamFormat? { get }
}

extension Provider {
    public var batchesEmbeddings: Bool { false }
    public var inProcess: (any InProcessModel)? { nil }
    public var streamFormat: StreamFormat? { nil }

    public func embeddings(from json: JSONValue, count: Int, endpoint: Endpoint) throws(AIQueryError) -> [[Float]] {
        throw AIQueryError(.internalError, "endpoint '\(endpoint.name)' cannot batch embeddings")
    }
}

/// A model that answers in this process: no URL, no key, no retries.
public protocol InProcessModel: Sendable {
    /// One vector per text, in order, and the tokens they cost.
    func embed(_ texts: [String], endpoint: Endpoint, host: LocalModelHost) throws(AIQueryError) -> (vectors: [[Float]], tokens: Int)
    /// A chat or completions answer to one request body (OpenAI's shape), its text passed to `onDelta` as it is
    /// decoded; `control` is asked between tokens.
    func generate(
        _ body: JSONValue, task: EndpointTask, endpoint: Endpoint, host: LocalModelHost, control: CallControl, onDelta: (@Sendable (String) -> Void)?
    ) throws(AIQueryError) -> ModelResponse
}

extension ProviderKind {
    /// The wire format behind this kind.
    public var implementation: any Provider {
        switch self {
        case .openai: return OpenAIProvider()
        case .databricks: return DatabricksProvider()
        case .anthropic: return AnthropicProvider()
        case .local: return LocalProvider()
        }
    }
}
