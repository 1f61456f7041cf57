import Synchronization

/// The endpoints that work with no configuration, no key and no network, all computed in this process:
/// - `local-minilm`: all-MiniLM-L6-v2 sentence embeddings (384 floats);
/// - `local-gemma`: Gemma 3 270M (a small base model) for completions, by llama.cpp;
/// - `local-chat`: SmolLM2-135M-Instruct (follows instructions) for chat, by llama.cpp.
/// The two GGUF files and llama.cpp's library come from `scripts/local-llm install`, in aiquery's home.
public enum LocalModels {
    public static let miniLMModel = "all-MiniLM-L6-v2"
    /// The `source` of the built-in endpoints, as ai_endpoints lists it.
    public static let source = "built-in"
    static let installHint = "install the local models with scripts/local-llm install (from the aiquery checkout)"

    /// aiquery's home, where `scripts/local-llm install` puts llama.cpp (`llm-venv/`) and the GGUF models
    /// (`models/`): `AIQUERY_HOME`, else `~/.cache/aiquery`.
    public static var home: String {
        System.expandingTilde(System.environment("AIQUERY_HOME").flatMap { $0.isEmpty ? nil : $0 } ?? "~/.cache/aiquery")
    }
    public static var modelsFolder: String { home + "/models" }

    /// Read once per process (the environment decides where the models are): resolving a name runs on every row.
    public static let builtIn: [Endpoint] = {
        var minilm = Endpoint(
            name: "local-minilm", task: .embeddings, provider: .local, model: miniLMModel, url: "", apiKey: .none, source: source)
        minilm.settings[.batchSize] = .count(32)
        minilm.settings[.concurrency] = .count(1)
        func gguf(_ name: String, _ task: EndpointTask, _ file: String) -> Endpoint {
            let path = modelsFolder + "/" + file
            var endpoint = Endpoint(
                name: name, task: task, provider: .local, model: LlamaModel.name(of: path), url: path, apiKey: .none, source: source)
            endpoint.startHint = installHint
            endpoint.settings[.concurrency] = .count(Int(LlamaModel.sequences))
            return endpoint
        }
        return [
            minilm, gguf("local-gemma", .completions, "gemma-3-270m-q4_k_m.gguf"),
            gguf("local-chat", .chat, "SmolLM2-135M-Instruct.Q4_1.gguf"),
        ]
    }()

    /// What the `local` provider runs.
    static let runner = MiniLMRunner()
}

/// The local provider's models: all-MiniLM-L6-v2 embeddings, several rows in one pass; GGUF models for chat and
/// completions through llama.cpp (``LlamaRunner``).
struct MiniLMRunner: InProcessModel {
    func generate(
        _ body: JSONValue, task: EndpointTask, endpoint: Endpoint, host: LocalModelHost, control: CallControl, onDelta: (@Sendable (String) -> Void)?
    ) throws(AIQueryError) -> ModelResponse {
        try LlamaRunner.generate(body, task: task, model: try host.llama(for: endpoint), control: control, onDelta: onDelta)
    }

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
    private let llamas = Mutex<[String: LlamaModel]>([:])
    /// Loads of a GGUF model, one at a time (two rows asking at once must not load it twice).
    private let loading = Mutex(())

    /// The GGUF model of an endpoint, loaded on first use and kept for the runtime's life.
    func llama(for endpoint: Endpoint) throws(AIQueryError) -> LlamaModel {
        let path = System.expandingTilde(endpoint.url)
        if let known = llamas.withLock({ $0[path] }) { return known }
        return try loading.withLock { _ throws(AIQueryError) in
            if let raced = llamas.withLock({ $0[path] }) { return raced }
            let model: LlamaModel
            do throws(AIQueryError) {
                model = try LlamaModel.load(path, threads: LlamaRunner.threads)
            } catch {
                // A built-in endpoint's file or library is missing: say how to get them, not only what is missing.
                guard let hint = endpoint.startHint, endpoint.source == LocalModels.source, error.code == .invalidConfiguration,
                    !error.message.contains("scripts/local-llm")
                else { throw error }
                throw AIQueryError(error.code, error.message + "; " + hint)
            }
            llamas.withLock { $0[path] = model }
            return model
        }
    }

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
