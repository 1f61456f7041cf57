/// Runs one ai_query call: resolve the task, build the body, send it with credentials, read the answer.
public final class AIQueryEngine: Sendable {
    public let transport: HTTPTransport

    public static let shared = AIQueryEngine(transport: .shared)

    public init(transport: HTTPTransport) {
        self.transport = transport
    }

    /// Resolves the task and builds the body and the cache key, without any network call except a
    /// workspace endpoint's one-time task lookup.
    public func prepare(endpoint: Endpoint, input: ModelInput, options: QueryOptions) throws -> PreparedCall {
        let task = try task(of: endpoint, timeout: options.timeout)
        let body = try RequestBuilder.body(endpoint: endpoint, task: task, input: input, options: options)
        let cache = options.cache
        let key = cache.store == nil || cache.mode == .off ? nil : CacheKey.make(endpoint: endpoint, task: task, body: body)
        return PreparedCall(endpoint: endpoint, task: task, input: input, body: body, key: key, options: options)
    }

    /// The stored answer when the cache mode reads; under `replay` a miss is an error. On SQLite's thread.
    public func cachedAnswer(_ call: PreparedCall) throws -> ModelOutput? {
        let cache = call.options.cache
        guard let key = call.key, let store = cache.store, cache.mode == .on || cache.mode == .replay else { return nil }
        if let hit = try store.lookup(key: key, maxAge: cache.ttl) { return hit }
        if cache.mode == .replay {
            throw AIQueryError.row(
                "no cached answer for this request to endpoint '\(call.endpoint.name)' and the cache mode is replay, which never calls the endpoint; run once with cache 'on' to fill the cache"
            )
        }
        return nil
    }

    /// Stores a fresh answer (errors are never stored). On SQLite's thread.
    public func remember(_ call: PreparedCall, _ output: ModelOutput) throws {
        if let key = call.key, let store = call.options.cache.store {
            try store.store(key: key, endpoint: call.endpoint.name, output: output)
        }
    }

    /// Asks the endpoint, retrying what is worth retrying, within its rate limits. Safe on any thread.
    public func fetch(_ call: PreparedCall, control: CallControl = CallControl()) throws -> ModelOutput {
        if call.endpoint.provider == .local { return try LocalModels.embed([call], control: control)[0] }
        let answer = try send(call.endpoint, call.task, body: call.body, options: call.options, control: control)
        return try ResponseParser.output(
            endpoint: call.endpoint, task: call.task, response: answer.http, url: answer.url, parsed: answer.json)
    }

    /// Sends the body, retrying what is worth retrying, within the endpoint's rate limits; returns the 2xx response
    /// and its body parsed once (nil when it is not JSON, which the response parser then reports).
    func send(
        _ endpoint: Endpoint, _ task: EndpointTask, body: JSONValue, options: QueryOptions, control: CallControl
    ) throws -> (http: HTTPResponse, url: String, json: JSONValue?) {
        let url = endpoint.invocationURL(task: task)
        var request = HTTPRequest(url: url, body: Array(body.serialized().utf8), timeout: options.timeout)
        request.headers = try authHeaders(endpoint) + [("Content-Type", "application/json"), ("Accept", "application/json")]
        let policy = options.retry
        let limiter = LimiterRegistry.shared.limiter(for: endpoint)
        let estimate = Self.estimatedTokens(body: body, bodyBytes: request.body.count, task: task)
        let started = System.monotonicSeconds()
        var attempt = 0
        while true {
            attempt += 1
            try control.checkCancelled()
            try control.tally?.beginCall(endpoint: endpoint.name, isRetry: attempt > 1)
            let permit = try limiter?.acquire(estimatedTokens: estimate)
            let sent = System.monotonicSeconds()
            let response: HTTPResponse
            do {
                response = try transport.send(request, isCancelled: control.isCancelled)
            } catch {
                if let permit { limiter?.release(permit, actualTokens: nil) }
                UsageLedger.shared.recordCall(
                    endpoint: endpoint.name, isRetry: attempt > 1, seconds: System.monotonicSeconds() - sent, inputTokens: 0, outputTokens: 0)
                if error.kind == .cancelled { throw CallControl.cancelledError }
                let wait = policy.backoff(attempt: attempt)
                if RetryPolicy.isRetryable(error), attempt <= policy.maxRetries, fits(wait, started, policy) {
                    try control.sleep(wait)
                    continue
                }
                throw AIQueryError.row(
                    "endpoint '\(endpoint.name)': \(error.message) (POST \(url))\(Self.attempts(attempt))\(Self.hint(error, endpoint))")
            }
            let success = (200..<300).contains(response.status)
            let json = success ? try? JSONValue.parse(bytes: response.body) : nil
            let usage = json.flatMap(Self.tokenUsage)
            if let permit { limiter?.release(permit, actualTokens: usage.map { $0.input + $0.output }) }
            UsageLedger.shared.recordCall(
                endpoint: endpoint.name, isRetry: attempt > 1, seconds: System.monotonicSeconds() - sent,
                inputTokens: usage?.input ?? 0, outputTokens: usage?.output ?? 0)
            if let usage { control.tally?.addTokens(input: usage.input, output: usage.output) }
            if success { return (response, url, json) }
            let summary = "endpoint '\(endpoint.name)' returned \(ResponseParser.httpErrorSummary(response)) (POST \(url))"
            guard RetryPolicy.isRetryable(status: response.status, response: response), attempt <= policy.maxRetries else {
                throw AIQueryError.row(summary + Self.attempts(attempt), status: response.status)
            }
            let retryAfter = RetryPolicy.retryAfter(response)
            if let retryAfter, retryAfter > policy.maxRetryAfter {
                throw AIQueryError.row(
                    summary + "; the endpoint asked to wait \(formatSeconds(retryAfter)), more than the \(formatSeconds(policy.maxRetryAfter)) cap")
            }
            let wait = retryAfter ?? policy.backoff(attempt: attempt)
            if response.status == 429, Self.isEndpointWideLimit(response) {
                // Databricks' REQUEST_LIMIT_EXCEEDED is about the endpoint, not this request: hold back every row.
                limiter?.penalize(for: wait)
            }
            guard fits(wait, started, policy) else {
                throw AIQueryError.row(summary + Self.attempts(attempt) + "; the deadline of \(formatSeconds(policy.deadline ?? 0)) leaves no time to retry")
            }
            try control.sleep(wait)
        }
    }

