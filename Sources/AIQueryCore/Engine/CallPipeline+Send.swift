/// One request's HTTP attempts from a blocking thread: within the endpoint's rate limits and the statement's budget,
/// retrying what is worth retrying (``RequestAttempts`` decides), every wait interruptible.
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
        /// HTTP requests it took, retries included.
        var attempts = 1

        func json(plan: CallPlan) throws(AIQueryError) -> JSONValue {
            if let parsed { return parsed }
            let type = response.header("content-type").map { ", \($0.truncatedForMessage(60))" } ?? ""
            throw AIQueryError(
                .invalidResponse,
                "endpoint '\(plan.endpoint.name)' returned a response that is not JSON (HTTP \(response.status)\(type)): \(redactor.redact(response.bodyText).truncatedForMessage(200))"
            )
        }
    }

    /// - Parameter onDelta: set to stream the answer: it gets the text as it comes (``RequestAttempts``).
    func send(
        _ body: JSONValue, plan: CallPlan, control: CallControl, onDelta: (@Sendable (String) -> Void)? = nil
    ) throws(AIQueryError) -> Exchange {
        var attempts = try RequestAttempts(body, plan: plan, task: try plan.task(control: control), onDelta: onDelta)
        do throws(AIQueryError) {
            while true {
                try attempts.begin(control: control)
                let secret = try attempts.credential.secret(runtime: plan.runtime, isCancelled: control.isCancelled)
                let permit: LimitPermit?
                do {
                    permit = try plan.limiter?.acquire(estimatedTokens: attempts.estimate, isCancelled: control.isCancelled ?? { false })
                } catch {
                    throw CallControl.cancelledError
                }
                let sent = System.monotonicSeconds()
                let outcome = Result { () throws(HTTPError) in
                    try plan.transport.send(attempts.request(secret: secret), isCancelled: control.isCancelled)
                }
                switch try attempts.settle(outcome, permit: permit, sent: sent, secret: secret, callerGone: control.isCancelled?() == true) {
                case .answer(let exchange): return exchange
                case .retry(let wait): try control.sleep(wait)
                }
            }
        } catch {
            throw attempts.traced(error)
        }
    }

    static func isEndpointWideLimit(_ response: HTTPResponse) -> Bool {
        let json = try? JSONValue.parse(bytes: response.body)
        return json?["error_code"]?.stringValue == "REQUEST_LIMIT_EXCEEDED"
    }
}
