/// Databricks model serving: `POST {host}/serving-endpoints/{name}/invocations` with OpenAI-shaped bodies that
/// carry no `model` (the URL names the endpoint).
struct DatabricksProvider: Provider {
    func body(for input: ModelInput, task: EndpointTask, endpoint: Endpoint, options: RequestOptions) throws(AIQueryError) -> JSONValue {
        try OpenAIWireFormat.body(for: input, task: task, endpoint: endpoint, options: options, includesModel: false)
    }

    func url(for endpoint: Endpoint, task: EndpointTask) -> String {
        "\(endpoint.url)/serving-endpoints/\(endpoint.model ?? endpoint.name)/invocations"
    }

    func headers(for endpoint: Endpoint, secret: String?) -> [(String, String)] {
        secret.map { [("Authorization", "Bearer \($0)")] } ?? []
    }

    func response(from json: JSONValue, endpoint: Endpoint, task: EndpointTask) throws(AIQueryError) -> ModelResponse {
        try OpenAIWireFormat.response(from: json, endpoint: endpoint, task: task)
    }

    /// Databricks endpoints stream OpenAI chunks; not every one takes `stream_options`, so usage is not asked for.
    var streamFormat: StreamFormat? { .openAI(includeUsage: false) }

    var batchesEmbeddings: Bool { true }

    func embeddings(from json: JSONValue, count: Int, endpoint: Endpoint) throws(AIQueryError) -> [[Float]] {
        try OpenAIWireFormat.embeddings(from: json, count: count, endpoint: endpoint)
    }

    /// A workspace endpoint's task, from `GET /api/2.0/serving-endpoints/{name}`.
    static func lookUpTask(
        of endpoint: Endpoint, secret: String?, transport: HTTPTransport, timeout: Double, isCancelled: (@Sendable () -> Bool)?
    ) throws(AIQueryError) -> EndpointTask {
        let url = "\(endpoint.url)/api/2.0/serving-endpoints/\(endpoint.model ?? endpoint.name)"
        var request = HTTPRequest(method: "GET", url: url, timeout: min(timeout, 60))
        request.headers = DatabricksProvider().headers(for: endpoint, secret: secret) + [("Accept", "application/json")]
        let secrets = Redactor(secrets: [secret].compactMap { $0 })
        let response: HTTPResponse
        do {
            response = try transport.send(request, isCancelled: isCancelled)
        } catch {
            throw UpstreamError.transport(error, endpoint: endpoint, method: "GET", url: url, attempts: 1)
        }
        guard response.status == 200 else {
            let upstream = UpstreamError.summary(response, redactor: secrets)
            throw AIQueryError(
                response.status == 404 ? .unknownEndpoint : .invalidConfiguration,
                "endpoint '\(endpoint.name)': looking it up in the Databricks workspace failed with \(upstream.text) (GET \(Redactor.displayURL(url)))",
                status: response.status, upstreamCode: upstream.code)
        }
        let json = try? JSONValue.parse(bytes: response.body)
        return json?["task"]?.stringValue.flatMap(EndpointTask.init(name:)) ?? .custom
    }
}
