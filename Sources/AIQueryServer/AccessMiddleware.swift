import AIQueryCore
import HTTPTypes
import Hummingbird
import Logging

/// No token, no answer (except for the discovery and token routes, which clients call before they have one, and
/// the pages, which hold no data: they ask for the token and send it with their API calls); every request is
/// logged by method, path, status and time, never with its headers or body.
///
/// `--no-auth-on-loopback` lets a request without a token in when it comes over loopback, names a loopback host,
/// and, if a browser sent it, comes from this server's own pages: a web page elsewhere cannot spend the user's
/// keys through it (a cross-site form post carries its Origin), nor can a DNS name rebound to 127.0.0.1 (its
/// Host is not a loopback name).
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ServeRequestContext
    let state: ServerState
    let logger: Logger
    static let open: Set<String> = ["/.well-known/databricks-config", "/oidc/.well-known/oauth-authorization-server", "/oidc/v1/token", "/health"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = System.monotonicSeconds()
        let response: Response
        if !Self.open.contains(request.uri.path), !PageRoutes.isPage(request.uri.path),
            !state.tokens.accepts(authorization: request.headers[.authorization]), !Self.trustsLoopback(request, context: context, state: state)
        {
            let message =
                request.headers[.authorization] == nil
                ? "Credential was not sent or was of an unsupported type for this API." : "Invalid access token."
            response = ServingError(.unauthorized, "UNAUTHENTICATED", message).response(redactor: state.redactor)
        } else {
            do { response = try await next(request, context) } catch let error as ServingError {
                response = error.response(redactor: state.redactor)
            } catch let error as Hummingbird.HTTPError {
                response = ServingError(error.status, error.status == .notFound ? "ENDPOINT_NOT_FOUND" : "BAD_REQUEST", error.body ?? "\(error.status)")
                    .response(redactor: state.redactor)
            }
        }
        let milliseconds = ((System.monotonicSeconds() - started) * 1e4).rounded() / 10
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) \(milliseconds) ms")
        return response
    }

    /// Whether `--no-auth-on-loopback` lets this request in without a token.
    static func trustsLoopback(_ request: Request, context: Context, state: ServerState) -> Bool {
        guard state.options.noAuthOnLoopback, context.isLoopback, let authority = request.head.authority else { return false }
        guard isLoopbackName(authority) else { return false }
        if let origin = request.headers[.origin], origin != "http://" + authority { return false }
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" { return false }
        return true
    }

    /// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
    static func isLoopbackName(_ authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            return host[host.index(after: host.startIndex)..<end] == "::1"
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        if host.lowercased() == "localhost" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { part in UInt8(part) != nil }
    }
}
