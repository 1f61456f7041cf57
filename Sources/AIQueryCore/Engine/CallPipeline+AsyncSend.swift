/// One request's attempts from async code over a non-blocking transport: the same decisions as the blocking face
/// (``RequestAttempts``), with waits that suspend the task instead of a thread. Only what has no async form (an
/// OAuth token to fetch) goes to a worker thread.
extension CallPipeline {
    /// The async transport, when it can carry this plan's requests: a remote endpoint whose task is known (the
    /// server looks a workspace endpoint's task up first) at a URL the transport takes.
    func asyncTransport(for plan: CallPlan) -> (any AsyncHTTPTransport)? {
        guard let transport = asyncTransport, plan.provider.inProcess == nil, let task = plan.knownTask,
            transport.sends(to: plan.provider.url(for: plan.endpoint, task: task))
        else { return nil }
        return transport
    }

    func fetchOne(
        _ call: PreparedCall, plan: CallPlan, over transport: any AsyncHTTPTransport, onDelta: (@Sendable (String) -> Void)? = nil
    ) async -> Result<ModelResponse, AIQueryError> {
        let control = CallControl(isCancelled: { Task.isCancelled })
        let started = System.monotonicSeconds()
        let firstDelta = FirstMoment(watching: onDelta)
        let result: Result<ModelResponse, AIQueryError>
        do throws(AIQueryError) {
            let task = try plan.task(control: control)
            let exchange = try await send(call.body, plan: plan, control: control, over: transport, onDelta: firstDelta.onDelta)
            result = .success(try response(from: exchange, plan: plan, task: task))
        } catch {
            result = .failure(error)
        }
        return result.traced(since: started, firstDeltaAt: firstDelta.moment)
    }

    func send(
        _ body: JSONValue, plan: CallPlan, control: CallControl, over transport: any AsyncHTTPTransport,
        onDelta: (@Sendable (String) -> Void)? = nil
    ) async throws(AIQueryError) -> Exchange {
        var attempts = try RequestAttempts(body, plan: plan, task: try plan.task(control: control), onDelta: onDelta)
        do throws(AIQueryError) {
            while true {
                try attempts.begin(control: control)
                let secret = try await secret(of: attempts.credential, plan: plan)
                let permit: LimitPermit?
                do {
                    permit = try await plan.limiter?.acquire(estimatedTokens: attempts.estimate)
                } catch {
                    throw CallControl.cancelledError
                }
                let sent = System.monotonicSeconds()
                let outcome = await transport.send(attempts.request(secret: secret))
                switch try attempts.settle(outcome, permit: permit, sent: sent, secret: secret, callerGone: Task.isCancelled) {
                case .answer(let exchange): return exchange
                case .retry(let wait): try await Self.pause(wait)
                }
            }
        } catch {
            throw attempts.traced(error)
        }
    }

    private func secret(of credential: CallCredential, plan: CallPlan) async throws(AIQueryError) -> String? {
        if credential.isAtHand(in: plan.runtime) { return try credential.secret(runtime: plan.runtime, isCancelled: nil) }
        return try await onWorker { control in
            Result { () throws(AIQueryError) in try credential.secret(runtime: plan.runtime, isCancelled: control.isCancelled) }
        }.get()
    }

    /// Suspends the task for `seconds`; a cancelled task ends the call.
    static func pause(_ seconds: Double) async throws(AIQueryError) {
        do {
            try await Task.sleep(nanoseconds: UInt64(max(0, min(seconds, 86_400)) * 1e9))
        } catch {
            throw CallControl.cancelledError
        }
    }
}
