/// Which endpoints may be called, for deployments that expose SQL to others (Datasette, a web app). The process
/// sets it with `AIQUERY_ALLOWED_ENDPOINTS` (`none`, or names separated by commas), a connection with
/// `ai_config('allowed_endpoints', …)`, which can only narrow it: SQL that may set it must not be able to lift it.
/// While anything is restricted, endpoint definitions cannot change either, or an allowed name could be pointed
/// at another host.
public struct EndpointAllowlist: Sendable, Equatable {
    public static let settingName = "allowed_endpoints"
    public static let variable = "AIQUERY_ALLOWED_ENDPOINTS"

    /// nil: every endpoint.
    public private(set) var names: Set<String>?

    public init(names: Set<String>? = nil) { self.names = names }

    /// What the environment allows (read once per process).
    public static let process: EndpointAllowlist = {
        guard let value = System.environment(variable) else { return EndpointAllowlist() }
        return EndpointAllowlist(names: parse(value))
    }()

    public var isRestricted: Bool { names != nil }

    static func parse(_ text: String) -> Set<String> {
        let trimmed = text.trimmed()
        if trimmed.isEmpty || trimmed.lowercased() == "none" { return [] }
        return Set(trimmed.split(separator: ",").map { String($0).trimmed() }.filter { !$0.isEmpty })
    }

    /// Only what both allow.
    public func narrowed(to text: String) -> EndpointAllowlist {
        let wanted = Self.parse(text)
        return EndpointAllowlist(names: names.map { $0.intersection(wanted) } ?? wanted)
    }

    public func check(_ endpoint: String) throws(AIQueryError) {
        guard let names, !names.contains(endpoint) else { return }
        let allowed = names.isEmpty ? "no endpoint may be called" : "only \(names.sorted().joined(separator: ", ")) may be called"
        throw AIQueryError(
            .permissionDenied,
            "endpoint '\(endpoint)' is not allowed here: \(allowed) (\(Self.variable) or ai_config('\(Self.settingName)'))")
    }

    /// nil (every endpoint), `none`, or the names.
    public var description: String? {
        guard let names else { return nil }
        return names.isEmpty ? "none" : names.sorted().joined(separator: ",")
    }
}
