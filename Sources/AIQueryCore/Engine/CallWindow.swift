import Synchronization

/// The pipeline over many calls with many in flight, answered in the order they were added. The caller's thread
/// adds calls (answering what it can from the statement and the cache at once) and takes answers oldest first,
/// and it alone touches the cache; worker threads only fetch. At most `concurrency` requests are in flight,
/// identical requests are asked once, and embeddings go in batches of up to `batchSize` inputs.
///
/// Each call carries a `Tag` the caller gets back with its answer (a row's ordinal and id, say).
public final class CallWindow<Tag, Value> {
    private let plan: CallPlan
    private let pipeline: CallPipeline
    private let concurrency: Int
    private let batchSize: Int
    private let shape: (ModelResponse) throws(AIQueryError) -> Value
    private let isInterrupted: () -> Bool
    private let whileWaiting: () -> Void
    private let shared = Shared()
    private var entries = FIFOQueue<Entry>()
    private var batch: [Entry] = []
    private var batchBytes = 0
    private var leaders: [[UInt8]: Entry] = [:]
    /// Bytes of the requests added and not yet taken.
    private var requestBytes = 0

    /// - Parameters:
    ///   - isInterrupted: polled on the caller's thread while it waits (Ctrl-C); true stops every call.
    ///   - whileWaiting: called on the caller's thread about every 50 ms while it waits (a progress line).
    public init(
        plan: CallPlan, concurrency: Int, batchSize: Int,
        isInterrupted: @escaping () -> Bool, whileWaiting: @escaping () -> Void = {},
        shape: @escaping (ModelResponse) throws(AIQueryError) -> Value
    ) {
        self.plan = plan
        pipeline = plan.runtime.pipeline
        self.concurrency = concurrency
        self.batchSize = batchSize
        self.isInterrupted = isInterrupted
        self.whileWaiting = whileWaiting
        self.shape = shape
    }

    deinit { cancel() }

    /// Calls added and not yet taken.
    public var count: Int { entries.count }

    /// About how many bytes the calls added and not yet taken hold, requests and answers: a caller reading rows
    /// ahead stops at a bound, however large each row is.
    public var heldBytes: Int { requestBytes + shared.lock.withLock { shared.answerBytes } }

    /// Adds a call; nil (a NULL request) is answered nil, without a call.
    public func add(_ call: PreparedCall?, tag: Tag) {
        let entry = Entry(call: call, tag: tag)
        entries.append(entry)
        guard let call else { return }
        entry.requestBytes = call.bodyBytes
        requestBytes += entry.requestBytes
        if let (found, source) = pipeline.lookup(call, plan: plan) {
            shared.lock.withLock {
                entry.result = found
                entry.source = source
                shared.count(entry)
            }
            return
        }
        if let leader = leaders[call.key] {
            entry.leader = leader
            return
        }
        leaders[call.key] = entry
        if call.isBatchable, batchSize > 1 {
            batch.append(entry)
            batchBytes += call.batchBytes
            if CallBatches.isFull(count: batch.count, bytes: batchBytes, batchSize: batchSize) { flushBatch() }
        } else {
            shared.lock.withLock { shared.queued.append([entry]) }
        }
        dispatch()
    }

    /// No more calls will be added: a partial batch may go now.
    public func endInput() {
        if !batch.isEmpty { flushBatch() }
        dispatch()
    }

    /// The oldest call's tag and answer (nil for a NULL request); nil when every call was taken. Waits as long
    /// as it takes, and throws only when interrupted.
    public func next() throws(AIQueryError) -> (tag: Tag, answer: Result<Value, AIQueryError>?)? {
        guard let entry = entries.popFirst() else { return nil }
        let tag = entry.tag
        guard let call = entry.call else { return (tag, nil) }
        try waitFor(entry.leader ?? entry)
        requestBytes -= entry.requestBytes
        let (result, source) = shared.lock.withLock {
            shared.answerBytes -= entry.answerBytes
            return (entry.leader ?? entry).outcome
        }
        if entry.leader == nil, leaders[call.key] === entry { leaders[call.key] = nil }
        let answer = pipeline.complete(call, with: result, from: entry.leader == nil ? source : .statement, plan: plan, shape: shape)
        if case .failure(let error) = answer, error.isCancellation { throw error }
        return (tag, answer)
    }

