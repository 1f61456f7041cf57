/// Reads an endpoint definition, written either flat (`{"provider","task","model","url","api_key"}`, the form
/// `ai_endpoint_set` documents) or as one MLflow AI Gateway `endpoints:` entry
/// (`{"endpoint_type", "model": {"provider","name","config": {...}}, "limit"}`).
extension Endpoint {
    static let flatKeys: Set<String> = [
        "name", "provider", "task", "endpoint_type", "model", "url", "api_base", "base_url", "api_key", "api_key_env",
        "limit", "anthropic_version", "api_version", "deployment", "organization", "host", "token", "rpm", "tpm",
        "max_in_flight", "max_retries", "timeout", "deadline", "concurrency", "batch_size", "price",
    ]
    static let mlflowKeys: Set<String> = [
        "name", "endpoint_type", "route_type", "model", "limit", "max_retries", "timeout", "deadline", "concurrency",
        "batch_size", "price",
    ]

    /// - Parameter allowLiteralKeys: files may hold a key itself (as MLflow allows); SQL may only name a variable,
    ///   so that no key ever lands in a database or a shell history.
    public static func parse(
        name: String, spec: JSONValue, source: String, allowLiteralKeys: Bool
    ) throws -> Endpoint {
        guard let members = spec.objectValue else {
            throw AIQueryError("endpoint '\(name)': the definition must be a JSON object, got \(spec.kindName)")
        }
        if case .object = spec["model"] ?? .null {
            return try parseMLflow(name: name, spec: spec, source: source, allowLiteralKeys: allowLiteralKeys)
        }
        for (key, _) in members where !flatKeys.contains(key) {
            throw AIQueryError(
                "endpoint '\(name)': unknown key '\(key)'; use provider, task, model, url, api_key (\"$ENV_VAR\"), limit")
        }
        let providerName = try string(spec, "provider", name) ?? "openai"
        let (provider, defaultURL) = try providerKind(providerName, endpoint: name)
        let taskName = try string(spec, "task", name) ?? string(spec, "endpoint_type", name)
        let task = try taskName.map { name2 throws in try parseTask(name2, endpoint: name) }
        let url = try string(spec, "url", name) ?? string(spec, "api_base", name) ?? string(spec, "base_url", name)
            ?? string(spec, "host", name)
        var keyText = try string(spec, "api_key", name) ?? string(spec, "token", name)
        if let variable = try string(spec, "api_key_env", name) { keyText = "$" + variable }
        var endpoint = try make(
            name: name, task: task, provider: provider, model: string(spec, "model", name), url: url ?? defaultURL,
            keyText: keyText, source: source, allowLiteralKeys: allowLiteralKeys)
        endpoint.limit = try parseLimit(spec["limit"], endpoint: name)
        try applyFlatLimits(&endpoint, spec: spec)
        try applyRetrySettings(&endpoint, spec: spec)
        if let version = try string(spec, "anthropic_version", name) { endpoint.anthropicVersion = version }
        endpoint.azureDeployment = try string(spec, "deployment", name)
        endpoint.azureAPIVersion = try string(spec, "api_version", name)
        endpoint.openAIOrganization = try string(spec, "organization", name)
        return endpoint
    }

