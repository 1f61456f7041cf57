import Synchronization

/// The endpoints that work with no configuration, no key and no network:
/// - `local-minilm`: all-MiniLM-L6-v2 sentence embeddings (384 floats), computed in this process;
/// - `local-gemma`: Gemma 3 270M (a small base model) for completions, served on loopback by llama.cpp's
///   OpenAI-compatible server, which `scripts/local-llm start` installs and starts.
public enum LocalModels {
    public static let miniLMModel = "all-MiniLM-L6-v2"
    /// The `source` of the built-in endpoints, as ai_endpoints lists it.
    public static let source = "built-in"

    /// Read once per process (the environment decides local-gemma's URL): resolving a name runs on every row.
    public static let builtIn: [Endpoint] = {
        var minilm = Endpoint(
            name: "local-minilm", task: .embeddings, provider: .local, model: miniLMModel, url: "", apiKey: .none, source: source)
        minilm.settings[.batchSize] = .count(32)
        minilm.settings[.concurrency] = .count(1)
        let port = System.environment("AIQUERY_LOCAL_LLM_PORT") ?? "8765"
        let url = System.environment("AIQUERY_LOCAL_LLM_URL") ?? "http://127.0.0.1:\(port)/v1"
        var gemma = Endpoint(
            name: "local-gemma", task: .completions, provider: .openai, model: "local-gemma", url: url, apiKey: .none, source: source)
        gemma.startHint = "start the local model server with scripts/local-llm start (from the aiquery checkout)"
        // llama.cpp's server answers one request at a time; more in flight would only queue there.
        gemma.settings[.concurrency] = .count(1)
        return [minilm, gemma]
    }()

    /// What the `local` provider runs.
    static let runner = MiniLMRunner()
}

/// all-MiniLM-L6-v2 as an in-process model: several rows in one pass.
struct MiniLMRunner: InProcessModel {
    func embed(_ texts: [String], endpoint: Endpoint, host: LocalModelHost) throws(AIQueryError) -> (vectors: [[Float]], tokens: Int) {
        let embedder = try host.embedder(for: endpoint)
        let vectors = embedder.embed(texts)
        // Word pieces including [CLS] and [SEP], capped as the model caps them: what a hosted endpoint would bill.
        let tokens = texts.reduce(0) { $0 + min(embedder.tokenIDs($1).count, MiniLMEmbedder.maxTokens) }
        return (vectors, tokens)
    }
}

/// The local models a runtime has loaded, each once (their helper threads belong to the runtime that made them).
public final class LocalModelHost: Sendable {
    private let embedders = Mutex<[String: MiniLMEmbedder]>([:])

    public init() {}

    /// The embedder for an endpoint, loaded on first use (about 87 MB of weights, 0.1 s).
    func embedder(for endpoint: Endpoint) throws(AIQueryError) -> MiniLMEmbedder {
        guard (endpoint.model ?? LocalModels.miniLMModel) == LocalModels.miniLMModel else {
            throw AIQueryError(
                .invalidConfiguration, "endpoint '\(endpoint.name)': the local provider runs \(LocalModels.miniLMModel) only, not '\(endpoint.model ?? "")'")
        }
        let directory = endpoint.url.isEmpty ? nil : endpoint.url
        let key = directory ?? ""
        if let known = embedders.withLock({ $0[key] }) { return known }
        let embedder = try MiniLMEmbedder.load(from: directory)
        return embedders.withLock { loaded in
            if let raced = loaded[key] { return raced }  // another thread loaded it meanwhile: share that one
            loaded[key] = embedder
            return embedder
        }
    }
}
