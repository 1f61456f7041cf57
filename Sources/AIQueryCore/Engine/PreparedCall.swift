/// One request of a plan, ready to send: its body and the key it is cached and deduplicated under.
public struct PreparedCall: Sendable {
    public let input: ModelInput
    public let body: JSONValue
    /// Computed in every cache mode: identical requests of a statement are asked once even with the cache off.
    public let key: [UInt8]
    /// An embeddings text that may share a request with others of its plan.
    public let isBatchable: Bool

    /// Bytes of text this call adds to a batched request.
    var batchBytes: Int {
        if case .text(let text) = input { return text.utf8.count }
        return 0
    }

    /// About what the call holds in memory while it waits: its request body, whose text dominates.
    var heldBytes: Int {
        switch input {
        case .text(let text): return text.utf8.count + 64
        case .json: return body.serialized().utf8.count
        }
    }
}

extension ModelResponse {
    /// About what an answer holds in memory: its output and the upstream's body, when kept.
    var heldBytes: Int {
        let output: Int
        switch self.output {
        case .text(let text): output = text.utf8.count
        case .embedding(let vector): output = vector.count * 4
        case .json: output = raw?.count ?? 256
        }
        return output + (raw?.count ?? 0) + 64
    }
}

/// Where an answer came from: what `ai_usage` counts as a cache hit is any answer that made no call.
public enum AnswerSource: Sendable {
    case upstream
    case cache
    /// An identical request earlier in the same statement.
    case statement
}
