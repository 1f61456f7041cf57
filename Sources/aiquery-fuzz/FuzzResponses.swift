import AIQueryCore

/// What reads an endpoint's answer: every provider's response and batched-embeddings readers for every task,
/// usage, error summaries (whose text must never hold a request's secret) and Retry-After. The first byte is a
/// control byte (the embeddings batch size and the HTTP status of the error summary); the rest is the body.
enum FuzzResponses {
    static let secrets = ["sk-fuzz-0123456789", "hunter2-hunter2"]
    static let redactor = Redactor(secrets: secrets)
    static let kinds: [ProviderKind] = [.openai, .databricks, .anthropic, .local]
    /// By the control byte's high nibble, so that seeds start with a printable byte: ' ' 400, '3' 429, '@' 401,
    /// 'P' 404, 'a' 500, 'p' 503.
    static let statuses = [200, 0, 400, 429, 401, 404, 500, 503, 403, 408, 413, 502, 529, -1, 999, 1_000_000]

    static func run(_ bytes: [UInt8]) {
        guard let control = bytes.first else { return }
        let body = Array(bytes.dropFirst())
        let count = Int(control & 0x07) + 1
        let status = statuses[Int(control >> 4)]

        if let json = try? JSONValue.parse(bytes: body) {
            _ = TokenUsage(json)?.total
            for kind in kinds {
                let provider = kind.implementation
                let endpoint = Endpoint(
                    name: "fuzz", task: .chat, provider: kind, model: "fuzz-model", url: "http://127.0.0.1:9/v1", apiKey: .none,
                    source: "fuzz")
                for task in EndpointTask.allCases {
                    guard let response = try? provider.response(from: json, endpoint: endpoint, task: task) else { continue }
                    checkRedacted(redactor.redact(response.output), bytes)
                }
                if let vectors = try? provider.embeddings(from: json, count: count, endpoint: endpoint), vectors.count != count {
                    finding("\(kind) embeddings gave \(vectors.count) vectors for a batch of \(count)", bytes)
                }
            }
        }

        let summary = UpstreamError.summary(HTTPResponse(status: status, body: body), redactor: redactor)
        for secret in secrets where containsBytes(summary.text, secret) || containsBytes(summary.code ?? "", secret) {
            finding("an error summary holds a secret: \(summary.text) (code \(summary.code ?? "none"))", bytes)
        }

        let text = String(decoding: body, as: UTF8.self)
        for header in ["retry-after", "retry-after-ms"] {
            let wait = RetryPolicy.retryAfter(HTTPResponse(status: 429, headers: [(header, text)], body: []))
            if let wait, !(wait >= 0) { finding("Retry-After gave \(wait)", bytes) }
        }
    }

    /// An answer after redaction must not hold a secret, whatever the upstream echoed.
    static func checkRedacted(_ output: ModelOutput, _ bytes: [UInt8]) {
        let text: String
        switch output {
        case .text(let s): text = s
        case .json(let json): text = json.serialized()
        case .embedding: return
        }
        for secret in secrets where containsBytes(text, secret) {
            finding("a redacted answer holds a secret: \(text.truncatedForMessage(400))", bytes)
        }
    }
}