    /// Stops every call: requests in flight are abandoned at their next check.
    public func cancel() {
        shared.cancelled.set()
    }

    // MARK: Sending

    private func flushBatch() {
        let entries = batch
        batch = []
        batchBytes = 0
        shared.lock.withLock { shared.queued.append(entries) }
    }

    /// Starts workers while fewer than `concurrency` run and requests wait. A worker takes the next waiting request
    /// as soon as it finishes one, so slots refill without waiting for this thread; it stops when none is left.
    private func dispatch() {
        let shared = shared
        let starts = shared.lock.withLock {
            let count = min(concurrency - shared.running, shared.queued.count)
            shared.running += max(0, count)
            return count
        }
        guard starts > 0 else { return }
        let (pipeline, plan) = (pipeline, plan)
        let control = CallControl(isCancelled: { shared.cancelled.isSet })
        for _ in 0..<starts {
            pipeline.workers.submit {
                while let entries = shared.takeQueued() {
                    let results = pipeline.fetch(entries.compactMap(\.call), plan: plan, control: control)
                    shared.lock.withLock {
                        for (entry, result) in zip(entries, results) {
                            entry.result = result
                            entry.source = .upstream
                            shared.count(entry)
                        }
                        shared.lock.broadcast()
                    }
                }
            }
        }
    }

    private func waitFor(_ entry: Entry) throws(AIQueryError) {
        while true {
            let done = shared.lock.withLock { () -> Bool in
                if entry.result != nil { return true }
                shared.lock.wait(seconds: 0.05)
                return entry.result != nil
            }
            if done { return }
            if isInterrupted() {
                cancel()
                throw CallControl.cancelledError
            }
            // The call may be in the unsent batch (the window filled up behind it) or waiting for a free slot.
            if !batch.isEmpty, batch.contains(where: { $0 === entry }) { flushBatch() }
            dispatch()
            whileWaiting()
        }
    }

    // MARK: State

    /// One call. `result` and `source` are written under the shared lock.
    private final class Entry: @unchecked Sendable {
        let call: PreparedCall?
        let tag: Tag
        var result: Result<ModelResponse, AIQueryError>?
        var source = AnswerSource.upstream
        /// An identical call earlier in the window: this one takes its answer.
        var leader: Entry?
        var requestBytes = 0
        /// What its answer holds, counted in ``Shared/answerBytes`` until it is taken.
        var answerBytes = 0

        init(call: PreparedCall?, tag: Tag) {
            self.call = call
            self.tag = tag
        }

        var outcome: (Result<ModelResponse, AIQueryError>, AnswerSource) {
            (result ?? .failure(AIQueryError(.internalError, "no answer")), source)
        }
    }

    /// What worker threads touch, guarded by `lock`.
    private final class Shared: @unchecked Sendable {
        let lock = ConditionLock()
        let cancelled = SharedFlag()
        /// Requests not yet sent, oldest first.
        var queued = FIFOQueue<[Entry]>()
        /// Workers taking requests from `queued`.
        var running = 0
        /// Bytes of the answers not yet taken.
        var answerBytes = 0

        /// Counts an answer just set; called under `lock`.
        func count(_ entry: Entry) {
            entry.answerBytes = (try? entry.result?.get())?.heldBytes ?? 0
            answerBytes += entry.answerBytes
        }

        /// The next request for a worker, or nil, and then that worker stops.
        func takeQueued() -> [Entry]? {
            lock.withLock {
                if let next = queued.popFirst() { return next }
                running -= 1
                return nil
            }
        }
    }
}
