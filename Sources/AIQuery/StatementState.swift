import AIQueryCore
import CAIQuery
import Synchronization

/// What one running statement shares across its ai_query rows: the budget tally, the progress line and the
/// interrupt check. Kept as SQLite auxiliary data on the endpoint argument, which SQLite holds for the whole
/// statement when that argument is a constant, and releases (ending the progress line) when it finishes.
final class StatementState: @unchecked Sendable {
    let tally: StatementTally
    let progress: ProgressLine?
    let control: CallControl

    init(tally: StatementTally, progress: ProgressLine?, interrupt: InterruptCheck) {
        self.tally = tally
        self.progress = progress
        self.control = CallControl(tally: tally, isCancelled: { interrupt.isInterrupted() })
    }

    /// Rows not yet added to the process's ledger: adding them in bulk keeps the warm-cache path short.
    private var pendingEndpoint = ""
    private var pending = (rows: 0, cacheHits: 0, errors: 0)

    deinit {
        flushUsage()
        progress?.finish()
    }

    private func flushUsage() {
        guard pending.rows > 0 else { return }
        UsageLedger.shared.recordRows(
            endpoint: pendingEndpoint, count: pending.rows, cacheHits: pending.cacheHits, errors: pending.errors)
        pending = (0, 0, 0)
    }

    static func of(_ context: OpaquePointer?, state: ConnectionState, call: AIQueryFunctions.Call) -> StatementState {
        if let known = aiq_get_auxdata(context, 0) {
            return Unmanaged<StatementState>.fromOpaque(known).takeUnretainedValue()
        }
        let settings = state.settings.withLock { $0 }
        let tally = AIQueryFunctions.tally(call, settings)
        let made = StatementState(
            tally: tally, progress: AIQueryFunctions.progressLine("ai_query \(call.endpoint.name)", tally, settings),
            interrupt: InterruptCheck(db: aiq_context_db(context)))
        // SQLite owns the retained reference from here; with a non-constant argument it releases it at once and
        // the next row starts a new state (the budget then counts per row).
        let retained = Unmanaged.passRetained(made)
        aiq_set_auxdata(context, 0, retained.toOpaque(), releaseStatementState)
        return made
    }

    func rowDone(endpoint: Endpoint, cacheHit: Bool, failed: Bool) {
        tally.rowDone(cacheHit: cacheHit, failed: failed)
        if endpoint.name != pendingEndpoint || !cacheHit || pending.rows >= 1024 {
            // Misses are rare and slow: they show in ai_usage at once; runs of cache hits in bulk.
            flushUsage()
            pendingEndpoint = endpoint.name
        }
        pending.rows += 1
        if cacheHit { pending.cacheHits += 1 }
        if failed { pending.errors += 1 }
        if !cacheHit { flushUsage() }
        progress?.update()
    }
}

private let releaseStatementState: @convention(c) (UnsafeMutableRawPointer?) -> Void = { pointer in
    guard let pointer else { return }
    Unmanaged<StatementState>.fromOpaque(pointer).release()
}

/// Whether Ctrl-C (sqlite3_interrupt) was pressed, checked at most every 50 ms. Only ever called on the
/// connection's own thread: the SQLite call that is running (curl's progress callback runs there too).
final class InterruptCheck: @unchecked Sendable {
    private let db: OpaquePointer?
    private var lastCheck = 0.0
    private var interrupted = false

    init(db: OpaquePointer?) { self.db = db }

    func isInterrupted() -> Bool {
        if interrupted { return true }
        let now = System.monotonicSeconds()
        guard now - lastCheck >= 0.05 else { return false }
        lastCheck = now
        interrupted = aiq_interrupted(db) != 0
        return interrupted
    }
}
