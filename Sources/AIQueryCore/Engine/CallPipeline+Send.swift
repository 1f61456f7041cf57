/// One request's HTTP attempts: within the endpoint's rate limits and the statement's budget, retrying what is
/// worth retrying, every wait interruptible.
extension CallPipeline {
    /// A successful HTTP answer, with what the pipeline read from it.
    struct Exchange {
        var response: HTTPResponse
        var url: String
        /// The body parsed once; nil when it is not JSON (``json(plan:)`` says so).
        var parsed: JSONValue?
        var usage: TokenUsage?
        /// The secrets this attempt carried, to keep out of any text made from the answer.
        var redactor: Redactor

        func json(plan: CallPlan) throws(AIQueryError) -> JSONValue {
            if let parsed { return parsed }
            let type = response.header("content-type").map { ", \($0.truncatedForMessage(60))" } ?? ""
            throw AIQueryError(
                .invalidResponse,
                "endpoint '\(plan.endpoint.name)' returned a response that is not JSON (HTTP \(response.status)\(type)): \(redactor.redact(response.bodyText).truncatedForMessage(200))"
            )
        }
    }

    func send(_ body: JSONValue, plan: CallPlan, control: CallControl) throws(AIQueryError) -> Exchange {
        let endpoint = plan.endpoint
        let task = try plan.task(control: control)
        let credential = try plan.credential()
        let url = plan.provider.url(for: endpoint, task: task)
        let bytes = Array(body.serialized().utf8)
        let policy = plan.settings.retryPolicy
        let estimate = Self.estimatedTokens(body: body, bodyBytes: bytes.count, task: task)
        if let limiter = plan.limiter, let budget = limiter.limits.tokensPerWindow, estimate > budget {
            // It could only ever run alone in an empty window, and would still go over the limit.
            throw AIQueryError(
                .tooLarge,
                "endpoint '\(endpoint.name)': this request needs about \(estimate) tokens (its prompt and max_tokens), more than the endpoint's whole limit of \(budget) tokens per \(plan.endpoint.limit?.renewalPeriod ?? "minute"); raise limit.tokens, lower max_tokens or shorten the request")
        }
        let started = System.monotonicSeconds()
        var attempt = 0
        while true {
            attempt += 1
            try control.checkCancelled()
            try plan.tally.beginCall(isRetry: attempt > 1)
            let secret = try credential.secret(transport: plan.transport, isCancelled: control.isCancelled)
            let redactor = credential.redactor(sending: secret)
            var request = HTTPRequest(url: url, body: bytes, timeout: plan.settings.timeout)
            request.headers = plan.provider.headers(for: endpoint, secret: secret) + [("Content-Type", "application/json"), ("Accept", "application/json")]
            let permit: LimitPermit?
            do {
                permit = try plan.limiter?.acquire(estimatedTokens: estimate, isCancelled: control.isCancelled ?? { false })
            } catch {
                throw CallControl.cancelledError
            }
            let sent = System.monotonicSeconds()
            let response: HTTPResponse
            defer { plan.tally.addUpstreamSeconds(System.monotonicSeconds() - sent) }
            do {
                response = try plan.transport.send(request, isCancelled: control.isCancelled)
            } catch {
                permit?.finish(actualTokens: nil)
                UsageLedger.shared.recordCall(endpoint: endpoint.name, isRetry: attempt > 1, seconds: System.monotonicSeconds() - sent, usage: nil)
                if error.kind == .cancelled { throw CallControl.cancelledError }
                let wait = policy.backoff(attempt: attempt)
                if RetryPolicy.isRetryable(error), attempt <= policy.maxRetries, fits(wait, started, policy) {
                    try control.sleep(wait)
                    continue
                }
                throw UpstreamError.transport(error, endpoint: endpoint, url: url, attempts: attempt)
            }
            let success = (200..<300).contains(response.status)
            let json = success ? try? JSONValue.parse(bytes: response.body) : nil
            let usage = json.flatMap(TokenUsage.init)
            permit?.finish(actualTokens: usage?.total)
            UsageLedger.shared.recordCall(endpoint: endpoint.name, isRetry: attempt > 1, seconds: System.monotonicSeconds() - sent, usage: usage)
            if let usage { plan.tally.addTokens(usage) }
            if success { return Exchange(response: response, url: url, parsed: json, usage: usage, redactor: redactor) }
            guard RetryPolicy.isRetryable(status: response.status, response: response), attempt <= policy.maxRetries else {
                throw UpstreamError.status(response, endpoint: endpoint, url: url, attempts: attempt, redactor: redactor)
            }
            let retryAfter = RetryPolicy.retryAfter(response)
            if let retryAfter, retryAfter > policy.maxRetryAfter {
                throw UpstreamError.status(
                    response, endpoint: endpoint, url: url, attempts: 1, redactor: redactor,
                    note: "; the endpoint asked to wait \(formatSeconds(retryAfter)), more than the \(formatSeconds(policy.maxRetryAfter)) cap")
            }
            let wait = retryAfter ?? policy.backoff(attempt: attempt)
            if response.status == 429, Self.isEndpointWideLimit(response) {
                // Databricks' REQUEST_LIMIT_EXCEEDED is about the endpoint, not this request: hold back every row.
                plan.limiter?.penalize(for: wait)
            }
            guard fits(wait, started, policy) else {
                throw UpstreamError.status(
                    response, endpoint: endpoint, url: url, attempts: attempt, redactor: redactor,
                    note: "; the deadline of \(formatSeconds(policy.deadline ?? 0)) leaves no time to retry")
            }
            try control.sleep(wait)
        }
    }

    func fits(_ wait: Double, _ started: Double, _ policy: RetryPolicy) -> Bool {
        guard let deadline = policy.deadline else { return true }
        return System.monotonicSeconds() + wait - started < deadline
    }

    static func isEndpointWideLimit(_ response: HTTPResponse) -> Bool {
        let json = try? JSONValue.parse(bytes: response.body)
        return json?["error_code"]?.stringValue == "REQUEST_LIMIT_EXCEEDED"
    }

    /// Prompt tokens guessed from the body size (about 4 bytes a token) plus the completion budget, bounded so that
    /// no `max_tokens` a user writes can overflow the sum.
    static func estimatedTokens(body: JSONValue, bodyBytes: Int, task: EndpointTask) -> Int {
        let prompt = bodyBytes / 4 + 1
        guard task == .chat || task == .completions else { return prompt }
        let budget = body["max_tokens"]?.int64Value ?? body["max_completion_tokens"]?.int64Value ?? 256
        return prompt + Int(min(max(budget, 0), Int64(TokenUsage.ceiling)))
    }
}
