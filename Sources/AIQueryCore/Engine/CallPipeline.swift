/// The life of every call, whichever front door it came in by: the statement's memo and the cache (identical
/// requests of a statement are asked once; a window also joins those in flight), budgets, rate limits, retries,
/// transport, parsing, usage accounting and shaping the answer.
/// `ai_query` is the pipeline with one call (``answer(_:plan:control:shape:)``), `ai_query_rows` the pipeline
/// with a window of calls on worker threads (``CallWindow``), a NIO server the async face.
///
/// Three phases, so that a caller can keep its cache on its own thread: ``lookup(_:plan:)`` and
/// ``complete(_:with:from:plan:shape:)`` run where the caller runs; ``fetch(_:plan:control:)`` on any thread.
public final class CallPipeline: Sendable {
    /// Threads for blocking work: requests through libcurl, in-process models, waits.
    public let workers: WorkerPool
    /// A client that sends without blocking a thread (a server's event loop), for the async face; nil: every call
    /// that must ask an endpoint goes to a worker thread.
    public let asyncTransport: (any AsyncHTTPTransport)?

    init(workers: WorkerPool, asyncTransport: (any AsyncHTTPTransport)? = nil) {
        self.workers = workers
        self.asyncTransport = asyncTransport
    }

    /// One call, blocking the calling thread (never a Swift concurrency thread: it may wait on the network).
    /// Inlinable, like the phases below, so that a front door's shaping is specialized into its warm path.
    @inlinable
    public func answer<Value>(
        _ call: PreparedCall, plan: CallPlan, control: CallControl, shape: (ModelResponse) throws(AIQueryError) -> Value
    ) -> Result<Value, AIQueryError> {
        if let (found, source) = lookup(call, plan: plan) { return complete(call, with: found, from: source, plan: plan, shape: shape) }
        return complete(call, with: fetch([call], plan: plan, control: control)[0], from: .upstream, plan: plan, shape: shape)
    }

    /// An answer without a call: from earlier in the statement, or from the cache when its mode reads. Under
    /// `replay` a miss is the row's error. nil: the endpoint must be asked.
    @inlinable
    public func lookup(_ call: PreparedCall, plan: CallPlan) -> (Result<ModelResponse, AIQueryError>, AnswerSource)? {
        if let remembered = plan.memo.answer(for: call.key) { return (.success(remembered), .statement) }
        guard let store = plan.store, plan.cacheMode.reads else { return nil }
        do {
            if let hit = try store.lookup(key: call.key, maxAge: plan.cacheTTL, withDetails: plan.readsDetails) {
                return (.success(hit), .cache)
            }
        } catch {
            System.warnOnce("cache-read", "aiquery: reading the cache failed, answering without it: \(error.message)")
            if plan.cacheMode == .on { return nil }
        }
        guard plan.cacheMode == .replay else { return nil }
        return (
            .failure(
                AIQueryError(
                    .cacheMiss,
                    "no cached answer for this request to endpoint '\(plan.endpoint.name)' and the cache mode is replay, which never calls the endpoint; run once with cache 'on' to fill the cache"
                )), .cache
        )
    }

    /// Ends a call: a fresh answer goes to the cache and the statement's memo, the call to the call log, the
    /// answer is shaped for the front door, and the row is counted, once, as answered or failed.
    @inlinable
    /// - Parameter remembering: false when the caller stores the answer itself, later (a server answers first).
    public func complete<Value>(
        _ call: PreparedCall, with result: Result<ModelResponse, AIQueryError>, from source: AnswerSource, plan: CallPlan,
        remembering: Bool = true, shape: (ModelResponse) throws(AIQueryError) -> Value
    ) -> Result<Value, AIQueryError> {
        if remembering, source == .upstream, case .success(let response) = result {
            remember(response, for: call, plan: plan)
        }
        plan.record(call, result: result, source: source)
        let shaped = result.flatMap { response in Result { () throws(AIQueryError) in try shape(response) } }
        if case .failure(let error) = shaped, error.isCancellation { return shaped }
        plan.tally.rowDone(cacheHit: source != .upstream, failed: (try? shaped.get()) == nil)
        return shaped
    }

    @usableFromInline
    /// `later`: queued for the store's writer instead of written now (an async caller, answered first); true when
    /// that queue is too long and the caller must drain it (``ResponseStore/storeLater(key:endpoint:response:)``).
    @discardableResult
    func remember(_ response: ModelResponse, for call: PreparedCall, plan: CallPlan, later: Bool = false) -> Bool {
        plan.memo.remember(response, for: call.key)
        guard let store = plan.store, plan.cacheMode.writes, !plan.cacheWritesFailed.isSet else { return false }
        if later { return store.storeLater(key: call.key, endpoint: plan.endpoint.name, response: response) }
        do {
            try store.store(key: call.key, endpoint: plan.endpoint.name, response: response)
        } catch {
            // The row has its answer; losing it for want of a cache entry would be worse than a warning.
            plan.cacheWritesFailed.set()
            System.warnOnce("cache-write", "aiquery: storing an answer in the cache failed, going on without it: \(error.message)")
        }
        return false
    }
}
