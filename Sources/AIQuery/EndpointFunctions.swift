import AIQueryCore

/// `ai_endpoint_set`, `ai_endpoint_drop` and the `ai_endpoints` listing.
enum EndpointFunctions {
    static func set(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        try SettingsFunctions.requireUnrestricted(state, "endpoint definitions cannot change")
        guard case .text(let name, _) = arguments[0], !name.isEmpty else {
            throw AIQueryError("the endpoint name (first argument) must be non-empty text")
        }
        guard case .text(let text, _) = arguments[1] else {
            throw AIQueryError(
                "the definition (second argument) must be JSON text such as '{\"provider\":\"openai\",\"task\":\"chat\",\"model\":\"gpt-4o-mini\",\"api_key\":\"$OPENAI_API_KEY\"}'"
            )
        }
        let spec: JSONValue
        do { spec = try JSONValue.parse(text) } catch {
            throw AIQueryError("the definition of '\(name)' is not valid JSON: \(error)")
        }
        let endpoint = try Endpoint.parse(name: name, spec: spec, source: "session", allowLiteralKeys: false)
        state.endpoints.setSessionEndpoint(endpoint)
        return .text(name)
    }

    static func drop(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        try SettingsFunctions.requireUnrestricted(state, "endpoint definitions cannot change")
        guard case .text(let name, _) = arguments[0] else { throw AIQueryError("the endpoint name must be text") }
        return .integer(state.endpoints.dropSessionEndpoint(name) ? 1 : 0)
    }

    static func listing(_ state: ConnectionState) throws -> [[SQLResult]] {
        try state.endpoints.listing(in: state.runtime).map { endpoint in
            [
                .text(endpoint.name),
                endpoint.task.map { .text($0.rawValue) } ?? .null,
                .text(endpoint.provider.rawValue),
                endpoint.model.map { .text($0) } ?? .null,
                .text(Redactor.displayURL(endpoint.url)),
                .text(endpoint.source),
                keyDescription(endpoint.apiKey),
            ]
        }
    }

    /// Where the key comes from, never the key itself.
    static func keyDescription(_ source: SecretSource) -> SQLResult {
        switch source {
        case .none: return .null
        case .environment(let variable): return .text("$\(variable)")
        case .literal: return .text("(in config file)")
        case .databricksWorkspace: return .text("(databricks workspace)")
        }
    }
}

enum MetaFunctions {
    /// Build and runtime facts for bug reports; no secrets.
    static func debug(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        var members: [(String, JSONValue)] = [
            ("version", .string(AIQueryVersion.string)),
            ("sqlite", .string(SQLiteInfo.version)),
            ("config", .string(ConfigFile.path)),
        ]
        if let workspace = try? DatabricksWorkspace.current() {
            members.append(("databricks_host", .string(workspace.host)))
            members.append(("databricks_auth", .string(workspace.origin)))
        }
        return .json(JSONValue.object(members).serialized())
    }
}
