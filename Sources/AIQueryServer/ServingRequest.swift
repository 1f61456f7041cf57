import AIQueryCore
import HTTPTypes

/// One request to a serving endpoint, from the invocations route or an OpenAI-compatible path: which endpoint,
/// the body the upstream gets (without what only concerns this server: `model` naming the endpoint, `stream`,
/// `encoding_format`), and how to answer.
struct ServingRequest: Sendable {
    enum Route: Sendable { case invocations, chatCompletions, completions, embeddings }

    var endpoint: String
    var body: JSONValue
    var stream: Bool
    /// The OpenAI client asks for base64 float32 embeddings unless told otherwise.
    var base64Embeddings: Bool
    var route: Route
    /// The caller's `Databricks-Ai-Gateway-Request-Tags`, for the call log (sorted JSON).
    var requestTags: String?
    /// `x-aiquery-cache: refresh` (ask the model again, and store its answer), `off`, `replay` or `on`: the
    /// Playground's Regenerate, or a caller that wants a fresh answer.
    var cacheMode: CacheMode?

    init(route: Route, endpoint pathName: String?, bytes: [UInt8]) throws(ServingError) {
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(bytes: bytes, strict: true) } catch {
            // JSON, but not UTF-8 or with a lone surrogate: a bad value rather than a malformed request.
            if (try? JSONValue.parse(bytes: bytes)) != nil { throw .invalidParameter("Invalid request: \(error)") }
            throw ServingError(.badRequest, "MALFORMED_REQUEST", "Request body is not valid JSON: \(error)")
        }
        guard case .object = parsed else { throw .badRequest("The request body must be a JSON object, got \(parsed.kindName)") }
        var body = parsed
        if let pathName {
            endpoint = pathName
        } else {
            guard let model = body["model"]?.stringValue, !model.isEmpty else {
                throw .invalidParameter("'model' is required: the name of the serving endpoint to query")
            }
            endpoint = model
        }
        for key in ["stream", "n"] {
            guard let value = body[key] else { continue }
            do throws(RequestParameters.Problem) { try RequestParameters.check(key, value) } catch {
                throw .invalidParameter("Invalid request: \(error.message)")
            }
        }
        stream = body["stream"]?.boolValue ?? false
        if stream, let n = body["n"]?.int64Value, n > 1 {
            throw .invalidParameter("Invalid request: a stream carries one answer; \"n\" of \(n) needs a request without \"stream\"")
        }
        base64Embeddings = body["encoding_format"]?.stringValue == "base64"
        for key in ["model", "stream", "encoding_format", "stream_options"] { body = body.removing(key) }
        // The SDK's `extra_params` are passed through to the provider at the top level.
        if let extra = body["extra_params"]?.objectValue {
            body = body.removing("extra_params")
            for (key, value) in extra where body[key] == nil { body = body.setting(key, value) }
        }
        self.body = body
        self.route = route
    }

    /// The field each task needs, and the task an OpenAI-compatible path implies.
    func check(task: EndpointTask) throws(ServingError) {
        let expected: EndpointTask? =
            switch route {
            case .invocations: nil
            case .chatCompletions: .chat
            case .completions: .completions
            case .embeddings: .embeddings
            }
        if let expected, expected != task {
            throw .badRequest("Endpoint '\(endpoint)' serves \(task.rawValue), not \(expected.rawValue)")
        }
        let field: String? =
            switch task {
            case .chat: "messages"
            case .completions: "prompt"
            case .embeddings: "input"
            case .custom: nil
            }
        if let field, body[field] == nil { throw .badRequest("Missing required field: \(field)") }
    }

    /// What the request adds to each call of an embeddings request (its fields but the inputs); nothing for the
    /// other tasks, whose whole body is the call's request.
    var options: RequestOptions {
        guard body["input"] != nil, body["messages"] == nil, body["prompt"] == nil else { return RequestOptions() }
        return RequestOptions(modelParameters: body.removing("input").objectValue ?? [])
    }

    /// Embedding inputs, one call each (so each is cached as ai_query would cache it), and the other fields.
    func embeddingInputs() throws(ServingError) -> (texts: [String], parameters: [(String, JSONValue)]) {
        let texts: [String]
        switch body["input"] {
        case .string(let text)?: texts = [text]
        case .array(let items)?:
            texts = try items.map { item throws(ServingError) in
                guard let text = item.stringValue else { throw .invalidParameter("'input' must be a string or a list of strings") }
                return text
            }
            guard !texts.isEmpty else { throw .invalidParameter("'input' must not be empty") }
            guard texts.count <= 2048 else { throw .invalidParameter("'input' holds \(texts.count) texts; at most 2048 per request") }
        default: throw .invalidParameter("'input' must be a string or a list of strings")
        }
        return (texts, body.removing("input").objectValue ?? [])
    }
}
