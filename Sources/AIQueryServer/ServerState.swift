import AIQueryCore
import Synchronization

/// What every request of one `aiquery serve` shares: the endpoint registry (the YAML file, the built-in local
/// endpoints, a Databricks workspace), the cache file the SQL extension uses too, the accepted credentials and the
/// counters behind /metrics.
final class ServerState: Sendable {
    let endpoints = EndpointResolver()
    /// The server's runtime: its pipeline's async face sends over the server's event-loop client.
    let runtime: Runtime
    let store: SQLiteResponseStore?
    let tokens: AccessTokens
    let metrics = ServerMetrics()
    let redactor: Redactor
    var pipeline: CallPipeline { runtime.pipeline }
    let maxBodyBytes: Int
    let readTimeout: Double
    let options: ServeOptions

    init(options: ServeOptions, runtime: Runtime) {
        self.options = options
        self.runtime = runtime
        store = runtime.store
        tokens = AccessTokens(options: options)
        redactor = Redactor(secrets: tokens.secrets)
        maxBodyBytes = options.maxBodyBytes
        readTimeout = options.readTimeout
    }

    /// The endpoints this server may call: `AIQUERY_ALLOWED_ENDPOINTS`, as for SQL.
    let allowlist = EndpointAllowlist.process

    /// The plan for one request, from the runtime's plan factory: the endpoint's own settings, the server's
    /// deadline, the caller's request tags, no connection layer.
    func plan(for name: String, options: RequestOptions = RequestOptions(), requestTags: String? = nil, cache: CacheMode? = nil) throws(ServingError) -> CallPlan {
        var call = SettingLayer()
        if let requestTags { call[.requestTags] = .json(requestTags) }
        if let cache { call[.cache] = .choice(cache.rawValue) }
        do {
            return try runtime.plan(endpoint: name, endpoints: endpoints, allowlist: allowlist, options: options, call: call, door: .serve)
        } catch {
            throw ServingError(error, endpoint: name)
        }
    }

    /// An endpoint callers may see and call.
    func endpoint(named name: String) throws(ServingError) -> Endpoint {
        do {
            try allowlist.check(name)
            return try endpoints.resolve(name, in: runtime)
        } catch {
            throw ServingError(error, endpoint: name)
        }
    }

    /// Every endpoint callers may see.
    func listing() throws(ServingError) -> [Endpoint] {
        do {
            return try endpoints.listing(in: runtime).filter { (try? allowlist.check($0.name)) != nil }
        } catch {
            throw ServingError(error, endpoint: nil)
        }
    }
}
