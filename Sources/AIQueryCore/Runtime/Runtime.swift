import Synchronization

/// Everything the calls of one front door share: the pipeline and its worker threads, the HTTP transport and its
/// kept-alive connections, the rate limiters, the credentials, the endpoints file, the local models, the cache and
/// what was spent. A value its door owns, not process globals: the extension makes one per process
/// (``ProcessRuntime``, made again in a forked child), `aiquery serve` one per server, a test its own.
public final class Runtime: Sendable {
    /// The SQLite the cache goes through: the host's API table in the extension, a linked library elsewhere.
    public let sqlite: SQLiteAPI
    public let workers: WorkerPool
    public let transport: HTTPTransport
    /// One limiter per endpoint for every connection and statement of this runtime.
    public let limiters = LimiterRegistry()
    /// The same limits counted for a server's callers, who get 429 instead of a wait.
    public let callerLimiters = LimiterRegistry()
    public let ledger = UsageLedger()
    public let authenticator = DatabricksAuthenticator()
    public let configFile = ConfigFile()
    /// Tasks of workspace endpoints, looked up once per runtime (`GET /api/2.0/serving-endpoints/{name}`).
    public let workspaceTasks = WorkspaceTasks()
    public let localModels = LocalModelHost()
    public let pipeline: CallPipeline
    /// `AIQUERY_CACHE`'s store, opened on first use; nil inside when the cache is off or could not be opened.
    private let cacheStore: OpenedOnce<SQLiteResponseStore>
    /// The call log, opened on first record; nil inside when it is off or could not be opened.
    private let callLogFile: OpenedOnce<CallLog>

    /// - Parameters:
    ///   - cachePath: the cache file; by default `AIQUERY_CACHE`'s (nil: no cache).
    ///   - callLog: where calls are recorded; nil (the default): nowhere. The doors pass `AIQUERY_CALL_LOG`'s
    ///     (``CallLogSettings/configured(cachePath:)``); a test's runtime keeps out of the user's log unless given one.
    ///   - asyncTransport: a client that sends without blocking a thread (a server's event loop).
    public init(
        sqlite: SQLiteAPI, cachePath: String? = SQLiteResponseStore.configuredPath,
        callLog: CallLogSettings? = nil, asyncTransport: (any AsyncHTTPTransport)? = nil,
        maxWorkerThreads: Int = 256
    ) {
        self.sqlite = sqlite
        // A file that cannot be opened is a warning, not an error: rows are answered without it (cache mode replay
        // then says the cache is missing), calls go on without a record.
        cacheStore = OpenedOnce(warning: "cache-open", "answering without the cache") { () throws(AIQueryError) in
            try cachePath.map { path throws(AIQueryError) in try SQLiteResponseStore(path: path, api: sqlite) }
        }
        callLogFile = OpenedOnce(warning: "call-log-open", "calls are not recorded") { () throws(AIQueryError) in
            try callLog.map { settings throws(AIQueryError) in try CallLog(settings: settings, api: sqlite) }
        }
        let workers = WorkerPool(maxThreads: maxWorkerThreads)
        self.workers = workers
        transport = HTTPTransport()
        pipeline = CallPipeline(workers: workers, asyncTransport: asyncTransport)
    }

    /// The cache's store, opened once.
    public var store: SQLiteResponseStore? { cacheStore.value }

    /// The call log, opened once.
    public var callLog: CallLog? { callLogFile.value }

    /// The call log if it was opened already (without opening it).
    public var openedCallLog: CallLog? { callLogFile.ifOpened }

    /// The store if it was opened already (without opening it).
    var openedStore: SQLiteResponseStore? { cacheStore.ifOpened }
}

/// A file a runtime opens on first use, once. One that cannot be opened is one warning, and nil from then on.
final class OpenedOnce<Value: Sendable>: Sendable {
    private let slot = Mutex<Value??>(nil)
    private let open: @Sendable () throws(AIQueryError) -> Value?
    private let topic: String
    private let consequence: String

    init(warning topic: String, _ consequence: String, open: @escaping @Sendable () throws(AIQueryError) -> Value?) {
        self.topic = topic
        self.consequence = consequence
        self.open = open
    }

    var value: Value? {
        slot.withLock { slot -> Value? in
            if let opened = slot { return opened }
            var value: Value?
            do throws(AIQueryError) { value = try open() } catch { System.warnOnce(topic, "aiquery: \(error.message); \(consequence)") }
            slot = .some(value)
            return value
        }
    }

    var ifOpened: Value? { slot.withLock { $0 ?? nil } }
}

/// The tasks of Databricks workspace endpoints, learned once (`GET /api/2.0/serving-endpoints/{name}`).
public final class WorkspaceTasks: Sendable {
    private let tasks = Mutex<[String: EndpointTask]>([:])

    public init() {}

    func task(host: String, name: String) -> EndpointTask? { tasks.withLock { $0[host + "\u{0}" + name] } }

    func remember(_ task: EndpointTask, host: String, name: String) { tasks.withLock { $0[host + "\u{0}" + name] = task } }

    /// Every endpoint name learned for `host`, with its task.
    func known(host: String) -> [(name: String, task: EndpointTask)] {
        tasks.withLock { $0 }.compactMap { key, task in
            guard let (keyHost, name) = key.splitOnce("\u{0}"), keyHost == host else { return nil }
            return (name, task)
        }
    }
}
