/// Turns what an endpoint did wrong (an HTTP error, a transport failure) into an ``AIQueryError`` whose message
/// says what came back, where, and what to try.
package enum UpstreamError {
    /// `HTTP 404 RESOURCE_DOES_NOT_EXIST: Endpoint with name 'x' does not exist.` from any provider's error body,
    /// with the request's secrets removed, and the upstream's own code.
    package static func summary(_ response: HTTPResponse, redactor: Redactor) -> (text: String, code: String?) {
        var summary = "HTTP \(response.status)"
        let json = try? JSONValue.parse(bytes: response.body)
        var code: String?
        var message: String?
        if let json {
            if let errorCode = json["error_code"]?.stringValue {  // Databricks
                code = errorCode
                message = json["message"]?.stringValue
            } else if let error = json["error"], case .object = error {  // OpenAI, Anthropic
                code = error["code"]?.stringValue ?? error["type"]?.stringValue
                message = error["message"]?.stringValue
            } else if let error = json["error"]?.stringValue {
                message = error
            } else if let detail = json["detail"]?.stringValue ?? json["message"]?.stringValue {
                message = detail
            }
        }
        code = code.map { redactor.redact($0.truncatedForMessage(60)) }
        if let code, !code.isEmpty { summary += " \(code)" }
        if let message, !message.isEmpty {
            summary += ": \(redactor.redact(message).truncatedForMessage())"
        } else if json == nil {
            let text = redactor.redact(response.bodyText).trimmed()
            if !text.isEmpty { summary += ": \(text.truncatedForMessage(200))" }
        }
        return (summary, code)
    }

    static func status(
        _ response: HTTPResponse, endpoint: Endpoint, url: String, attempts: Int, redactor: Redactor, note: String = ""
    ) -> AIQueryError {
        let upstream = summary(response, redactor: redactor)
        return AIQueryError(
            .upstreamStatus,
            "endpoint '\(endpoint.name)' returned \(upstream.text) (POST \(Redactor.displayURL(url)))\(attemptsNote(attempts))\(note)",
            status: response.status, upstreamCode: upstream.code)
    }

    static func transport(_ error: HTTPError, endpoint: Endpoint, method: String = "POST", url: String, attempts: Int) -> AIQueryError {
        let code: AIQueryError.Code = error.kind == .timeout ? .timeout : error.kind == .cancelled ? .cancelled : .unreachable
        if code == .cancelled { return CallControl.cancelledError }
        return AIQueryError(
            code, "endpoint '\(endpoint.name)': \(error.message) (\(method) \(Redactor.displayURL(url)))\(attemptsNote(attempts))\(hint(error, endpoint))")
    }

    static func attemptsNote(_ count: Int) -> String { count > 1 ? "; gave up after \(count) attempts" : "" }

    static func hint(_ error: HTTPError, _ endpoint: Endpoint) -> String {
        switch error.kind {
        case .connectionRefused, .unresolvedHost:
            return endpoint.startHint.map { "; \($0)" } ?? "; is the server running and the url right?"
        case .timeout: return "; raise it with the timeout option (seconds)"
        default: return ""
        }
    }

    /// A request the endpoint refused for what it carries (too large, one bad input), as opposed to who sent it
    /// (401/403), where (404) or when (408/409/429): halving a batch can help only with these.
    static func isRefusal(_ error: AIQueryError) -> Bool {
        guard error.code == .upstreamStatus, let status = error.status, (400..<500).contains(status) else { return false }
        return ![401, 403, 404, 408, 409, 429].contains(status)
    }
}
