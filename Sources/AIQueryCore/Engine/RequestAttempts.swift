/// The attempts of one request as decisions, without the waiting or the I/O: what to send, whether an outcome is
/// the answer, a retry after some seconds, or the row's error. The blocking face (``CallPipeline/send(_:plan:control:)``)
/// and the async one (``CallPipeline/send(_:plan:control:over:)``) drive the same decisions, each waiting its own way.
struct RequestAttempts {
    let plan: CallPlan
    let url: String
    let bytes: [UInt8]
    /// Tokens the limiter debits for the request before its usage is known.
    let estimate: Int
    let credential: CallCredential
    let task: EndpointTask
    private let policy: RetryPolicy
    private let started = System.monotonicSeconds()
    private(set) var attempt = 0
    /// For a streamed answer: its wire format and where its text goes as it comes.
    private let streaming: (format: StreamFormat, onDelta: @Sendable (String) -> Void)?
    /// The stream of the attempt under way.
    private var streamed: StreamedAnswer?

    enum Next {
        case answer(CallPipeline.Exchange)
        case retry(after: Double)
    }

    /// - Parameter onDelta: set to stream the answer (the provider must have a ``Provider/streamFormat``).
    init(_ body: JSONValue, plan: CallPlan, task: EndpointTask, onDelta: (@Sendable (String) -> Void)? = nil) throws(AIQueryError) {
        self.plan = plan
        self.task = task
        credential = try plan.credential()
        url = plan.provider.url(for: plan.endpoint, task: task)
        streaming = onDelta.flatMap { onDelta in plan.provider.streamFormat.map { ($0, onDelta) } }
        bytes = Array((streaming?.format.streamingBody(body) ?? body).serialized().utf8)
        policy = plan.settings.retryPolicy
        estimate = TokenEstimate.of(body: body, bodyBytes: bytes.count, task: task)
        if let limiter = plan.limiter, let budget = limiter.limits.tokensPerWindow, estimate > budget {
            // It could only ever run alone in an empty window, and would still go over the limit.
            throw AIQueryError(
                .tooLarge,
                "endpoint '\(plan.endpoint.name)': this request needs about \(estimate) tokens (its prompt and max_tokens), more than the endpoint's whole limit of \(budget) tokens per \(plan.endpoint.limit?.renewalPeriod ?? "minute"); raise limit.tokens, lower max_tokens or shorten the request")
        }
    }

    /// Counts a new attempt against the statement's budget.
    mutating func begin(control: CallControl) throws(AIQueryError) {
        try control.checkCancelled()
        try plan.tally.beginCall(isRetry: attempt > 0)
        attempt += 1
    }

    /// The attempt's request, carrying `secret` in the provider's auth header; a streamed one reads its answer as
    /// it comes.
    mutating func request(secret: String?) -> HTTPRequest {
        var request = HTTPRequest(url: url, body: bytes, timeout: plan.settings.timeout)
        let accept = streaming == nil ? "application/json" : "text/event-stream"
        request.headers = plan.provider.headers(for: plan.endpoint, secret: secret) + [("Content-Type", "application/json"), ("Accept", accept)]
        if let (format, onDelta) = streaming {
            let stream = StreamedAnswer(format: format, task: task, redactor: credential.redactor(sending: secret), onDelta: onDelta)
            streamed = stream
            request.onBodyPart = { stream.feed($0) }
        }
        return request
    }

    /// What the attempt sent at `sent` with `secret` came to. Ends its rate-limit permit and records its usage
    /// either way; no text made from the answer shows the secret.
    /// - Parameter callerGone: the caller has gone (Ctrl-C, a server's client hanging up): a transport failure is
    ///   then the dropped request, the caller's doing, not the upstream failing.
    func settle(
        _ outcome: Result<HTTPResponse, HTTPError>, permit: LimitPermit?, sent: Double, secret: String?, callerGone: Bool = false
    ) throws(AIQueryError) -> Next {
        let endpoint = plan.endpoint
        let redactor = credential.redactor(sending: secret)
        let seconds = System.monotonicSeconds() - sent
        plan.tally.addUpstreamSeconds(seconds)
        var response: HTTPResponse
        switch outcome {
        case .failure(let error):
            permit?.finish(actualTokens: nil)
            plan.runtime.ledger.recordCall(endpoint: endpoint.name, isRetry: attempt > 1, seconds: seconds, usage: nil)
            if error.kind == .cancelled || callerGone { throw CallControl.cancelledError }
            let wait = policy.backoff(attempt: attempt)
            // Once the caller has the first words of an answer, another attempt would tell it a different story.
            let begun = streamed?.hasDelivered == true
            if !begun, RetryPolicy.isRetryable(error), attempt <= policy.maxRetries, fits(wait) { return retry(after: wait) }
            throw UpstreamError.transport(error, endpoint: endpoint, url: url, attempts: attempt)
        case .success(let value):
            response = value
        }
        let success = (200..<300).contains(response.status)
        var json: JSONValue?
        var streamFailure: AIQueryError?
        if success, let streamed {
            // The events add up to the body a whole answer has: that is what is read, counted and cached.
            do throws(AIQueryError) {
                json = try streamed.assembled(endpoint: endpoint)
                if let json { response.body = Array(json.serialized().utf8) }
            } catch {
                streamFailure = error
            }
        }
        if success, json == nil, streamFailure == nil { json = try? JSONValue.parse(bytes: response.body) }
        let usage = json.flatMap(TokenUsage.init)
        permit?.finish(actualTokens: usage?.total)
        plan.runtime.ledger.recordCall(endpoint: endpoint.name, isRetry: attempt > 1, seconds: seconds, usage: usage)
        if let usage { plan.tally.addTokens(usage) }
        if let streamFailure { throw streamFailure }
        if success {
            return .answer(CallPipeline.Exchange(response: response, url: url, parsed: json, usage: usage, redactor: redactor, attempts: attempt))
        }
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
        if response.status == 429, CallPipeline.isEndpointWideLimit(response) {
            // Databricks' REQUEST_LIMIT_EXCEEDED is about the endpoint, not this request: hold back every row.
            plan.limiter?.penalize(for: wait)
        }
        guard fits(wait) else {
            throw UpstreamError.status(
                response, endpoint: endpoint, url: url, attempts: attempt, redactor: redactor,
                note: "; the deadline of \(formatSeconds(policy.deadline ?? 0)) leaves no time to retry")
        }
        return retry(after: wait)
    }

    /// The call's error with the requests it sent in its trace.
    func traced(_ error: AIQueryError) -> AIQueryError {
        var error = error
        error.trace.attempts = attempt
        return error
    }

    /// A wait before the next attempt is the upstream's time, not the gateway's.
    private func retry(after wait: Double) -> Next {
        plan.tally.addUpstreamSeconds(wait)
        return .retry(after: wait)
    }

    private func fits(_ wait: Double) -> Bool {
        guard let deadline = policy.deadline else { return true }
        return System.monotonicSeconds() + wait - started < deadline
    }
}
