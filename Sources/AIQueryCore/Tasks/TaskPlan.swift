/// The task sequence, the same for every door: a task function's calls to its task endpoint, planned once per
/// statement (or request). The endpoint's task is checked and the request style chosen once; then each call is
/// prepared, answered through the pipeline (memo, cache, limits, budget, call log) and its answer checked. The
/// door resolves which endpoint (its connection's or process's task endpoints) and makes the plan.
public struct TaskPlan: Sendable {
    public let plan: CallPlan
    /// How chat and completions requests are written; nil for an embeddings plan.
    let style: TaskStyle?

    /// A plan for the functions that ask a chat or completions endpoint (all but `ai_similarity`).
    public init(chat plan: CallPlan, for function: TaskFunction, control: CallControl) throws(AIQueryError) {
        let task = try plan.task(control: control)
        guard task == .chat || task == .completions else {
            throw AIQueryError(
                .invalidConfiguration,
                "the task endpoint '\(plan.endpoint.name)' is \(task == .embeddings ? "an embeddings" : "a custom") endpoint; \(function.name) needs a chat or completions endpoint: ai_config('\(TaskEndpointNames.chatSetting)', 'my-llm')")
        }
        self.plan = plan
        style = TaskStyle.of(plan.endpoint, task: task)
    }

    /// A plan for embeddings (`ai_similarity`, `vector_search`'s query); `needs` says who needs one, for the
    /// message when the endpoint is something else.
    public init(embeddings plan: CallPlan, control: CallControl, needs: String) throws(AIQueryError) {
        guard try plan.task(control: control) == .embeddings else {
            throw AIQueryError(
                .invalidConfiguration,
                "endpoint '\(plan.endpoint.name)' is not an embeddings endpoint; \(needs) needs one: ai_config('\(TaskEndpointNames.embeddingsSetting)', 'my-embedder')")
        }
        self.plan = plan
        style = nil
    }

    /// The request of one call, ready for the pipeline (a window's, or ``answer(_:control:)``).
    public func prepare(_ call: TaskCall, control: CallControl) throws(AIQueryError) -> PreparedCall {
        try plan.prepare(call.request(style: style ?? .chat), control: control)
    }

    /// One call answered, blocking the calling thread, its answer checked (``TaskCall/answer(from:)``).
    public func answer(_ call: TaskCall, control: CallControl) -> Result<TaskAnswer, AIQueryError> {
        do throws(AIQueryError) {
            let prepared = try prepare(call, control: control)
            return plan.runtime.pipeline.answer(prepared, plan: plan, control: control) { response in call.answer(from: response.output) }
        } catch {
            return .failure(error)
        }
    }

    /// One text's embedding, blocking the calling thread.
    public func embedding(of text: String, control: CallControl) throws(AIQueryError) -> [Float] {
        let prepared = try plan.prepare(.text(text), control: control)
        let name = plan.endpoint.name
        return try plan.runtime.pipeline.answer(prepared, plan: plan, control: control) { response throws(AIQueryError) -> [Float] in
            guard case .embedding(let vector) = response.output, !vector.isEmpty else {
                throw AIQueryError(.invalidResponse, "endpoint '\(name)' did not answer with an embedding")
            }
            return vector
        }.get()
    }

    /// `ai_similarity`: the cosine of the two texts' embeddings, 1 for the same text (no call); nil when a
    /// vector is all zeros.
    public func similarity(_ call: TaskCall, control: CallControl) throws(AIQueryError) -> Double? {
        let other = call.other ?? ""
        if call.content == other { return 1 }
        let vectors = try [call.content, other].map { text throws(AIQueryError) in try embedding(of: text, control: control) }
        guard vectors[0].count == vectors[1].count else {
            throw AIQueryError(
                .invalidResponse,
                "endpoint '\(plan.endpoint.name)' answered embeddings of different lengths (\(vectors[0].count) and \(vectors[1].count))")
        }
        guard let cosine = VectorMath.cosine(vectors[0], vectors[1]) else { return nil }
        return min(1, max(-1, cosine))
    }
}
