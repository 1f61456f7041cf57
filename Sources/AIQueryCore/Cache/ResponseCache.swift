/// How a call uses the response cache.
public enum CacheMode: String, Sendable, CaseIterable {
    /// Answer from the cache when possible, store new answers.
    case on
    /// Neither read nor write.
    case off
    /// Always ask the endpoint and overwrite the stored answer.
    case refresh
    /// Cache only: a miss is an error, the endpoint is never called (reproducible and offline runs).
    case replay

    public var reads: Bool { self == .on || self == .replay }
    public var writes: Bool { self == .on || self == .refresh }
}

/// Persistent storage of whole answers by request key.
public protocol ResponseStore: AnyObject, Sendable {
    /// The stored answer, unless older than `maxAge` seconds. Usage, finish reason and the raw body are read only
    /// when asked for: a SQL cache hit needs the output alone.
    func lookup(key: [UInt8], maxAge: Double?, withDetails: Bool) throws(AIQueryError) -> ModelResponse?
    func store(key: [UInt8], endpoint: String, response: ModelResponse) throws(AIQueryError)
    /// Stores an answer without making the caller wait; lookups see it at once. Failures only warn. True when the
    /// answers waiting to be written are more than the store keeps queued: the caller should then run
    /// `finishQueuedWrites()` off its own thread before it queues more.
    @discardableResult
    func storeLater(key: [UInt8], endpoint: String, response: ModelResponse) -> Bool
    /// Writes every queued answer now, on the caller's thread.
    func finishQueuedWrites()
}

public enum CacheKey {
    /// Entries written under an older layout are never read: their keys start differently, so they are misses.
    static let version = "v2"

    /// SHA-256 of everything that determines the answer: provider, base URL, model, task and the full body with
    /// sorted keys (so parameter order doesn't matter). Never the API key. The first 128 bits are kept: a
    /// smaller index, and an accidental collision stays out of reach (birthday bound 2⁶⁴ entries).
    public static func make(endpoint: Endpoint, task: EndpointTask, body: JSONValue) -> [UInt8] {
        keyAndBodyBytes(endpoint: endpoint, task: task, body: body).key
    }

    /// The key, and the size of the body as it was serialized for it: what a call holds in memory, had without
    /// serializing the body again.
    static func keyAndBodyBytes(endpoint: Endpoint, task: EndpointTask, body: JSONValue) -> (key: [UInt8], bodyBytes: Int) {
        var material: [UInt8] = []
        material.reserveCapacity(256)
        for part in [
            version, endpoint.provider.rawValue, endpoint.url, endpoint.model ?? endpoint.name, endpoint.azureDeployment ?? "", task.rawValue,
        ] {
            material.append(contentsOf: part.utf8)
            material.append(0x0A)
        }
        let head = material.count
        body.write(into: &material, sortedKeys: true)
        return (Array(SHA256.hash(material).prefix(16)), material.count - head)
    }
}
