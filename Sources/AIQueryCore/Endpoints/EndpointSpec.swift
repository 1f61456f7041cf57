/// Reads an endpoint definition, written either flat (`{"provider","task","model","url","api_key"}`, the form
/// `ai_endpoint_set` documents) or as one MLflow AI Gateway `endpoints:` entry
/// (`{"endpoint_type", "model": {"provider","name","config": {...}}, "limit"}`). Every key is checked in both
/// forms: a typo must be an error, never a silent default (a misspelt base URL would send prompts and the key to
/// the provider's public API).
extension Endpoint {
    static let flatKeys = [
        "name", "provider", "task", "endpoint_type", "model", "url", "model_path", "api_base", "base_url", "host", "api_key", "api_key_env",
        "token", "limit", "rpm", "tpm", "max_in_flight", "price", "anthropic_version", "api_version", "deployment", "organization",
    ] + Setting.names(in: .endpoint)
    static let mlflowKeys = ["name", "endpoint_type", "route_type", "model", "limit", "price"] + Setting.names(in: .endpoint)
    static let mlflowModelKeys = ["provider", "name", "config"]

    /// - Parameter allowLiteralKeys: files may hold a key itself (as MLflow allows); SQL may only name a variable,
    ///   so that no key ever lands in a database or a shell history.
    public static func parse(name: String, spec: JSONValue, source: String, allowLiteralKeys: Bool) throws(AIQueryError) -> Endpoint {
        var reader = try DefinitionReader(spec, endpoint: name)
        var endpoint: Endpoint
        if case .object = spec["model"] ?? .null {
            try reader.allowOnly(mlflowKeys)
            endpoint = try parseMLflow(name: name, reader: reader, source: source, allowLiteralKeys: allowLiteralKeys)
        } else {
            try reader.allowOnly(flatKeys)
            endpoint = try parseFlat(name: name, reader: reader, source: source, allowLiteralKeys: allowLiteralKeys)
        }
        endpoint.limit = try parseLimit(reader.member("limit"), endpoint: name)
        try applyFlatLimits(&endpoint, reader: reader)
        for setting in Setting.all where setting.scopes.contains(.endpoint) {
            guard let value = reader.member(setting.name) else { continue }
            endpoint.settings[setting] = try setting.parse(value, label: "endpoint '\(name)': \(setting.name)")
        }
        endpoint.price = try parsePrice(reader.member("price"), endpoint: name)
        return endpoint
    }

    static func parseFlat(name: String, reader: DefinitionReader, source: String, allowLiteralKeys: Bool) throws(AIQueryError) -> Endpoint {
        let (provider, defaultURL) = try providerKind(try reader.string("provider") ?? "openai", endpoint: name)
        let taskName = try reader.string("task", "endpoint_type")
        let url = try reader.string("url", "api_base", "base_url", "host", "model_path")
        var keyText = try reader.string("api_key", "token")
        if let variable = try reader.string("api_key_env") { keyText = "$" + variable }
        let task = try taskName.map { text throws(AIQueryError) in try parseTask(text, endpoint: name) }
        var endpoint = try make(
            name: name, task: task, provider: provider, model: try reader.string("model"), url: url ?? defaultURL, keyText: keyText,
            source: source, allowLiteralKeys: allowLiteralKeys)
        if let version = try reader.string("anthropic_version") { endpoint.anthropicVersion = version }
        endpoint.azureDeployment = try reader.string("deployment")
        endpoint.azureAPIVersion = try reader.string("api_version")
        endpoint.openAIOrganization = try reader.string("organization")
        return endpoint
    }

    static func parseMLflow(name: String, reader: DefinitionReader, source: String, allowLiteralKeys: Bool) throws(AIQueryError) -> Endpoint {
        var model = try DefinitionReader(reader.member("model") ?? .null, endpoint: name, path: "model.")
        try model.allowOnly(mlflowModelKeys)
        guard let providerName = try model.string("provider") else {
            throw AIQueryError(.invalidConfiguration, "endpoint '\(name)': model.provider is missing (openai, anthropic, databricks or local)")
        }
        let (provider, defaultURL) = try providerKind(providerName, endpoint: name)
        var config = try DefinitionReader(model.member("config") ?? .object([]), endpoint: name, path: "model.config.")
        try config.allowOnly(Self.mlflowConfigKeys(provider))
        let taskName = try reader.string("endpoint_type", "route_type")
        let task = try taskName.map { text throws(AIQueryError) in try parseTask(text, endpoint: name) }
        let modelName = try model.string("name")
        func make(url: String, key: String?, model: String? = modelName) throws(AIQueryError) -> Endpoint {
            try Endpoint.make(
                name: name, task: task, provider: provider, model: model, url: url, keyText: key, source: source,
                allowLiteralKeys: allowLiteralKeys)
        }
        switch provider {
        case .openai:
            var endpoint = try make(url: try config.string("openai_api_base") ?? defaultURL, key: try config.string("openai_api_key"))
            let apiType = try config.string("openai_api_type")?.lowercased()
            if apiType == "azure" || apiType == "azuread" {
                endpoint.azureDeployment = try config.string("openai_deployment_name")
                endpoint.azureAPIVersion = try config.string("openai_api_version")
                endpoint.azureUsesEntraToken = apiType == "azuread"
                guard endpoint.azureDeployment != nil else {
                    throw AIQueryError(.invalidConfiguration, "endpoint '\(name)': Azure OpenAI needs model.config.openai_deployment_name")
                }
            } else if let apiType, apiType != "openai" {
                throw AIQueryError(.invalidConfiguration, "endpoint '\(name)': model.config.openai_api_type must be openai, azure or azuread, got '\(apiType)'")
            }
            endpoint.openAIOrganization = try config.string("openai_organization")
            return endpoint
        case .anthropic:
            var endpoint = try make(url: try config.string("anthropic_api_base") ?? defaultURL, key: try config.string("anthropic_api_key"))
            if let version = try config.string("anthropic_version") { endpoint.anthropicVersion = version }
            return endpoint
        case .databricks:
            return try make(url: try config.string("databricks_workspace_url") ?? defaultURL, key: try config.string("databricks_api_token"))
        case .local:
            // `model_path`: a GGUF file (llama.cpp, for chat and completions), or a folder with vocab.txt and
            // model.safetensors (MiniLM embeddings); by default the installed MiniLM package.
            // With no model name, Endpoint.make names it after the file (or MiniLM).
            return try make(url: try config.string("model_path") ?? "", key: nil)
        }
    }

