/// The pipeline from async code (a NIO server): the blocking work runs on worker threads, so the cooperative pool
/// never waits on the network, and cancelling the task interrupts the calls' waits. A fresh answer is queued for
/// the cache (``ResponseStore/storeLater(key:endpoint:response:)``) rather than written before the caller has it:
/// a write transaction, and now and then a checkpoint, would otherwise be in every miss's latency.
extension CallPipeline {
    /// One call. An answer from the statement or the cache comes back at once (a local read, no network: not worth
    /// a thread hop); a call that must ask the endpoint goes over ``asyncTransport`` when it can carry it, without
    /// leaving the caller's thread, else to a worker thread.
    /// - Parameter onDelta: set to stream the answer from an endpoint that can (``stream(_:plan:onDelta:)``).
    public func answer<Value: Sendable>(
        _ call: PreparedCall, plan: CallPlan, onDelta: (@Sendable (String) -> Void)? = nil,
        shape: @escaping @Sendable (ModelResponse) throws(AIQueryError) -> Value
    ) async -> Result<Value, AIQueryError> {
        if let (found, source) = lookup(call, plan: plan) { return complete(call, with: found, from: source, plan: plan, shape: shape) }
        if let transport = asyncTransport(for: plan) {
            let result = await fetchOne(call, plan: plan, over: transport, onDelta: onDelta)
            if case .success(let response) = result, remember(response, for: call, plan: plan, later: true) { await drainQueuedAnswers(plan) }
            return complete(call, with: result, from: .upstream, plan: plan, remembering: false, shape: shape)
        }
        return await onWorker { control in
            let result =
                onDelta == nil
                ? self.fetch([call], plan: plan, control: control)[0]
                : self.fetchOne(call, plan: plan, control: control, onDelta: onDelta)
            if case .success(let response) = result, self.remember(response, for: call, plan: plan, later: true) { plan.store?.finishQueuedWrites() }
            return self.complete(call, with: result, from: .upstream, plan: plan, remembering: false, shape: shape)
        }
    }

    /// Several calls of one request (an embeddings request with a list of inputs): each answered from the cache
    /// when it can be, identical ones asked once, the rest fetched together on a worker thread, in batches where
    /// the provider takes them (``CallBatches``, as a window does).
    public func answer<Value: Sendable>(
        _ calls: [PreparedCall], plan: CallPlan, shape: @escaping @Sendable (ModelResponse) throws(AIQueryError) -> Value
    ) async -> [Result<Value, AIQueryError>] {
        let found = calls.map { self.lookup($0, plan: plan) }
        var leaders: [[UInt8]: Int] = [:]
        var leaderOf: [Int: Int] = [:]
        var unique: [Int] = []
        for index in calls.indices where found[index] == nil {
            if let leader = leaders[calls[index].key] {
                leaderOf[index] = leader
            } else {
                leaders[calls[index].key] = index
                unique.append(index)
            }
        }
        if unique.isEmpty {
            return calls.indices.map { index in
                let (result, source) = found[index]!
                return self.complete(calls[index], with: result, from: source, plan: plan, shape: shape)
            }
        }
        return await onWorker { [leaderOf, unique] control in
            var fetched: [Int: Result<ModelResponse, AIQueryError>] = [:]
            let batchable = unique.filter { calls[$0].isBatchable }
            for group in CallBatches.split(batchable, of: calls, batchSize: max(1, plan.batchSize)) {
                for (index, result) in zip(group, self.fetch(group.map { calls[$0] }, plan: plan, control: control)) { fetched[index] = result }
            }
            for index in unique where !calls[index].isBatchable {
                fetched[index] = self.fetch([calls[index]], plan: plan, control: control)[0]
            }
            return calls.indices.map { index in
                if let (result, source) = found[index] { return self.complete(calls[index], with: result, from: source, plan: plan, shape: shape) }
                if let leader = leaderOf[index] {
                    return self.complete(calls[index], with: fetched[leader]!, from: .statement, plan: plan, remembering: false, shape: shape)
                }
                let result = fetched[index]!
                if case .success(let response) = result, self.remember(response, for: calls[index], plan: plan, later: true) {
                    plan.store?.finishQueuedWrites()
                }
                return self.complete(calls[index], with: result, from: .upstream, plan: plan, remembering: false, shape: shape)
            }
        }
    }

    /// The store's writer lags (the machine is saturated): this caller writes the queue, on a worker thread at
    /// normal priority, before it answers. That bounds the queue and slows callers to what the disk keeps up with.
    func drainQueuedAnswers(_ plan: CallPlan) async {
        guard let store = plan.store else { return }
        await onWorker { _ in store.finishQueuedWrites() }
    }

    /// Runs blocking work (a task lookup, a fetch) on a worker thread and resumes with its result; the control it
    /// gets reports the task's cancellation.
    public func onWorker<Value: Sendable>(_ work: @escaping @Sendable (CallControl) -> Value) async -> Value {
        let cancelled = SharedFlag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                workers.submit { continuation.resume(returning: work(CallControl(isCancelled: { cancelled.isSet }))) }
            }
        } onCancel: {
            cancelled.set()
        }
    }
}
