import AIQueryCore

/// One endpoint as the endpoints page lists it: where it is defined and whether it answers, in words, from the
/// call log's latest record of it (no request is made to find out: that could cost money).
struct EndpointStatus {
    /// How far back a call still says whether an endpoint answers.
    static let recent = 86_400.0

    let endpoint: Endpoint
    /// Whether there is a call log to tell from.
    let logged: Bool
    let latest: (time: Double, status: Int, error: String?)?
    let redactor: Redactor

    var state: (String, String) {
        if case .environment(let variable) = endpoint.apiKey, (System.environment(variable) ?? "").isEmpty {
            return ("not ready", "\(variable) is not set in the server's environment; set it and restart aiquery serve")
        }
        guard logged else { return ("unknown", "the call log is off (AIQUERY_CALL_LOG=off), so nothing tells whether it answers") }
        guard let latest else { return ("idle", "no calls in the last 24 hours") }
        let when = CallLogTime.text(latest.time, separator: "T", suffix: "Z")
        if latest.status < 400 { return ("answering", "last call \(when) answered") }
        let error = redactor.redact(latest.error ?? "HTTP \(latest.status)")
        var message = "last call \(when) failed: \(error)"
        if let hint = endpoint.startHint, !error.contains(hint) { message += " (\(hint))" }
        return ("failing", message)
    }

    /// The URL without user, password or query: where the endpoint sends, never a key written into it.
    var url: String {
        var text = Substring(endpoint.url)
        if let query = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<query] }
        // scheme://user:password@host/path → scheme://host/path
        let parts = text.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].hasSuffix(":"), parts[1].isEmpty, let at = parts[2].lastIndex(of: "@") else { return String(text) }
        var cleaned = parts
        cleaned[2] = parts[2][parts[2].index(after: at)...]
        return cleaned.joined(separator: "/")
    }

    var limit: String? {
        guard let limit = endpoint.limit else { return nil }
        var parts: [String] = []
        if let calls = limit.calls { parts.append("\(calls) calls per \(limit.renewalPeriod)") }
        if let tokens = limit.tokens { parts.append("\(tokens) tokens per \(limit.renewalPeriod)") }
        if let inFlight = limit.maxInFlight { parts.append("\(inFlight) at once") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    var json: JSONValue {
        let (state, message) = state
        var source = endpoint.source
        if source.hasPrefix("config:") { source.removeFirst("config:".count) }
        return .object([
            ("name", .string(endpoint.name)), ("task", endpoint.task.map { .string("\($0)") } ?? .null),
            ("provider", .string(endpoint.provider.rawValue)), ("model", endpoint.model.map { .string($0) } ?? .null),
            ("source", .string(source)), ("url", .string(url)),
            (
                "price",
                endpoint.price.map {
                    .object([("input_per_million", .double($0.inputPerMillion)), ("output_per_million", .double($0.outputPerMillion))])
                } ?? .null
            ),
            ("limit", limit.map { .string($0) } ?? .null), ("state", .string(state)), ("state_message", .string(message)),
            ("last_call_unix", latest.map { .double($0.time) } ?? .null),
        ])
    }
}
