/// Embeddings for many rows in one request: OpenAI and Databricks take `"input": [text, …]` and answer
/// `data[i]` with `index` i.
extension AIQueryEngine {
    /// Whether `call` may share a request with others built with the same options.
    public static func isBatchable(_ call: PreparedCall) -> Bool {
        guard call.task == .embeddings, call.endpoint.provider != .anthropic, case .text = call.input else { return false }
        return true
    }

    /// One answer per call, in order. A request the endpoint refuses (too large, or a 4xx about one bad input) is
    /// split in halves down to single rows, so only the rows at fault fail; any other failure (the endpoint down
    /// after every retry, Ctrl-C, the budget) is every row's error.
    public func fetchEmbeddings(_ calls: [PreparedCall], control: CallControl) -> [Result<ModelOutput, any Error>] {
        if calls.first?.endpoint.provider == .local {
            do { return try LocalModels.embed(calls, control: control).map { .success($0) } } catch {
                return calls.map { _ in .failure(error) }
            }
        }
        guard calls.count > 1 else {
            return calls.map { call in Result { try fetch(call, control: control) } }
        }
        do {
            return try sendBatch(calls, control: control).map { .success($0) }
        } catch let error as AIQueryError where Self.isTooLarge(error) || Self.isRefusal(error) {
            let half = calls.count / 2
            return fetchEmbeddings(Array(calls[..<half]), control: control)
                + fetchEmbeddings(Array(calls[half...]), control: control)
        } catch {
            return calls.map { _ in .failure(error) }
        }
    }

    func sendBatch(_ calls: [PreparedCall], control: CallControl) throws -> [ModelOutput] {
        let first = calls[0]
        let texts: [JSONValue] = calls.map { call in
            if case .text(let text) = call.input { return .string(text) }
            return .null
        }
        let body = first.body.setting("input", .array(texts))
        let (response, url, parsed) = try send(first.endpoint, first.task, body: body, options: first.options, control: control)
        guard let json = parsed else {
            // Not JSON: the parser's message says what came back.
            return try calls.map { _ in try ResponseParser.output(endpoint: first.endpoint, task: first.task, response: response, url: url) }
        }
        guard let items = json["data"]?.arrayValue, items.count == calls.count else {
            throw AIQueryError.row(
                "endpoint '\(first.endpoint.name)' answered \(json["data"]?.arrayValue?.count ?? 0) embeddings for a batch of \(calls.count) inputs (POST \(url))"
            )
        }
        var outputs = [ModelOutput?](repeating: nil, count: calls.count)
        for (position, item) in items.enumerated() {
            let index = item["index"]?.int64Value.map(Int.init) ?? position
            guard outputs.indices.contains(index), let vector = item["embedding"] else {
                throw AIQueryError.row("endpoint '\(first.endpoint.name)' answered a batch with a bad data[\(position)] (POST \(url))")
            }
            outputs[index] = .embedding(try ResponseParser.embedding(vector, endpoint: first.endpoint))
        }
        return try outputs.map { output in
            guard let output else {
                throw AIQueryError.row("endpoint '\(first.endpoint.name)' answered a batch with a missing index (POST \(url))")
            }
            return output
        }
    }

    /// A 4xx other than 401/403/404/429: the endpoint refused something in the request, perhaps one input.
    static func isRefusal(_ error: AIQueryError) -> Bool {
        guard let status = error.status, (400..<500).contains(status) else { return false }
        return ![401, 403, 404, 408, 409, 429].contains(status)
    }

    /// 413, or a 400 that says the input is too large or has too many items.
    static func isTooLarge(_ error: AIQueryError) -> Bool {
        if error.status == 413 { return true }
        guard error.status == 400 else { return false }
        let message = error.message.lowercased()
        return ["too large", "too many", "too long", "maximum", "exceed", "batch size"].contains { message.contains($0) }
    }
}
