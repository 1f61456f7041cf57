/// Asking the endpoint: one request per call, embeddings in batches, in-process models without HTTP.
extension CallPipeline {
    /// One answer per call, in order. Safe on any thread. Calls of one batch must all be batchable; a batch the
    /// endpoint refuses for what it carries is split in halves down to single calls, so only the calls at fault
    /// fail; any other failure (the endpoint down after every retry, Ctrl-C, the budget) is every call's error.
    public func fetch(_ calls: [PreparedCall], plan: CallPlan, control: CallControl) -> [Result<ModelResponse, AIQueryError>] {
        let started = System.monotonicSeconds()
        if let model = plan.provider.inProcess {
            return runInProcess(model, calls, plan: plan, control: control).map { $0.traced(since: started) }
        }
        guard calls.count > 1 else {
            return calls.map { call in fetchOne(call, plan: plan, control: control) }
        }
        do {
            return try fetchBatch(calls, plan: plan, control: control).map { Result.success($0).traced(since: started) }
        } catch where UpstreamError.isRefusal(error) {
            let half = calls.count / 2
            return fetch(Array(calls[..<half]), plan: plan, control: control) + fetch(Array(calls[half...]), plan: plan, control: control)
        } catch {
            return calls.map { _ in Result.failure(error).traced(since: started) }
        }
    }

    /// One call's answer, its trace filled in (seconds, and when the first words came to `onDelta`).
    func fetchOne(
        _ call: PreparedCall, plan: CallPlan, control: CallControl, onDelta: (@Sendable (String) -> Void)? = nil
    ) -> Result<ModelResponse, AIQueryError> {
        if let model = plan.provider.inProcess, let task = plan.knownTask, task.isGeneration {
            return generateInProcess(model, call, task: task, plan: plan, control: control, onDelta: onDelta)
        }
        let started = System.monotonicSeconds()
        let firstDelta = FirstMoment(watching: onDelta)
        return Result { () throws(AIQueryError) in
            let task = try plan.task(control: control)
            return try response(from: try send(call.body, plan: plan, control: control, onDelta: firstDelta.onDelta), plan: plan, task: task)
        }.traced(since: started, firstDeltaAt: firstDelta.moment)
    }

    /// The answer in an exchange, with nothing of the attempt's secrets in it.
    func response(from exchange: Exchange, plan: CallPlan, task: EndpointTask) throws(AIQueryError) -> ModelResponse {
        var response: ModelResponse
        do {
            response = try plan.provider.response(from: try exchange.json(plan: plan), endpoint: plan.endpoint, task: task)
        } catch {
            var failure = error.redacted(by: exchange.redactor)
            failure.trace.attempts = exchange.attempts
            throw failure
        }
        response.output = exchange.redactor.redact(response.output)
        response.usage = exchange.usage
        response.raw = exchange.redactor.redact(exchange.response.body)
        response.trace.attempts = exchange.attempts
        return response
    }

    func fetchBatch(_ calls: [PreparedCall], plan: CallPlan, control: CallControl) throws(AIQueryError) -> [ModelResponse] {
        let texts: [JSONValue] = calls.map { call in
            if case .text(let text) = call.input { return .string(text) }
            return .null
        }
        let exchange = try send(calls[0].body.setting("input", .array(texts)), plan: plan, control: control)
        let vectors: [[Float]]
        do {
            vectors = try plan.provider.embeddings(from: try exchange.json(plan: plan), count: calls.count, endpoint: plan.endpoint)
        } catch {
            var failure = error.redacted(by: exchange.redactor)
            failure.trace.attempts = exchange.attempts
            throw failure
        }
        return vectors.map { vector in
            var response = ModelResponse(output: .embedding(vector))
            response.trace.attempts = exchange.attempts
            return response
        }
    }

    func runInProcess(
        _ model: any InProcessModel, _ calls: [PreparedCall], plan: CallPlan, control: CallControl
    ) -> [Result<ModelResponse, AIQueryError>] {
        if let task = plan.knownTask, task.isGeneration {
            return calls.map { call in generateInProcess(model, call, task: task, plan: plan, control: control, onDelta: nil) }
        }
        do {
            try control.checkCancelled()
            try plan.tally.beginCall(isRetry: false)
            let texts = calls.map { call -> String in
                if case .text(let text) = call.input { return text }
                return ""
            }
            let started = System.monotonicSeconds()
            let (vectors, tokens) = try model.embed(texts, endpoint: plan.endpoint, host: plan.runtime.localModels)
            let usage = TokenUsage(input: tokens, output: 0)
            let seconds = System.monotonicSeconds() - started
            plan.tally.addUpstreamSeconds(seconds)
            plan.runtime.ledger.recordCall(endpoint: plan.endpoint.name, isRetry: false, seconds: seconds, usage: usage)
            plan.tally.addTokens(usage)
            let share = tokens / max(1, vectors.count), rest = tokens % max(1, vectors.count)
            return vectors.enumerated().map { index, vector in
                var response = ModelResponse(output: .embedding(vector))
                // The model's tokens, shared out so that the rows' records add up to what it counted.
                response.usage = TokenUsage(input: share + (index < rest ? 1 : 0), output: 0)
                return .success(response)
            }
        } catch {
            return calls.map { _ in .failure(error) }
        }
    }

    /// A chat or completions answer decoded in this process: counted like an upstream call, one call per row (rows
    /// asked at once from several threads are decoded together by the model's batcher).
    func generateInProcess(
        _ model: any InProcessModel, _ call: PreparedCall, task: EndpointTask, plan: CallPlan, control: CallControl,
        onDelta: (@Sendable (String) -> Void)?
    ) -> Result<ModelResponse, AIQueryError> {
        let started = System.monotonicSeconds()
        let firstDelta = FirstMoment(watching: onDelta)
        return Result { () throws(AIQueryError) in
            try control.checkCancelled()
            try plan.tally.beginCall(isRetry: false)
            let response = try model.generate(
                call.body, task: task, endpoint: plan.endpoint, host: plan.runtime.localModels, control: control, onDelta: firstDelta.onDelta)
            let seconds = System.monotonicSeconds() - started
            plan.tally.addUpstreamSeconds(seconds)
            plan.runtime.ledger.recordCall(endpoint: plan.endpoint.name, isRetry: false, seconds: seconds, usage: response.usage)
            if let usage = response.usage { plan.tally.addTokens(usage) }
            return response
        }.traced(since: started, firstDeltaAt: firstDelta.moment)
    }
}
