/// What an endpoint does, with MLflow's `endpoint_type` names.
public enum EndpointTask: String, Sendable, CaseIterable {
    case chat = "llm/v1/chat"
    case completions = "llm/v1/completions"
    case embeddings = "llm/v1/embeddings"
    /// A custom model: the request JSON goes out as-is and the answer comes back as JSON.
    case custom = "custom"

    /// Accepts `llm/v1/chat` and the short forms `chat`, `completions`, `embeddings`, `custom`.
    public init?(name: String) {
        let lower = name.lowercased()
        if let task = EndpointTask(rawValue: lower) { self = task; return }
        switch lower {
        case "chat": self = .chat
        case "completions", "completion": self = .completions
        case "embeddings", "embedding": self = .embeddings
        default: return nil
        }
    }

    /// Chat or completions: text made token by token.
    public var isGeneration: Bool { self == .chat || self == .completions }
}

/// The wire format spoken by an endpoint.
public enum ProviderKind: String, Sendable {
    /// Databricks model serving: `POST {host}/serving-endpoints/{name}/invocations`.
    case databricks
    /// OpenAI and every OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio, Azure OpenAI).
    case openai
    /// Anthropic's Messages API.
    case anthropic
    /// A model run inside this process (all-MiniLM-L6-v2 embeddings): no network at all.
    case local
}

/// Where an API key comes from. Keys are never stored in SQLite, only the name of the variable that holds one.
public enum SecretSource: Sendable, Equatable {
    case none
    case environment(String)
    /// Written in a configuration file (MLflow allows it); never shown anywhere.
    case literal(String)
    /// The Databricks workspace credentials (token, profile or OAuth) resolved at call time.
    case databricksWorkspace
}

/// An endpoint's limits: MLflow's `calls` per `renewal_period`, plus `tokens` per period (as Databricks AI
/// Gateway rate limits have) and `max_in_flight` concurrent requests.
public struct EndpointLimit: Sendable, Equatable {
    public var calls: Int?
    public var tokens: Int?
    public var renewalPeriod: String = "minute"
    public var maxInFlight: Int?

    public init(calls: Int? = nil, tokens: Int? = nil, renewalPeriod: String = "minute", maxInFlight: Int? = nil) {
        self.calls = calls
        self.tokens = tokens
        self.renewalPeriod = renewalPeriod
        self.maxInFlight = maxInFlight
    }

    /// Seconds in the renewal period.
    public var window: Double {
        switch renewalPeriod {
        case "second": return 1
        case "hour": return 3600
        case "day": return 86400
        default: return 60
        }
    }
}

/// A configured model endpoint.
public struct Endpoint: Sendable {
    public var name: String
    /// nil until known: a Databricks endpoint's task is looked up from the workspace on first use.
    public var task: EndpointTask?
    public var provider: ProviderKind
    /// The provider's model name (OpenAI `model`, Databricks serving endpoint name).
    public var model: String?
    /// Base URL: OpenAI-style `…/v1`, Anthropic's API root, or a Databricks workspace host.
    public var url: String
    public var apiKey: SecretSource
    /// Where the definition came from: `session`, `config:<path>` or `databricks`.
    public var source: String
    public var limit: EndpointLimit?
    /// Settings from the definition (`max_retries`, `timeout`, `deadline`, `concurrency`, `batch_size`); call
    /// options and ai_config override them.
    public var settings = SettingLayer()
    /// Dollars per million tokens, for the cost column of ai_usage.
    public var price: UsageLedger.Price?
    /// How to get what a built-in endpoint needs when it is missing (the local models: how to install them).
    public var startHint: String?
    /// Azure OpenAI: the deployment and API version, which change the URL and the key header.
    public var azureDeployment: String?
    public var azureAPIVersion: String?
    public var azureUsesEntraToken = false
    public var openAIOrganization: String?
    public var anthropicVersion = "2023-06-01"

    public init(
        name: String, task: EndpointTask?, provider: ProviderKind, model: String?, url: String, apiKey: SecretSource,
        source: String
    ) {
        self.name = name
        self.task = task
        self.provider = provider
        self.model = model
        self.url = url
        self.apiKey = apiKey
        self.source = source
    }

    /// The URL requests are posted to.
    public func invocationURL(task: EndpointTask) -> String {
        provider.implementation.url(for: self, task: task)
    }
}