    static func parseMLflow(
        name: String, spec: JSONValue, source: String, allowLiteralKeys: Bool
    ) throws -> Endpoint {
        let model = spec["model"] ?? .null
        let config = model["config"] ?? .object([])
        guard let providerName = model["provider"]?.stringValue else {
            throw AIQueryError("endpoint '\(name)': model.provider is missing (openai, anthropic or databricks)")
        }
        let (provider, defaultURL) = try providerKind(providerName, endpoint: name)
        let taskName = try string(spec, "endpoint_type", name) ?? string(spec, "route_type", name)
        let task = try taskName.map { text throws in try parseTask(text, endpoint: name) }
        func configString(_ key: String) throws -> String? { try string(config, key, name, prefix: "model.config.") }
        var url = defaultURL
        var keyText: String?
        var endpoint: Endpoint
        switch provider {
        case .openai:
            url = try configString("openai_api_base") ?? url
            keyText = try configString("openai_api_key")
            let apiType = try configString("openai_api_type")?.lowercased()
            endpoint = try make(
                name: name, task: task, provider: provider, model: model["name"]?.stringValue, url: url, keyText: keyText,
                source: source, allowLiteralKeys: allowLiteralKeys)
            if apiType == "azure" || apiType == "azuread" {
                endpoint.azureDeployment = try configString("openai_deployment_name")
                endpoint.azureAPIVersion = try configString("openai_api_version")
                endpoint.azureUsesEntraToken = apiType == "azuread"
                guard endpoint.azureDeployment != nil else {
                    throw AIQueryError("endpoint '\(name)': Azure OpenAI needs model.config.openai_deployment_name")
                }
            }
            endpoint.openAIOrganization = try configString("openai_organization")
        case .anthropic:
            url = try configString("anthropic_api_base") ?? url
            keyText = try configString("anthropic_api_key")
            endpoint = try make(
                name: name, task: task, provider: provider, model: model["name"]?.stringValue, url: url, keyText: keyText,
                source: source, allowLiteralKeys: allowLiteralKeys)
            if let version = try configString("anthropic_version") { endpoint.anthropicVersion = version }
        case .databricks:
            url = try configString("databricks_workspace_url") ?? url
            keyText = try configString("databricks_api_token")
            endpoint = try make(
                name: name, task: task, provider: provider, model: model["name"]?.stringValue, url: url, keyText: keyText,
                source: source, allowLiteralKeys: allowLiteralKeys)
        case .local:
            // `model_path`: a folder with vocab.txt and model.safetensors; by default the installed PyPI package.
            endpoint = try make(
                name: name, task: task, provider: provider, model: model["name"]?.stringValue ?? LocalModels.miniLMModel,
                url: try configString("model_path") ?? "", keyText: nil, source: source, allowLiteralKeys: allowLiteralKeys)
        }
        endpoint.limit = try parseLimit(spec["limit"], endpoint: name)
        try applyRetrySettings(&endpoint, spec: spec)
        return endpoint
    }

    /// `rpm`, `tpm` and `max_in_flight` as flat keys (per minute).
    static func applyFlatLimits(_ endpoint: inout Endpoint, spec: JSONValue) throws {
        let rpm = try positiveInt(spec, "rpm", endpoint.name)
        let tpm = try positiveInt(spec, "tpm", endpoint.name)
        let inFlight = try positiveInt(spec, "max_in_flight", endpoint.name)
        guard rpm != nil || tpm != nil || inFlight != nil else { return }
        var limit = endpoint.limit ?? EndpointLimit()
        if let rpm {
            guard endpoint.limit?.calls == nil else { throw AIQueryError("endpoint '\(endpoint.name)': give either rpm or limit.calls, not both") }
            limit.calls = rpm
            limit.renewalPeriod = "minute"
        }
        if let tpm { limit.tokens = tpm }
        if let inFlight { limit.maxInFlight = inFlight }
        endpoint.limit = limit
    }

    static func applyRetrySettings(_ endpoint: inout Endpoint, spec: JSONValue) throws {
        if let value = spec["max_retries"], !value.isNull {
            guard let retries = value.int64Value, retries >= 0, retries <= 100 else {
                throw AIQueryError("endpoint '\(endpoint.name)': max_retries must be an integer from 0 to 100")
            }
            endpoint.maxRetries = Int(retries)
        }
        for key in ["timeout", "deadline"] {
            guard let value = spec[key], !value.isNull else { continue }
            guard let seconds = value.doubleValue, seconds > 0 else {
                throw AIQueryError("endpoint '\(endpoint.name)': \(key) must be a positive number of seconds")
            }
            if key == "timeout" { endpoint.timeout = seconds } else { endpoint.deadline = seconds }
        }
        endpoint.concurrency = try positiveInt(spec, "concurrency", endpoint.name)
        endpoint.batchSize = try positiveInt(spec, "batch_size", endpoint.name)
        if let price = spec["price"], !price.isNull {
            guard let input = price["input"]?.doubleValue, let output = price["output"]?.doubleValue, input >= 0, output >= 0 else {
                throw AIQueryError(
                    "endpoint '\(endpoint.name)': price must be {\"input\": dollars per million input tokens, \"output\": dollars per million output tokens}, got \(price.serialized())"
                )
            }
            endpoint.price = UsageLedger.Price(inputPerMillion: input, outputPerMillion: output)
        }
    }

