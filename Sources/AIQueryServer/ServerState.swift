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

    init(options: ServeOptions, runtime: Runtime) {
        self.runtime = runtime
        store = runtime.store
        tokens = AccessTokens(options: options)
        redactor = Redactor(secrets: tokens.secrets)
        maxBodyBytes = options.maxBodyBytes
    }

    /// Every request ends within this many seconds, all attempts together, unless its endpoint says otherwise.
    static let requestDeadline = 600.0

    /// The plan for one request: the endpoint's own settings, no connection layer.
    func plan(for endpoint: Endpoint, options: RequestOptions = RequestOptions()) throws(AIQueryError) -> CallPlan {
        var settings = endpoint.settings
        if settings[.deadline] == nil { settings[.deadline] = .seconds(Self.requestDeadline) }
        return try CallPlan(
            runtime: runtime, endpoint: endpoint, options: options, settings: ResolvedSettings(endpoint: settings), store: store, readsDetails: true)
    }

    func endpoint(named name: String) throws(ServingError) -> Endpoint {
        do { return try endpoints.resolve(name, in: runtime) } catch {
            throw ServingError(error, endpoint: name)
        }
    }
}
