/// The streamed face: one chat or completions call whose text is handed on as the endpoint makes it. Everything
/// else is the whole-answer path's: the statement's memo and the cache first, the same limits, budget and
/// retries (only before the first words), and the answer the pieces add up to is what the cache keeps — a
/// streamed request and a whole one share their entry.
extension CallPipeline {
    /// One call, its text going to `onDelta` piece by piece, then its whole answer. An answer from the cache is
    /// replayed word by word at once; an endpoint that cannot stream (embeddings, custom models) gives its whole
    /// text as one piece. A local GGUF model streams its tokens as it decodes them.
    public func stream(
        _ call: PreparedCall, plan: CallPlan, onDelta: @escaping @Sendable (String) -> Void
    ) async -> Result<ModelResponse, AIQueryError> {
        let streams = (plan.provider.inProcess != nil || plan.provider.streamFormat != nil) && plan.knownTask?.isGeneration == true
        let handedOn = SharedFlag()
        let forward: @Sendable (String) -> Void = { piece in
            handedOn.set()
            onDelta(piece)
        }
        let result = await answer(call, plan: plan, onDelta: streams ? forward : nil, shape: { $0 })
        // A cache hit, an endpoint that cannot stream, an upstream that answered whole JSON anyway: its text,
        // a word per piece.
        if case .success(let response) = result, !handedOn.isSet { Self.replay(response, to: onDelta) }
        return result
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