    /// MLflow's provider config keys, per provider.
    static func mlflowConfigKeys(_ provider: ProviderKind) -> [String] {
        switch provider {
        case .openai:
            return ["openai_api_key", "openai_api_base", "openai_api_type", "openai_api_version", "openai_deployment_name", "openai_organization"]
        case .anthropic: return ["anthropic_api_key", "anthropic_api_base", "anthropic_version"]
        case .databricks: return ["databricks_workspace_url", "databricks_api_token"]
        case .local: return ["model_path"]
        }
    }

    /// `rpm`, `tpm` and `max_in_flight` as flat keys (per minute).
    static func applyFlatLimits(_ endpoint: inout Endpoint, reader: DefinitionReader) throws(AIQueryError) {
        let rpm = try reader.positiveInt("rpm")
        let tpm = try reader.positiveInt("tpm")
        let inFlight = try reader.positiveInt("max_in_flight")
        guard rpm != nil || tpm != nil || inFlight != nil else { return }
        var limit = endpoint.limit ?? EndpointLimit()
        if let rpm {
            guard endpoint.limit?.calls == nil else {
                throw AIQueryError(.invalidConfiguration, "endpoint '\(endpoint.name)': give either rpm or limit.calls, not both")
            }
            limit.calls = rpm
            limit.renewalPeriod = "minute"
        }
        if let tpm { limit.tokens = tpm }
        if let inFlight { limit.maxInFlight = inFlight }
        endpoint.limit = limit
    }

    static func parseLimit(_ value: JSONValue?, endpoint: String) throws(AIQueryError) -> EndpointLimit? {
        guard let value, !value.isNull else { return nil }
        guard case .object = value else {
            throw AIQueryError(.invalidConfiguration, "endpoint '\(endpoint)': limit must be a mapping like {calls: 60, renewal_period: minute}")
        }
        var reader = try DefinitionReader(value, endpoint: endpoint, path: "limit.")
        try reader.allowOnly(["calls", "tokens", "renewal_period", "max_in_flight"])
        let calls = try reader.positiveInt("calls")
        let tokens = try reader.positiveInt("tokens")
        let inFlight = try reader.positiveInt("max_in_flight")
        guard calls != nil || tokens != nil || inFlight != nil else {
            throw AIQueryError(.invalidConfiguration, "endpoint '\(endpoint)': limit needs calls, tokens or max_in_flight (and renewal_period: minute)")
        }
        let period = try reader.string("renewal_period") ?? "minute"
        guard ["second", "minute", "hour", "day"].contains(period) else {
            throw AIQueryError(
                .invalidConfiguration, "endpoint '\(endpoint)': limit.renewal_period must be second, minute, hour or day, got '\(period)'")
        }
        return EndpointLimit(calls: calls, tokens: tokens, renewalPeriod: period, maxInFlight: inFlight)
    }

    static func parsePrice(_ value: JSONValue?, endpoint: String) throws(AIQueryError) -> UsageLedger.Price? {
        guard let value, !value.isNull else { return nil }
        let invalid = AIQueryError(
            .invalidConfiguration,
            "endpoint '\(endpoint)': price must be {\"input\": dollars per million input tokens, \"output\": dollars per million output tokens}, got \(value.serialized().truncatedForMessage(80))"
        )
        guard case .object = value else { throw invalid }
        var reader = try DefinitionReader(value, endpoint: endpoint, path: "price.")
        try reader.allowOnly(["input", "output"])
        guard let input = value["input"]?.doubleValue, let output = value["output"]?.doubleValue, input >= 0, output >= 0,
            input.isFinite, output.isFinite, input <= 1e6, output <= 1e6
        else { throw invalid }
        return UsageLedger.Price(inputPerMillion: input, outputPerMillion: output)
    }
}
