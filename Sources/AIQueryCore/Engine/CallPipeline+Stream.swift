/// The streamed face: one chat or completions call whose text is handed on as the endpoint makes it. Everything
/// else is the whole-answer path's: the statement's memo and the cache first, the same limits, budget and
/// retries (only before the first words), and the answer the pieces add up to is what the cache keeps — a
/// streamed request and a whole one share their entry.
extension CallPipeline {
    /// One call, its text going to `onDelta` piece by piece, then its whole answer. An answer from the cache is
    /// replayed word by word at once; an endpoint that cannot stream (in-process models, embeddings, custom
    /// models) gives its whole text as one piece.
    public func stream(
        _ call: PreparedCall, plan: CallPlan, onDelta: @escaping @Sendable (String) -> Void
    ) async -> Result<ModelResponse, AIQueryError> {
        if let (found, source) = lookup(call, plan: plan) {
            let result = complete(call, with: found, from: source, plan: plan, shape: { $0 })
            if case .success(let response) = result { Self.replay(response, to: onDelta) }
            return result
        }
        guard let task = plan.knownTask, task == .chat || task == .completions, plan.provider.inProcess == nil, plan.provider.streamFormat != nil else {
            let result = await answer(call, plan: plan, shape: { $0 })
            if case .success(let response) = result { Self.replay(response, to: onDelta) }
            return result
        }
        let handedOn = SharedFlag()
        let forward: @Sendable (String) -> Void = { piece in
            handedOn.set()
            onDelta(piece)
        }
        let result: Result<ModelResponse, AIQueryError>
        if let transport = asyncTransport(for: plan) {
            let control = CallControl(isCancelled: { Task.isCancelled })
            do throws(AIQueryError) {
                let exchange = try await send(call.body, plan: plan, control: control, over: transport, onDelta: forward)
                result = .success(try response(from: exchange, plan: plan, task: task))
            } catch {
                result = .failure(error)
            }
        } else {
            result = await onWorker { control in
                Result { () throws(AIQueryError) in
                    try self.response(from: try self.send(call.body, plan: plan, control: control, onDelta: forward), plan: plan, task: task)
                }
            }
        }
        // An upstream that answered whole JSON to a request for a stream: its text is one piece.
        if case .success(let response) = result, !handedOn.isSet { Self.replay(response, to: onDelta) }
        if case .success(let response) = result, remember(response, for: call, plan: plan, later: true) { await drainQueuedAnswers(plan) }
        return complete(call, with: result, from: .upstream, plan: plan, remembering: false, shape: { $0 })
    }

    /// A whole answer's text as a stream: a word (with the space before it) per piece, at most 256 pieces.
    static func replay(_ response: ModelResponse, to onDelta: @Sendable (String) -> Void) {
        let text: String
        switch response.output {
        case .text(let value): text = value
        case .json(let value): text = value.serialized()
        case .embedding: return
        }
        for piece in pieces(of: text) { onDelta(piece) }
    }

    static func pieces(of text: String, most: Int = 256) -> [String] {
        var pieces: [String] = []
        var current = ""
        var inWord = false
        for character in text {
            let space = character.isWhitespace
            if space, inWord, !current.isEmpty, pieces.count < most - 1 {
                pieces.append(current)
                current = ""
            }
            inWord = !space
            current.append(character)
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}
