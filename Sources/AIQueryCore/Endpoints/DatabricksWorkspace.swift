import Synchronization

/// The Databricks workspace ai_query falls back to, found the way the Databricks SDK finds it:
/// `DATABRICKS_HOST` + `DATABRICKS_TOKEN` (or `DATABRICKS_CLIENT_ID` / `DATABRICKS_CLIENT_SECRET` for OAuth
/// machine-to-machine), else a `~/.databrickscfg` profile (`DATABRICKS_CONFIG_PROFILE`, default `DEFAULT`).
public struct DatabricksWorkspace: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        case token(String)
        case oauth(clientID: String, clientSecret: String)
    }

    public var host: String
    public var credential: Credential
    /// Where the settings came from, for ai_endpoints and error messages (never the secret).
    public var origin: String

    private struct Remembered {
        var environment: [String?]
        var stamp: [Int]?
        var result: Result<DatabricksWorkspace?, AIQueryError>
    }
    private static let remembered = Mutex<Remembered?>(nil)
    private static let variables = [
        "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
        "DATABRICKS_CONFIG_FILE",
    ]

    /// The workspace as `resolve` finds it, read again only when the environment or the config file changed (one
    /// `stat`): statements ask once each, and rows and HTTP attempts use what their statement found.
    public static func current() throws(AIQueryError) -> DatabricksWorkspace? {
        let environment = variables.map(System.environment)
        let path = System.expandingTilde(environment[5] ?? "~/.databrickscfg")
        let stamp = System.fileStamp(path)
        if let known = remembered.withLock({ $0 }), known.environment == environment, known.stamp == stamp {
            return try known.result.get()
        }
        let result = Result { () throws(AIQueryError) in try resolve() }
        remembered.withLock { $0 = Remembered(environment: environment, stamp: stamp, result: result) }
        return try result.get()
    }

    /// The workspace from the environment or the config file, nil when none is configured.
    public static func resolve() throws(AIQueryError) -> DatabricksWorkspace? {
        let env = System.environment
        let profileName = env("DATABRICKS_CONFIG_PROFILE")
        if profileName == nil, let host = env("DATABRICKS_HOST"), !host.isEmpty {
            if let token = env("DATABRICKS_TOKEN"), !token.isEmpty {
                return DatabricksWorkspace(host: normalizeHost(host), credential: .token(token), origin: "environment")
            }
            if let id = env("DATABRICKS_CLIENT_ID"), let secret = env("DATABRICKS_CLIENT_SECRET"), !id.isEmpty {
                return DatabricksWorkspace(
                    host: normalizeHost(host), credential: .oauth(clientID: id, clientSecret: secret), origin: "environment")
            }
            throw AIQueryError(
                .missingCredentials, "DATABRICKS_HOST is set but no credentials: set DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET")
        }
        let path = System.expandingTilde(env("DATABRICKS_CONFIG_FILE") ?? "~/.databrickscfg")
        guard let bytes = System.readFile(path) else {
            if let profileName {
                throw AIQueryError(.invalidConfiguration, "DATABRICKS_CONFIG_PROFILE is '\(profileName)' but \(path) cannot be read")
            }
            return nil
        }
        let sections = parseINI(String(decoding: bytes, as: UTF8.self))
        let wanted = profileName ?? sections["__settings__"]?["default_profile"] ?? "DEFAULT"
        guard let profile = sections[wanted] else {
            if profileName != nil { throw AIQueryError(.invalidConfiguration, "\(path) has no [\(wanted)] profile") }
            return nil
        }
        guard let host = profile["host"], !host.isEmpty else {
            throw AIQueryError(.invalidConfiguration, "profile [\(wanted)] in \(path) has no host")
        }
        let origin = "\(path) [\(wanted)]"
        if let token = profile["token"], !token.isEmpty {
            return DatabricksWorkspace(host: normalizeHost(host), credential: .token(token), origin: origin)
        }
        if let id = profile["client_id"], let secret = profile["client_secret"] {
            return DatabricksWorkspace(host: normalizeHost(host), credential: .oauth(clientID: id, clientSecret: secret), origin: origin)
        }
        throw AIQueryError(.missingCredentials, "profile [\(wanted)] in \(path) has no token (or client_id and client_secret)")
    }

    /// As the SDK does: add https:// when there is no scheme, drop a trailing slash and a default :443.
    public static func normalizeHost(_ host: String) -> String {
        var result = host.trimmed()
        if result.isEmpty { return result }
        if !result.hasPrefix("http://") && !result.hasPrefix("https://") { result = "https://" + result }
        while result.hasSuffix("/") { result.removeLast() }
        if result.hasPrefix("https://"), result.hasSuffix(":443") { result.removeLast(4) }
        return result
    }

    /// `[section]` / `key = value` files; `#` and `;` start comments.
    static func parseINI(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current = ""
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = String(raw).trimmed()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmed()
                sections[current, default: [:]] = sections[current] ?? [:]
            } else if let (key, value) = line.splitOnce("=") {
                sections[current, default: [:]][key.trimmed()] = value.trimmed()
            }
        }
        return sections
    }
}

