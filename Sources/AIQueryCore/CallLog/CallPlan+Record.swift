import Synchronization

/// How a plan's calls reach the call log: once each as they end (``CallPipeline/complete(_:with:from:plan:remembering:shape:)``),
/// except a SQL statement's cache hits, which are counted and written as one record per statement (and every
/// ``hitsPerRecord`` hits), so that a warm row costs an atomic add.
extension CallPlan {
    static let hitsPerRecord = 65_536

    /// Records one call as it ended. A cache hit of a SQL statement is only counted here.
    @usableFromInline
    func record(_ call: PreparedCall?, result: Result<ModelResponse, AIQueryError>, source: AnswerSource) {
        if case .failure(let error) = result, error.isCancellation, error.trace.attempts == 0 { return }
        if source != .upstream, door == .sql, case .success = result {
            if unloggedHits.add(1, ordering: .relaxed).newValue >= Self.hitsPerRecord { recordHits() }
            return
        }
        guard let log = runtime.callLog else { return }
        log.append(CallRecord.of(call, result: result, source: source, plan: self, keepsContent: log.settings.keepsContent))
    }

    /// A request a door turned away before it reached the pipeline (the server's 429 for a caller over the
    /// endpoint's `limit:`): recorded like a call that failed, so the usage shows it.
    public func recordRefused(_ call: PreparedCall?, error: AIQueryError) {
        record(call, result: .failure(error), source: .upstream)
    }

    /// The statement's cache hits not yet recorded, as one record.
    func recordHits() {
        let hits = unloggedHits.exchange(0, ordering: .relaxed)
        guard hits > 0, let log = runtime.callLog else { return }
        var record = CallRecord.of(nil, result: .success(ModelResponse(output: .text(""))), source: .cache, plan: self, keepsContent: false)
        record.requests = hits
        log.append(record)
    }

    /// A SQL statement ends: its rows go to `ai_usage`, its records to the call log's file before it returns.
    public func finishStatement() {
        tally.flushRows()
        recordHits()
        runtime.openedCallLog?.flush()
    }

    /// Removes this plan's credentials from text kept in the log (a prompt that quotes a key).
    func contentRedactor() -> Redactor {
        guard let credential = try? credential() else { return Redactor(secrets: []) }
        let secret = credential.isAtHand(in: runtime) ? try? credential.secret(runtime: runtime, isCancelled: nil) : nil
        return credential.redactor(sending: secret ?? nil)
    }
}