    func fits(_ wait: Double, _ started: Double, _ policy: RetryPolicy) -> Bool {
        guard let deadline = policy.deadline else { return true }
        return System.monotonicSeconds() + wait - started < deadline
    }

    static func attempts(_ count: Int) -> String { count > 1 ? "; gave up after \(count) attempts" : "" }

    static func hint(_ error: HTTPError, _ endpoint: Endpoint) -> String {
        switch error.kind {
        case .connectionRefused, .unresolvedHost:
            return endpoint.startHint.map { "; \($0)" } ?? "; is the server running and the url right?"
        case .timeout: return "; raise it with the timeout option (seconds)"
        default: return ""
        }
    }

    static func isEndpointWideLimit(_ response: HTTPResponse) -> Bool {
        let json = try? JSONValue.parse(bytes: response.body)
        return json?["error_code"]?.stringValue == "REQUEST_LIMIT_EXCEEDED"
    }

    /// Prompt tokens guessed from the body size (about 4 bytes a token) plus the completion budget.
    static func estimatedTokens(body: JSONValue, bodyBytes: Int, task: EndpointTask) -> Int {
        let prompt = bodyBytes / 4 + 1
        guard task == .chat || task == .completions else { return prompt }
        let budget = body["max_tokens"]?.int64Value ?? body["max_completion_tokens"]?.int64Value ?? 256
        return prompt + Int(budget)
    }

    /// Tokens the response says it used: OpenAI/Databricks `prompt_tokens`/`completion_tokens`, Anthropic
    /// `input_tokens`/`output_tokens`.
    static func tokenUsage(_ json: JSONValue) -> (input: Int, output: Int)? {
        guard let usage = json["usage"] else { return nil }
        let input = usage["prompt_tokens"]?.int64Value ?? usage["input_tokens"]?.int64Value
        let output = usage["completion_tokens"]?.int64Value ?? usage["output_tokens"]?.int64Value
        if input == nil, output == nil, let total = usage["total_tokens"]?.int64Value { return (Int(total), 0) }
        guard input != nil || output != nil else { return nil }
        return (Int(input ?? 0), Int(output ?? 0))
    }

    /// The exact body `prepare` builds and `fetch` would send, without any network call. An unknown workspace task is taken as chat.
    public func dryRun(endpoint: Endpoint, input: ModelInput, options: QueryOptions) throws -> JSONValue {
        try RequestBuilder.body(endpoint: endpoint, task: endpoint.task ?? .chat, input: input, options: options)
    }

    func send(_ request: HTTPRequest, endpoint: Endpoint) throws -> HTTPResponse {
        do {
            return try transport.send(request)
        } catch {
            throw AIQueryError.row("endpoint '\(endpoint.name)': \(error.message) (\(request.method) \(request.url))\(Self.hint(error, endpoint))")
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
        case .local: break
        }
        return headers
    }
}
