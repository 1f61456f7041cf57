import AIQueryCore
import CAIQuery

/// What one running statement decides once and shares across its ai_query rows: the plan (endpoint, settings,
/// cache, budget), the options, the progress line and the interrupt check. Kept as SQLite auxiliary data on the
/// endpoint argument, which SQLite holds for the whole statement when that argument is a constant, and releases
/// (ending the progress line) when the statement finishes. Option arguments get a marker each: when one of them
/// is not constant its marker is gone on the next row, and the plan is made again for that row.
final class StatementState {
    let plan: CallPlan
    let options: CallOptions
    let progress: ProgressLine?
    let control: CallControl

    private init(plan: CallPlan, options: CallOptions, progress: ProgressLine?, interrupt: InterruptCheck) {
        self.plan = plan
        self.options = options
        self.progress = progress
        control = CallControl(isCancelled: { interrupt.isInterrupted() })
    }

    deinit {
        plan.finishStatement()
        progress?.finish()
    }

    static func of(_ context: OpaquePointer?, state: ConnectionState, arguments: [SQLArgument]) throws -> StatementState {
        let optionArguments = arguments.indices.dropFirst(2)
        if let known = aiq_get_auxdata(context, 0), optionArguments.allSatisfy({ aiq_get_auxdata(context, Int32($0)) != nil }) {
            return Unmanaged<StatementState>.fromOpaque(known).takeUnretainedValue()
        }
        try SchemaGuard.check("ai_query", db: aiq_context_db(context))
        let (name, options) = try AIQueryFunctions.parseCall(arguments, function: "ai_query")
        let plan = try state.plan(endpoint: name, options: options)
        let made = StatementState(
            plan: plan, options: options, progress: ProgressLine.forStatement("ai_query \(name)", plan: plan),
            interrupt: InterruptCheck(db: aiq_context_db(context)))
        // SQLite owns the retained reference from here; with a non-constant argument it releases it at once and
        // the next row makes a new state (the budget then counts per row).
        aiq_set_auxdata(context, 0, retainedPointer(made), releaseBox)
        for index in optionArguments { aiq_set_auxdata(context, Int32(index), marker, nil) }
        return made
    }

    /// Any non-null pointer: it only says "this argument kept its value".
    private static var marker: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 1) }
}

extension ProgressLine {
    /// The progress line for a statement, when wanted (`ai_config('progress')`, by default when stderr is a terminal).
    static func forStatement(_ label: String, plan: CallPlan) -> ProgressLine? {
        let mode = plan.settings.choice(.progress).flatMap(Mode.init(rawValue:)) ?? .auto
        return isWanted(mode) ? ProgressLine(label: label, tally: plan.tally) : nil
    }
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
