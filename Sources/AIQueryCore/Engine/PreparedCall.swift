/// One request of a plan, ready to send: its body and the key it is cached and deduplicated under.
public struct PreparedCall: Sendable {
    public let input: ModelInput
    public let body: JSONValue
    /// Computed in every cache mode: identical requests of a statement are asked once even with the cache off.
    public let key: [UInt8]
    /// An embeddings text that may share a request with others of its plan.
    public let isBatchable: Bool
    /// The body's size, serialized: about what the call holds in memory while it waits.
    let bodyBytes: Int

    /// Bytes of text this call adds to a batched request.
    var batchBytes: Int {
        if case .text(let text) = input { return text.utf8.count }
        return 0
    }
}

/// Where an answer came from: what `ai_usage` counts as a cache hit is any answer that made no call.
public enum AnswerSource: Sendable {
    case upstream
    case cache
    /// An identical request earlier in the same statement.
    case statement
}
