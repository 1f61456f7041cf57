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
    private let cacheStore = Mutex<CacheSlot>(.unopened)
    private let cachePath: String?

    private enum CacheSlot {
        case unopened
        case opened(SQLiteResponseStore?)
    }

    /// - Parameters:
    ///   - cachePath: the cache file; by default `AIQUERY_CACHE`'s (nil: no cache).
    ///   - asyncTransport: a client that sends without blocking a thread (a server's event loop).
    public init(
        sqlite: SQLiteAPI, cachePath: String? = SQLiteResponseStore.configuredPath, asyncTransport: (any AsyncHTTPTransport)? = nil,
        maxWorkerThreads: Int = 256
    ) {
        self.sqlite = sqlite
        self.cachePath = cachePath
        let workers = WorkerPool(maxThreads: maxWorkerThreads)
        self.workers = workers
        transport = HTTPTransport()
        pipeline = CallPipeline(workers: workers, asyncTransport: asyncTransport)
    }

    /// The cache's store, opened once. A cache that cannot be opened is a warning, not an error: rows are answered
    /// without it (cache mode replay then says it is missing).
    public var store: SQLiteResponseStore? {
        cacheStore.withLock { slot -> SQLiteResponseStore? in
            if case .opened(let store) = slot { return store }
            var store: SQLiteResponseStore?
            if let cachePath {
                do throws(AIQueryError) {
                    store = try SQLiteResponseStore(path: cachePath, api: sqlite)
                } catch {
                    System.warnOnce("cache-open", "aiquery: \(error.message); answering without the cache")
                }
            }
            slot = .opened(store)
            return store
        }
    }

    /// The store if it was opened already (without opening it).
    var openedStore: SQLiteResponseStore? {
        cacheStore.withLock { slot -> SQLiteResponseStore? in
            if case .opened(let store) = slot { return store }
            return nil
        }
    }
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
