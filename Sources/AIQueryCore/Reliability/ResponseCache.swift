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
}

/// Persistent storage of answers by request key. Implemented over the host's SQLite by the SQL layer.
public protocol ResponseStore: AnyObject, Sendable {
    /// The stored answer, unless older than `maxAge` seconds.
    func lookup(key: [UInt8], maxAge: Double?) throws -> ModelOutput?
    func store(key: [UInt8], endpoint: String, output: ModelOutput) throws
}

/// The cache settings of one call.
public struct CachePolicy: Sendable {
    public var mode: CacheMode = .on
    /// Entries older than this many seconds count as misses.
    public var ttl: Double?
    public var store: (any ResponseStore)?

    public init(mode: CacheMode = .on, ttl: Double? = nil, store: (any ResponseStore)? = nil) {
        self.mode = mode
        self.ttl = ttl
        self.store = store
    }
}

public enum CacheKey {
    /// SHA-256 of everything that determines the answer: provider, base URL, model, task and the full body with
    /// sorted keys (so parameter order doesn't matter). Never the API key. The first 128 bits are kept: a
    /// smaller index, and an accidental collision stays out of reach (birthday bound 2⁶⁴ entries).
    public static func make(endpoint: Endpoint, task: EndpointTask, body: JSONValue) -> [UInt8] {
        var material: [UInt8] = []
        material.reserveCapacity(256)
        for part in [
            "v1", endpoint.provider.rawValue, endpoint.url, endpoint.model ?? endpoint.name,
            endpoint.azureDeployment ?? "", task.rawValue,
        ] {
            material.append(contentsOf: part.utf8)
            material.append(0x0A)
        }
        body.write(into: &material, sortedKeys: true)
        return Array(SHA256.hash(material).prefix(16))
    }
}
