/// Runs one ai_query call: resolve the task, build the body, send it with credentials, read the answer.
public final class AIQueryEngine: Sendable {
    public let transport: HTTPTransport

    public static let shared = AIQueryEngine(transport: .shared)

    public init(transport: HTTPTransport) {
        self.transport = transport
    }

    public func query(endpoint: Endpoint, input: ModelInput, options: QueryOptions) throws -> ModelOutput {
        let task = try task(of: endpoint, timeout: options.timeout)
        let body = try RequestBuilder.body(endpoint: endpoint, task: task, input: input, options: options)
        let url = endpoint.invocationURL(task: task)
        var request = HTTPRequest(url: url, body: Array(body.serialized().utf8), timeout: options.timeout)
        request.headers = try authHeaders(endpoint) + [("Content-Type", "application/json"), ("Accept", "application/json")]
        let response = try send(request, endpoint: endpoint)
        guard (200..<300).contains(response.status) else {
            throw AIQueryError.row(
                "endpoint '\(endpoint.name)' returned \(ResponseParser.httpErrorSummary(response)) (POST \(url))")
        }
        return try ResponseParser.output(endpoint: endpoint, task: task, response: response, url: url)
    }

    /// The exact body `query` would send, without any network call. An unknown workspace task is taken as chat.
    public func dryRun(endpoint: Endpoint, input: ModelInput, options: QueryOptions) throws -> JSONValue {
        try RequestBuilder.body(endpoint: endpoint, task: endpoint.task ?? .chat, input: input, options: options)
    }

    func send(_ request: HTTPRequest, endpoint: Endpoint) throws -> HTTPResponse {
        do {
            return try transport.send(request)
        } catch {
            let hint: String
            switch error.kind {
            case .connectionRefused, .unresolvedHost: hint = "; is the server running and the url right?"
            case .timeout: hint = "; raise it with the timeout option (seconds)"
            default: hint = ""
            }
            throw AIQueryError.row("endpoint '\(endpoint.name)': \(error.message) (\(request.method) \(request.url))\(hint)")
        }
    }

    /// A workspace endpoint's task comes from `GET /api/2.0/serving-endpoints/{name}`, remembered per process.
    func task(of endpoint: Endpoint, timeout: Double) throws -> EndpointTask {
        if let task = endpoint.task { return task }
        guard endpoint.provider == .databricks else { return .chat }
        let url = "\(endpoint.url)/api/2.0/serving-endpoints/\(endpoint.model ?? endpoint.name)"
        var request = HTTPRequest(method: "GET", url: url, timeout: min(timeout, 60))
        request.headers = try authHeaders(endpoint) + [("Accept", "application/json")]
        let response = try send(request, endpoint: endpoint)
        guard response.status == 200 else {
            throw AIQueryError(
                "endpoint '\(endpoint.name)': looking it up in the Databricks workspace failed with \(ResponseParser.httpErrorSummary(response)) (GET \(url))"
            )
        }
        let json = try? JSONValue.parse(bytes: response.body)
        let task = json?["task"]?.stringValue.flatMap(EndpointTask.init(name:)) ?? .custom
        EndpointResolver.rememberTask(task, host: endpoint.url, name: endpoint.name)
        return task
    }

    func authHeaders(_ endpoint: Endpoint) throws -> [(String, String)] {
        if endpoint.apiKey == .databricksWorkspace {
            guard let workspace = try DatabricksWorkspace.resolve() else {
                throw AIQueryError(
                    "endpoint '\(endpoint.name)' needs Databricks credentials: set DATABRICKS_HOST and DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET), or add a profile to ~/.databrickscfg"
                )
            }
            return [("Authorization", try DatabricksAuthenticator.shared.authorization(for: workspace, transport: transport))]
        }
        let key: String?
        switch endpoint.apiKey {
        case .none, .databricksWorkspace: key = nil
        case .literal(let value): key = value
        case .environment(let variable):
            guard let value = System.environment(variable), !value.isEmpty else {
                throw AIQueryError("endpoint '\(endpoint.name)' needs an API key: set the environment variable \(variable)")
            }
            key = value
        }
        var headers: [(String, String)] = []
        switch endpoint.provider {
        case .anthropic:
            if let key { headers.append(("x-api-key", key)) }
            headers.append(("anthropic-version", endpoint.anthropicVersion))
        case .openai:
            if let key {
                if endpoint.azureDeployment != nil, !endpoint.azureUsesEntraToken {
                    headers.append(("api-key", key))
                } else {
                    headers.append(("Authorization", "Bearer \(key)"))
                }
            }
            if let organization = endpoint.openAIOrganization { headers.append(("OpenAI-Organization", organization)) }
        case .databricks:
            if let key { headers.append(("Authorization", "Bearer \(key)")) }
        }
        return headers
    }
}
