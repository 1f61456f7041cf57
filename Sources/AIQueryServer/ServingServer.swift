import AIQueryCore
import HTTPTypes
import Hummingbird
import Logging
import NIOPosix

/// `aiquery serve`: a local Databricks Model Serving workspace. The routes Databricks documents (invocations,
/// the OpenAI-compatible paths, the endpoint listing) and what real clients probe first (workspace discovery, the
/// OAuth token route), answered by the same pipeline and cache as the SQL extension.
public enum ServingServer {
    /// Serves until SIGINT or SIGTERM, then lets requests in flight finish.
    /// - Parameter onListening: called with the base URL once the server listens (port 0 picks one).
    /// - Parameter sqlite: the SQLite the cache file is opened with.
    public static func run(
        options: ServeOptions, sqlite: SQLiteAPI, logger: Logger, onListening: @escaping @Sendable (String) -> Void
    ) async throws {
        // One event loop, and the server's tasks run on it (EventLoopTaskExecutor): a request read there is handled
        // there, its upstream request to a plain-HTTP endpoint sent and answered there (UpstreamClient), and a
        // worker resuming it wakes that one thread, not a second loop that must then hand the response back.
        // The blocking parts (https through libcurl, local models, the cache's writer) run on worker threads.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { loops.shutdownGracefully { _ in } }
        let state = ServerState(options: options, runtime: Runtime(sqlite: sqlite, callLog: .configured(), asyncTransport: UpstreamClient(loop: loops.next())))
        let app = Application(
            router: router(state: state, logger: logger),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(options.idleTimeout * 1e9)))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "aiquery"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                let host = options.host.contains(":") ? "[\(options.host)]" : options.host
                onListening("http://\(host):\(port)")
            },
            eventLoopGroupProvider: .shared(loops),
            logger: logger)
        try await withTaskExecutorPreference(EventLoopTaskExecutor(group: loops)) { try await app.runService() }
        // Answers already sent may still be queued for the cache, records for the call log: local writes, done off
        // the cooperative pool.
        await state.pipeline.onWorker { _ in
            state.store?.finishQueuedWrites()
            state.runtime.openedCallLog?.flush()
        }
    }

    static func router(state: ServerState, logger: Logger) -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        router.middlewares.add(AccessMiddleware(state: state, logger: logger))
        let invocations = InvocationHandler(state: state)
        // One pattern per depth, dispatched here: an endpoint may be named "chat" or "completions".
        router.post("serving-endpoints/{name}") { request, context in
            let route: ServingRequest.Route
            switch context.parameters.get("name") {
            case "completions": route = .completions
            case "embeddings": route = .embeddings
            default: throw ServingError(.notFound, "ENDPOINT_NOT_FOUND", "No API found for 'POST \(request.uri.path)'")
            }
            return try await serve(request, route: route, endpoint: nil, state: state, handler: invocations)
        }
        router.post("serving-endpoints/{name}/{action}") { request, context in
            let first = context.parameters.get("name") ?? ""
            switch context.parameters.get("action") {
            case "invocations": return try await serve(request, route: .invocations, endpoint: first, state: state, handler: invocations)
            case "completions" where first == "chat":
                return try await serve(request, route: .chatCompletions, endpoint: nil, state: state, handler: invocations)
            default: throw ServingError(.notFound, "ENDPOINT_NOT_FOUND", "No API found for 'POST \(request.uri.path)'")
            }
        }
        router.post("serving-endpoints/{name}/served-models/{model}/invocations") { request, context in
            try await serve(request, route: .invocations, endpoint: context.parameters.get("name"), state: state, handler: invocations)
        }
        router.get("api/2.0/serving-endpoints") { _, _ in
            json(.object([("endpoints", .array(try state.listing().map(EndpointCatalog.describe)))]))
        }
        router.get("api/2.0/serving-endpoints/{name}") { _, context in
            json(EndpointCatalog.describe(try state.endpoint(named: context.parameters.get("name") ?? "")))
        }
        router.get(".well-known/databricks-config") { request, _ in
            json(.object([("oidc_endpoint", .string(baseURL(request) + "/oidc")), ("workspace_id", .string("0")), ("cloud", .string("AWS"))]))
        }
        router.get("oidc/.well-known/oauth-authorization-server") { request, _ in
            let base = baseURL(request) + "/oidc"
            return json(
                .object([
                    ("issuer", .string(base)), ("authorization_endpoint", .string(base + "/v1/authorize")),
                    ("token_endpoint", .string(base + "/v1/token")), ("grant_types_supported", .array([.string("client_credentials")])),
                ]))
        }
        router.post("oidc/v1/token") { request, _ in try await token(request, state: state) }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: ResponseBody(byteBuffer: ByteBuffer(string: state.metrics.text(usage: state.runtime.ledger.snapshot(), callLog: state.runtime.openedCallLog))))
        }
        router.get("health") { _, _ in json(.object([("status", .string("OK"))])) }
        UsageRoutes.add(to: router, state: state)
        PageRoutes.add(to: router, state: state)
        return router
    }

    static func serve(
        _ request: Request, route: ServingRequest.Route, endpoint: String?, state: ServerState, handler: InvocationHandler
    ) async throws -> Response {
        let started = System.monotonicSeconds()
        var name = endpoint ?? ""
        var plan: CallPlan?
        var response: Response
        do throws(ServingError) {
            let bytes = try await body(of: request, state: state)
            var parsed = try ServingRequest(route: route, endpoint: endpoint, bytes: Array(buffer: bytes))
            if let tags = request.headers[HTTPField.Name(RequestTags.header)!] {
                do { parsed.requestTags = try RequestTags.normalized(.string(tags), label: RequestTags.header) } catch {
                    throw .invalidParameter(error.message)
                }
            }
            if let mode = request.headers[HTTPField.Name("x-aiquery-cache")!] {
                guard let cache = CacheMode(rawValue: mode.lowercased()) else {
                    throw .invalidParameter("x-aiquery-cache must be on, off, refresh or replay; got '\(mode.truncatedForMessage(40))'")
                }
                parsed.cacheMode = cache
            }
            name = parsed.endpoint
            let answered = try await handler.respond(to: parsed)
            response = answered.0
            plan = answered.1
        } catch {
            response = error.response(redactor: state.redactor)
        }
        let elapsed = System.monotonicSeconds() - started
        if response.headers[.contentType] == "text/event-stream" {
            // A stream's status goes out with its first words, before the upstream is done: what that measures is
            // the time to the first token, not what the server added.
            response.headers[HTTPField.Name("x-aiquery-ttft-ms")!] = String((elapsed * 1e6).rounded() / 1e3)
            state.metrics.record(endpoint: name, status: Int(response.status.code), overheadSeconds: nil)
            state.metrics.recordFirstWord(seconds: elapsed)
            return response
        }
        let overhead = max(0, elapsed - (plan?.tally.upstreamSeconds ?? 0))
        response.headers[HTTPField.Name("x-aiquery-overhead-ms")!] = String((overhead * 1e6).rounded() / 1e3)
        state.metrics.record(endpoint: name, status: Int(response.status.code), overheadSeconds: overhead)
        return response
    }

    /// The request's body, whole, within the size cap and the read timeout.
    static func body(of request: Request, state: ServerState) async throws(ServingError) -> ByteBuffer {
        let limit = state.maxBodyBytes
        let result = await withTaskGroup(of: Result<ByteBuffer, ServingError>?.self) { group in
            group.addTask {
                do { return .success(try await request.body.collect(upTo: limit)) } catch {
                    return .failure(ServingError(.contentTooLarge, "BAD_REQUEST", "The request body is larger than \(limit >> 20) MiB"))
                }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(state.readTimeout * 1e9))
                return Task.isCancelled ? nil : .failure(.readTimeout(state.readTimeout))
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .failure(.readTimeout(state.readTimeout))
        }
        return try result.get()
    }

    /// `POST /oidc/v1/token`: OAuth client credentials for a short-lived bearer token.
    static func token(_ request: Request, state: ServerState) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 64 << 10)
        var form: [String: String] = [:]
        for pair in String(buffer: bytes).split(separator: "&") {
            let (key, value) = String(pair).splitOnce("=") ?? (String(pair), "")
            form[key.removingPercentEncoding] = value.removingPercentEncoding
        }
        guard form["grant_type"] == "client_credentials" else {
            return json(
                .object([("error", .string("unsupported_grant_type")), ("error_description", .string("grant_type must be client_credentials"))]),
                status: .badRequest)
        }
        guard let issued = state.tokens.issue(authorization: request.headers[.authorization], form: form) else {
            return json(.object([("error", .string("invalid_client")), ("error_description", .string("Client authentication failed"))]), status: .unauthorized)
        }
        return json(
            .object([
                ("access_token", .string(issued.token)), ("token_type", .string("Bearer")), ("expires_in", .integer(Int64(issued.lifetime))),
                ("scope", .string(form["scope"] ?? "all-apis")),
            ]))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    /// The URL the client reached the server by.
    static func baseURL(_ request: Request) -> String {
        "http://" + (request.head.authority ?? "127.0.0.1")
    }
}