/// Turns workspace credentials into an Authorization header, fetching and reusing OAuth tokens.
public final class DatabricksAuthenticator: Sendable {
    public init() {}

    private struct CachedToken { var value: String; var expires: Double }
    private let tokens = Mutex<[String: CachedToken]>([:])

    /// The bearer token for the workspace: its personal access token, or an OAuth token fetched with the client
    /// id and secret and reused until 40 s before it expires.
    public func token(for workspace: DatabricksWorkspace, transport: HTTPTransport, isCancelled: (@Sendable () -> Bool)? = nil) throws(AIQueryError) -> String {
        switch workspace.credential {
        case .token(let token):
            return token
        case .oauth(let clientID, let clientSecret):
            if let cached = freshToken(workspace.host, clientID) { return cached }
            let fresh = try fetchToken(
                workspace: workspace, clientID: clientID, clientSecret: clientSecret, transport: transport, isCancelled: isCancelled)
            tokens.withLock { $0[Self.cacheKey(workspace.host, clientID)] = fresh }
            return fresh.value
        }
    }

    /// Whether ``token(for:transport:isCancelled:)`` would answer without fetching one.
    public func hasFreshToken(for workspace: DatabricksWorkspace) -> Bool {
        guard case .oauth(let clientID, _) = workspace.credential else { return true }
        return freshToken(workspace.host, clientID) != nil
    }

    /// The OAuth token fetched earlier for this client, unless it expires within 40 s.
    private func freshToken(_ host: String, _ clientID: String) -> String? {
        let now = System.monotonicSeconds()
        return tokens.withLock { $0[Self.cacheKey(host, clientID)] }.flatMap { $0.expires - 40 > now ? $0.value : nil }
    }

    private static func cacheKey(_ host: String, _ clientID: String) -> String { host + "\u{0}" + clientID }

    private func fetchToken(
        workspace: DatabricksWorkspace, clientID: String, clientSecret: String, transport: HTTPTransport,
        isCancelled: (@Sendable () -> Bool)?
    ) throws(AIQueryError) -> CachedToken {
        let url = workspace.host + "/oidc/v1/token"
        let basic = Base64.encode(Array("\(clientID):\(clientSecret)".utf8))
        let request = HTTPRequest(
            url: url,
            headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("grant_type=client_credentials&scope=all-apis".utf8), timeout: 30)
        let started = System.monotonicSeconds()
        let response: HTTPResponse
        do {
            response = try transport.send(request, isCancelled: isCancelled)
        } catch {
            if error.kind == .cancelled { throw CallControl.cancelledError }
            throw AIQueryError(.unreachable, "could not get an OAuth token from \(url): \(error.message)")
        }
        let json = try? JSONValue.parse(bytes: response.body)
        guard response.status == 200, let token = json?["access_token"]?.stringValue, !token.isEmpty,
            json?["token_type"]?.stringValue?.lowercased() == "bearer"
        else {
            let code = json?["error"]?.stringValue ?? json?["errorCode"]?.stringValue ?? "HTTP \(response.status)"
            let detail = json?["error_description"]?.stringValue ?? json?["errorSummary"]?.stringValue ?? ""
            let redactor = Redactor(secrets: [clientSecret])
            throw AIQueryError(
                .missingCredentials, redactor.redact("OAuth token request to \(url) failed: \(code)\(detail.isEmpty ? "" : ": \(detail)"); check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET")
            )
        }
        // Bounded: an upstream's `expires_in` of 1e300 must not mean "forever".
        let lifetime = min(max(json?["expires_in"]?.doubleValue ?? 3600, 0), 86_400)
        return CachedToken(value: token, expires: started + lifetime)
    }
}

/// RFC 4648 base64, Foundation-free.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard base64 (padding optional); nil on invalid input.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte + 4)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "/"), UInt8(ascii: "_"): values.append(63)
            case UInt8(ascii: "="), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            default: return nil
            }
        }
        var out: [UInt8] = []
        var index = 0
        while index + 1 < values.count {
            out.append(values[index] << 2 | values[index + 1] >> 4)
            if index + 2 < values.count { out.append(values[index + 1] << 4 | values[index + 2] >> 2) }
            if index + 3 < values.count { out.append(values[index + 2] << 6 | values[index + 3]) }
            index += 4
        }
        return out
    }
}
