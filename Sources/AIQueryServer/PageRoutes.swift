import AIQueryCore
import HTTPTypes
import Hummingbird

/// The browser pages (`/` endpoints and Query endpoint, `/playground`, `/usage`) and their files under `/ui/`,
/// embedded in the binary from `Pages/` (no network, no build step); `AIQUERY_UI_DIR` serves them from a folder
/// instead, read on every request, for editing them without a rebuild. They hold no data: the API calls they
/// make carry the token (or come under `--no-auth-on-loopback`).
enum PageRoutes {
    static let pages = ["/": "endpoints.html", "/playground": "playground.html", "/usage": "usage.html"]

    static let embedded: [String: [UInt8]] = [
        "endpoints.html": PackageResources.endpoints_html, "playground.html": PackageResources.playground_html,
        "usage.html": PackageResources.usage_html, "app.css": PackageResources.app_css, "common.js": PackageResources.common_js,
        "endpoints.js": PackageResources.endpoints_js, "playground.js": PackageResources.playground_js, "usage.js": PackageResources.usage_js,
    ]

    /// Scripts and styles from this server only; the API on this origin only; not framed by another site.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer", .cacheControl: "no-cache",
    ]

    static func isPage(_ path: String) -> Bool {
        pages[path] != nil || (path.hasPrefix("/ui/") && !path.dropFirst(4).contains("/"))
    }

    static func add(to router: Router<ServeRequestContext>, state: ServerState) {
        for (path, file) in pages {
            router.get(RouterPath(path)) { _, _ in try page(file) }
        }
        router.get("ui/{file}") { _, context in try page(context.parameters.get("file") ?? "") }
        router.get("api/2.0/aiquery/endpoints") { _, _ in
            let listing = try state.listing()
            let latest: [String: (time: Double, status: Int, error: String?)]
            if let log = state.runtime.callLog {
                latest = try await state.pipeline.onWorker { _ in
                    Result { () throws(AIQueryError) in
                        log.flush()
                        return try CallLogSummary.latest(path: log.path, api: log.api, since: System.unixSeconds() - EndpointStatus.recent)
                    }
                }.mapError { ServingError($0, endpoint: nil) }.get()
            } else {
                latest = [:]
            }
            let server = JSONValue.object([
                ("version", .string(AIQueryVersion.string)), ("auth", .string(state.options.noAuthOnLoopback ? "none" : "token")),
                ("call_log", .bool(state.runtime.callLog != nil)),
            ])
            let logged = state.runtime.callLog != nil
            let endpoints = listing.map { EndpointStatus(endpoint: $0, logged: logged, latest: latest[$0.name], redactor: state.redactor).json }
            return ServingServer.json(.object([("server", server), ("endpoints", .array(endpoints))]))
        }
    }

    static func page(_ file: String) throws(ServingError) -> Response {
        let bytes: [UInt8]?
        if let folder = System.environment("AIQUERY_UI_DIR"), !folder.isEmpty {
            bytes = embedded[file] != nil || file.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) && !file.hasPrefix(".")
                ? System.readFile(folder + "/" + file) : nil
        } else {
            bytes = embedded[file]
        }
        guard let bytes else { throw ServingError(.notFound, "ENDPOINT_NOT_FOUND", "No page '\(file.truncatedForMessage(60))'") }
        var headers = securityHeaders
        headers[.contentType] = contentType(file)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func contentType(_ file: String) -> String {
        if file.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if file.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if file.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if file.hasSuffix(".svg") { return "image/svg+xml" }
        return "application/octet-stream"
    }
}
