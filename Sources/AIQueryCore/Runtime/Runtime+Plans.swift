/// The one plan factory: every door's plans are made here, with the same policy — the allowlist, the settings'
/// layers (call over connection over endpoint over default), the door's deadline and the cache.
extension Runtime {
    /// The plan for calls to the endpoint called `name`, as `endpoints` resolves it.
    /// - Parameters:
    ///   - allowlist: which endpoints may be called (`AIQUERY_ALLOWED_ENDPOINTS`, narrowed by a connection).
    ///   - call: the call's own settings (ai_query's options).
    ///   - connection: what `ai_config` set on the SQL connection.
    public func plan(
        endpoint name: String, endpoints: EndpointResolver, allowlist: EndpointAllowlist, options: RequestOptions = RequestOptions(),
        call: SettingLayer = SettingLayer(), connection: SettingLayer = SettingLayer(), door: Door
    ) throws(AIQueryError) -> CallPlan {
        try allowlist.check(name)
        let endpoint = try endpoints.resolve(name, in: self)
        return try plan(endpoint, options: options, call: call, connection: connection, door: door)
    }

    /// The plan for an endpoint already resolved (and allowed).
    public func plan(
        _ endpoint: Endpoint, options: RequestOptions = RequestOptions(), call: SettingLayer = SettingLayer(),
        connection: SettingLayer = SettingLayer(), door: Door
    ) throws(AIQueryError) -> CallPlan {
        for (key, value) in options.modelParameters {
            do throws(RequestParameters.Problem) { try RequestParameters.check(key, value) } catch {
                throw AIQueryError(.invalidArgument, "the request is invalid: \(error.message)")
            }
        }
        var endpointLayer = endpoint.settings
        if endpointLayer[.deadline] == nil, let deadline = door.defaultDeadline { endpointLayer[.deadline] = .seconds(deadline) }
        let settings = ResolvedSettings(call: call, connection: connection, endpoint: endpointLayer)
        return try CallPlan(runtime: self, endpoint: endpoint, options: options, settings: settings, store: settings.cacheMode == .off ? nil : store, door: door)
    }

    /// A plan that never calls: for the dry runs (`ai_query_request`, `ai_task_request`), which build the exact
    /// body a call would send.
    public func dryRunPlan(_ endpoint: Endpoint, options: RequestOptions = RequestOptions(), door: Door) throws(AIQueryError) -> CallPlan {
        try CallPlan(runtime: self, endpoint: endpoint, options: options, settings: ResolvedSettings(), store: nil, door: door)
    }
}
