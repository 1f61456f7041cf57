/// The parts of an endpoint definition both forms share: the key, the base URL, the provider and the task.
extension Endpoint {
    static func make(
        name: String, task: EndpointTask?, provider: ProviderKind, model: String?, url: String, keyText: String?,
        source: String, allowLiteralKeys: Bool
    ) throws(AIQueryError) -> Endpoint {
        var apiKey: SecretSource
        if let keyText, !keyText.isEmpty {
            if keyText.hasPrefix("$") {
                var variable = String(keyText.dropFirst())
                if variable.hasPrefix("{"), variable.hasSuffix("}") { variable = String(variable.dropFirst().dropLast()) }
                guard !variable.isEmpty, variable.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }) else {
                    throw AIQueryError(
                        .invalidConfiguration,
                        "endpoint '\(name)': api_key \"\(keyText.truncatedForMessage(40))\" must name an environment variable, like \"$OPENAI_API_KEY\" (letters, digits and _)")
                }
                apiKey = .environment(variable)
            } else if allowLiteralKeys {
                apiKey = .literal(keyText)
            } else {
                throw AIQueryError(
                    "endpoint '\(name)': api_key must name an environment variable, like \"$OPENAI_API_KEY\"; keys are never stored in SQL"
                )
            }
        } else {
            apiKey = defaultKey(provider: provider, url: url)
        }
        var baseURL = url
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        if provider == .databricks {
            baseURL = DatabricksWorkspace.normalizeHost(baseURL)
        }
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") || (provider == .databricks && baseURL.isEmpty) || provider == .local
        else {
            throw AIQueryError(.invalidConfiguration, "endpoint '\(name)': url must start with http:// or https://, got '\(url.truncatedForMessage(80))'")
        }
        if provider == .databricks, baseURL.isEmpty || apiKey == .none { apiKey = .databricksWorkspace }
        let implied: String? =
            switch provider {
            case .databricks: name
            case .local: LlamaModel.isGGUF(url) ? LlamaModel.name(of: url) : LocalModels.miniLMModel
            default: nil
            }
        guard let model = model ?? implied else {
            throw AIQueryError(.invalidConfiguration, "endpoint '\(name)': model is missing (the provider's model name, e.g. \"gpt-4o-mini\")")
        }
        var endpoint = Endpoint(name: name, task: task, provider: provider, model: model, url: baseURL, apiKey: apiKey, source: source)
        // An in-process MiniLM already uses every core for one batch; a GGUF model decodes as many rows at once as
        // its context has sequences.
        if provider == .local { endpoint.settings[.concurrency] = .count(LlamaModel.isGGUF(url) ? Int(LlamaModel.sequences) : 1) }
        return endpoint
    }

    /// Hosted APIs need a key, and have a conventional variable for it; local servers usually need none.
    static func defaultKey(provider: ProviderKind, url: String) -> SecretSource {
        switch provider {
        case .openai: return url.contains("api.openai.com") ? .environment("OPENAI_API_KEY") : .none
        case .anthropic: return url.contains("api.anthropic.com") ? .environment("ANTHROPIC_API_KEY") : .none
        case .databricks: return .databricksWorkspace
        case .local: return .none
        }
    }

    static func providerKind(_ name: String, endpoint: String) throws(AIQueryError) -> (ProviderKind, String) {
        switch name.lowercased() {
        case "openai", "openai_compatible", "openai-compatible", "azure", "azure_openai": return (.openai, "https://api.openai.com/v1")
        case "ollama": return (.openai, "http://localhost:11434/v1")
        case "vllm": return (.openai, "http://localhost:8000/v1")
        case "llamacpp", "llama.cpp", "llama-cpp": return (.openai, "http://localhost:8080/v1")
        case "lmstudio", "lm-studio": return (.openai, "http://localhost:1234/v1")
        case "anthropic": return (.anthropic, "https://api.anthropic.com")
        case "databricks", "databricks-model-serving": return (.databricks, "")
        case "local": return (.local, "")
        default:
            throw AIQueryError(
                .invalidConfiguration,
                "endpoint '\(endpoint)': unknown provider '\(name.truncatedForMessage(40))'; use openai (any OpenAI-compatible server), anthropic, databricks or local")
        }
    }

    static func parseTask(_ text: String, endpoint: String) throws(AIQueryError) -> EndpointTask {
        guard let task = EndpointTask(name: text) else {
            throw AIQueryError(
                .invalidConfiguration,
                "endpoint '\(endpoint)': unknown task '\(text.truncatedForMessage(40))'; use llm/v1/chat, llm/v1/completions, llm/v1/embeddings or custom")
        }
        return task
    }
}
