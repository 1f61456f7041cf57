import Synchronization

/// Finds an endpoint by name: this connection's endpoints first, then the YAML file, then the Databricks workspace.
public final class EndpointResolver: Sendable {
    /// Endpoints registered in SQL with ai_endpoint_set; they live as long as the connection.
    private let session = Mutex<[String: Endpoint]>([:])
    private let sessionOrder = Mutex<[String]>([])

    public init() {}

    public func setSessionEndpoint(_ endpoint: Endpoint) {
        session.withLock { $0[endpoint.name] = endpoint }
        sessionOrder.withLock { order in
            if !order.contains(endpoint.name) { order.append(endpoint.name) }
        }
    }

    /// Returns whether an endpoint by that name was registered.
    @discardableResult
    public func dropSessionEndpoint(_ name: String) -> Bool {
        sessionOrder.withLock { $0.removeAll { $0 == name } }
        return session.withLock { $0.removeValue(forKey: name) } != nil
    }

    /// - Parameter runtime: whose endpoints file and learned workspace tasks count.
    public func resolve(_ name: String, in runtime: Runtime) throws(AIQueryError) -> Endpoint {
        if let endpoint = session.withLock({ $0[name] }) { return endpoint }
        if let endpoint = try runtime.configFile.endpoints().first(where: { $0.name == name }) { return endpoint }
        if let endpoint = LocalModels.builtIn.first(where: { $0.name == name }) { return endpoint }
        if let workspace = try DatabricksWorkspace.current() {
            var endpoint = Endpoint(
                name: name, task: nil, provider: .databricks, model: name, url: workspace.host,
                apiKey: .databricksWorkspace, source: "databricks")
            endpoint.task = runtime.workspaceTasks.task(host: workspace.host, name: name)
            return endpoint
        }
        throw AIQueryError(
            .unknownEndpoint, "unknown endpoint '\(name)': register it with ai_endpoint_set('\(name)', '{\"provider\":\"openai\",\"task\":\"chat\",\"model\":\"…\",\"url\":\"http://…/v1\"}'), add it to \(ConfigFile.path) (AIQUERY_CONFIG), or set DATABRICKS_HOST and DATABRICKS_TOKEN to use a Databricks workspace"
        )
    }

    /// Everything that can be listed: session endpoints, the file's, and workspace endpoints already used.
    public func listing(in runtime: Runtime) throws(AIQueryError) -> [Endpoint] {
        var result = sessionOrder.withLock { $0 }.compactMap { name in session.withLock { $0[name] } }
        let sessionNames = Set(result.map(\.name))
        result += try runtime.configFile.endpoints().filter { !sessionNames.contains($0.name) }
        let defined = Set(result.map(\.name))
        result += LocalModels.builtIn.filter { !defined.contains($0.name) }
        if let workspace = try? DatabricksWorkspace.current() {
            let known = Set(result.map(\.name))
            let remembered = runtime.workspaceTasks.known(host: workspace.host).compactMap { name, task -> Endpoint? in
                guard !known.contains(name) else { return nil }
                return Endpoint(
                    name: name, task: task, provider: .databricks, model: name, url: workspace.host, apiKey: .databricksWorkspace,
                    source: "databricks")
            }
            result += remembered.sorted { $0.name < $1.name }
        }
        return result
    }
}
