import Synchronization

/// Everything a statement decides once, before its first row: the endpoint, its provider and task, the request
/// options, the layered settings, the cache, the budget and the rate limiter. Rows then only prepare their body.
/// The task lookup and the credentials are found on first need (a statement answered from the cache needs
/// neither) and then kept for the statement.
public final class CallPlan: Sendable {
    /// What the plan's calls share with every other call of its front door: threads, connections, limiters.
    public let runtime: Runtime
    public let endpoint: Endpoint
    public let provider: any Provider
    public let options: RequestOptions
    public let settings: ResolvedSettings
    public let cacheMode: CacheMode
    /// Stored answers older than this many seconds are misses.
    public let cacheTTL: Double?
    /// nil when the cache is off for this statement.
    public let store: (any ResponseStore)?
    /// The front door the plan's calls came in by.
    public let door: Door
    /// Whether cache hits come with usage, finish reason and the upstream's body (a server replaying answers
    /// exactly); SQL needs the output alone.
    public var readsDetails: Bool { door.readsDetails }
    public let tally: StatementTally
    public let memo = StatementMemo()
    /// Set once a cache write failed (the file locked past the busy timeout, say): the rest of the statement does
    /// not wait for it again.
    public let cacheWritesFailed = SharedFlag()
    let limiter: EndpointLimiter?
    /// Cache hits of a SQL statement not yet in the call log (``record(_:result:source:)``).
    let unloggedHits = Atomic<Int>(0)
    var transport: HTTPTransport { runtime.transport }
    /// The task when the definition says it; otherwise looked up once into `lookedUpTask`.
    private let definedTask: EndpointTask?
    private let lookedUpTask = Mutex<EndpointTask?>(nil)
    private let knownCredential = Mutex<CallCredential?>(nil)

    /// Made by the runtime's plan factory (``Runtime/plan(endpoint:endpoints:allowlist:options:call:connection:door:)``).
    init(
        runtime: Runtime, endpoint: Endpoint, options: RequestOptions, settings: ResolvedSettings, store: (any ResponseStore)?,
        door: Door
    ) throws(AIQueryError) {
        self.runtime = runtime
        self.door = door
        self.endpoint = endpoint
        provider = endpoint.provider.implementation
        self.options = options
        self.settings = settings
        cacheMode = settings.cacheMode
        cacheTTL = settings.seconds(.cacheTTL)
        if cacheMode == .replay, store == nil {
            throw AIQueryError(.invalidConfiguration, "cache mode replay needs the cache, but it is off (AIQUERY_CACHE) or could not be opened")
        }
        self.store = cacheMode == .off ? nil : store
        tally = StatementTally(
            endpoint: endpoint.name, ledger: runtime.ledger, maxCalls: settings.count(.maxCalls), maxTokens: settings.count(.maxTokens))
        limiter = runtime.limiters.limiter(for: endpoint)
        definedTask = endpoint.task ?? (endpoint.provider == .databricks ? nil : .chat)
        if let price = endpoint.price { runtime.ledger.setPrice(endpoint: endpoint.name, price) }
    }

    deinit { recordHits() }

    /// Requests in flight at once for many rows (ai_query_rows).
    public var concurrency: Int { settings.count(.concurrency) ?? 16 }
    /// Embedding inputs per request for many rows.
    public var batchSize: Int { settings.count(.batchSize) ?? 64 }

    /// The task when it is known without asking the workspace.
    public var knownTask: EndpointTask? { definedTask ?? lookedUpTask.withLock { $0 } }

    /// The endpoint's task; a workspace endpoint's comes once from the workspace (then remembered per process).
    public func task(control: CallControl) throws(AIQueryError) -> EndpointTask {
        if let task = definedTask ?? lookedUpTask.withLock({ $0 }) { return task }
        let secret = try credential().secret(runtime: runtime, isCancelled: control.isCancelled)
        let task = try DatabricksProvider.lookUpTask(
            of: endpoint, secret: secret, transport: transport, timeout: settings.timeout, isCancelled: control.isCancelled)
        runtime.workspaceTasks.remember(task, host: endpoint.url, name: endpoint.name)
        lookedUpTask.withLock { $0 = task }
        return task
    }

    /// The body and key of one row's request.
    public func prepare(_ input: ModelInput, control: CallControl) throws(AIQueryError) -> PreparedCall {
        let task = try task(control: control)
        let body = try provider.body(for: try Self.checked(input, task: task), task: task, endpoint: endpoint, options: options)
        var batchable = false
        if task == .embeddings, provider.batchesEmbeddings, case .text = input { batchable = true }
        let (key, bodyBytes) = CacheKey.keyAndBodyBytes(endpoint: endpoint, task: task, body: body)
        return PreparedCall(input: input, body: body, key: key, isBatchable: batchable, bodyBytes: bodyBytes)
    }

    /// The exact body a call would send, with no network call at all (an unknown workspace task is taken as chat).
    public func dryRun(_ input: ModelInput) throws(AIQueryError) -> JSONValue {
        try provider.body(for: input, task: definedTask ?? lookedUpTask.withLock { $0 } ?? .chat, endpoint: endpoint, options: options)
    }

    /// A JSON request as every door checks it (``RequestParameters``), without `stream` and `stream_options`: the
    /// pipeline decides how an answer travels, and a streamed answer and a whole one share their cache entry.
    static func checked(_ input: ModelInput, task: EndpointTask) throws(AIQueryError) -> ModelInput {
        guard case .json(var json) = input, task != .custom else { return input }
        do throws(RequestParameters.Problem) {
            try RequestParameters.check(body: task == .chat && json.arrayValue != nil ? .object([("messages", json)]) : json, task: task)
        } catch {
            throw AIQueryError(.invalidArgument, "the request is invalid: \(error.message)")
        }
        if json.objectValue != nil { json = json.removing("stream").removing("stream_options") }
        return .json(json)
    }

    func credential() throws(AIQueryError) -> CallCredential {
        if let known = knownCredential.withLock({ $0 }) { return known }
        let found = try CallCredential.resolve(for: endpoint)
        knownCredential.withLock { $0 = found }
        return found
    }
}