    static func positiveInt(_ spec: JSONValue, _ key: String, _ endpoint: String) throws -> Int? {
        guard let value = spec[key], !value.isNull else { return nil }
        guard let number = value.int64Value, number > 0 else {
            throw AIQueryError("endpoint '\(endpoint)': \(key) must be a positive integer, got \(value.serialized())")
        }
        return Int(number)
    }

    static func make(
        name: String, task: EndpointTask?, provider: ProviderKind, model: String?, url: String, keyText: String?,
        source: String, allowLiteralKeys: Bool
    ) throws -> Endpoint {
        var apiKey: SecretSource
        if let keyText, !keyText.isEmpty {
            if keyText.hasPrefix("$") {
                var variable = String(keyText.dropFirst())
                if variable.hasPrefix("{"), variable.hasSuffix("}") { variable = String(variable.dropFirst().dropLast()) }
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
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") || (provider == .databricks && baseURL.isEmpty)
        else {
            throw AIQueryError("endpoint '\(name)': url must start with http:// or https://, got '\(url)'")
        }
        if provider == .databricks, baseURL.isEmpty { apiKey = .databricksWorkspace }
        if provider == .databricks, apiKey == .none { apiKey = .databricksWorkspace }
        guard let model = model ?? (provider == .databricks ? name : nil) else {
            throw AIQueryError("endpoint '\(name)': model is missing (the provider's model name, e.g. \"gpt-4o-mini\")")
        }
        return Endpoint(name: name, task: task, provider: provider, model: model, url: baseURL, apiKey: apiKey, source: source)
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

    static func providerKind(_ name: String, endpoint: String) throws -> (ProviderKind, String) {
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
                "endpoint '\(endpoint)': unknown provider '\(name)'; use openai (any OpenAI-compatible server), anthropic, databricks or local"
            )
        }
    }

    static func parseTask(_ text: String, endpoint: String) throws -> EndpointTask {
        guard let task = EndpointTask(name: text) else {
            throw AIQueryError(
                "endpoint '\(endpoint)': unknown task '\(text)'; use llm/v1/chat, llm/v1/completions, llm/v1/embeddings or custom"
            )
        }
        return task
    }

    static func parseLimit(_ value: JSONValue?, endpoint: String) throws -> EndpointLimit? {
        guard let value, !value.isNull else { return nil }
        guard case .object = value else { throw AIQueryError("endpoint '\(endpoint)': limit must be a mapping like {calls: 60, renewal_period: minute}") }
        let calls = try positiveInt(value, "calls", endpoint)
        let tokens = try positiveInt(value, "tokens", endpoint)
        let inFlight = try positiveInt(value, "max_in_flight", endpoint)
        guard calls != nil || tokens != nil || inFlight != nil else {
            throw AIQueryError("endpoint '\(endpoint)': limit needs calls, tokens or max_in_flight (and renewal_period: minute)")
        }
        let period = value["renewal_period"]?.stringValue ?? "minute"
        guard ["second", "minute", "hour", "day"].contains(period) else {
            throw AIQueryError("endpoint '\(endpoint)': limit.renewal_period must be second, minute, hour or day, got '\(period)'")
        }
        return EndpointLimit(calls: calls, tokens: tokens, renewalPeriod: period, maxInFlight: inFlight)
    }

    static func string(_ spec: JSONValue, _ key: String, _ endpoint: String, prefix: String = "") throws -> String? {
        guard let value = spec[key], !value.isNull else { return nil }
        guard let text = value.stringValue else {
            throw AIQueryError("endpoint '\(endpoint)': \(prefix)\(key) must be a string, got \(value.kindName)")
        }
        return text
    }
}
