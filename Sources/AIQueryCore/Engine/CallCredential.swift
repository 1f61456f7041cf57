/// The secret a plan's requests carry, found once per statement: an API key from the environment or a config
/// file, or Databricks workspace credentials (whose OAuth token the authenticator refreshes as it expires).
struct CallCredential: Sendable {
    enum Source: Sendable {
        case none
        case key(String)
        case workspace(DatabricksWorkspace)
    }

    let source: Source
    /// Secrets that are not sent as the header but must never be shown either (an OAuth client secret, a URL
    /// password).
    let otherSecrets: [String]

    static func resolve(for endpoint: Endpoint) throws(AIQueryError) -> CallCredential {
        let urlPassword = Redactor.password(in: endpoint.url).map { [$0] } ?? []
        switch endpoint.apiKey {
        case .none: return CallCredential(source: .none, otherSecrets: urlPassword)
        case .literal(let key): return CallCredential(source: .key(key), otherSecrets: urlPassword)
        case .environment(let variable):
            guard let value = System.environment(variable), !value.isEmpty else {
                throw AIQueryError(.missingCredentials, "endpoint '\(endpoint.name)' needs an API key: set the environment variable \(variable)")
            }
            return CallCredential(source: .key(value), otherSecrets: urlPassword)
        case .databricksWorkspace:
            guard let workspace = try DatabricksWorkspace.current() else {
                throw AIQueryError(
                    .missingCredentials,
                    "endpoint '\(endpoint.name)' needs Databricks credentials: set DATABRICKS_HOST and DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET), or add a profile to ~/.databrickscfg"
                )
            }
            var others = urlPassword
            if case .oauth(_, let clientSecret) = workspace.credential { others.append(clientSecret) }
            return CallCredential(source: .workspace(workspace), otherSecrets: others)
        }
    }

    /// The value for the request's auth header, for this attempt.
    func secret(runtime: Runtime, isCancelled: (@Sendable () -> Bool)?) throws(AIQueryError) -> String? {
        switch source {
        case .none: return nil
        case .key(let key): return key
        case .workspace(let workspace):
            return try runtime.authenticator.token(for: workspace, transport: runtime.transport, isCancelled: isCancelled)
        }
    }

    /// Whether ``secret(runtime:isCancelled:)`` answers without a network call (a key, a personal access token,
    /// an OAuth token still fresh).
    func isAtHand(in runtime: Runtime) -> Bool {
        guard case .workspace(let workspace) = source else { return true }
        return runtime.authenticator.hasFreshToken(for: workspace)
    }

    /// Everything of this credential that must not appear in text, with the secret sent on this attempt.
    func redactor(sending secret: String?) -> Redactor {
        Redactor(secrets: otherSecrets + [secret].compactMap { $0 })
    }
}
