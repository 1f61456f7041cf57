/// The tokens a request is costed at against an endpoint's `limit.tokens` before its usage is known: its prompt
/// guessed from the body's size (about 4 bytes a token) plus its completion budget (`max_tokens`, else 256 for
/// chat and completions). One estimate for every door: the pipeline's limiter, and a server's caller admission.
public enum TokenEstimate {
    /// Bounded so that no `max_tokens` a user writes can overflow the sum.
    static func of(body: JSONValue, bodyBytes: Int, task: EndpointTask) -> Int {
        let prompt = bodyBytes / 4 + 1
        guard task == .chat || task == .completions else { return prompt }
        let budget = body["max_tokens"]?.int64Value ?? body["max_completion_tokens"]?.int64Value ?? 256
        return prompt + Int(min(max(budget, 0), Int64(TokenUsage.ceiling)))
    }

    static func of(_ call: PreparedCall, task: EndpointTask) -> Int {
        of(body: call.body, bodyBytes: call.body.serialized().utf8.count, task: task)
    }
}

extension CallPlan {
    /// A server's caller is admitted at once or told when to retry (HTTP 429 with Retry-After, as Databricks
    /// answers): the endpoint's limit counted for callers, each call at the same estimate its upstream request
    /// gets. nil permit: the endpoint has no limit.
    public func admitCaller(_ calls: [PreparedCall]) -> Result<LimitPermit?, LimitWait> {
        guard let limiter = runtime.callerLimiters.limiter(for: endpoint), let task = knownTask else { return .success(nil) }
        let estimate = calls.reduce(0) { min($0 + TokenEstimate.of($1, task: task), TokenUsage.ceiling) }
        return limiter.tryAcquire(estimatedTokens: estimate).map { $0 }
    }
}
