import AIQueryCore
import CAIQuery

/// What one statement's scalar task function calls share, like ``StatementState`` for ai_query: one task plan
/// (so the statement's budget, its de-duplication with the cache off, its progress line and its call log record
/// of cache hits are the statement's), made at its first row and released when it ends.
///
/// Kept as SQLite auxiliary data under a negative argument number: SQLite then keeps it for the whole statement
/// whatever the function's arguments are (a task function's text is rarely a constant), and every function of
/// the statement asking with the same number shares it — `ai_classify(…)` and `ai_summarize(…)` in one statement
/// ask one task endpoint under one budget. (`sqlite3_get_auxdata` with a negative argument: SQLite's behaviour
/// since 3.8, which its source documents as "available to all functions within a single prepared statement".)
final class TaskStatementState {
    let taskPlan: TaskPlan
    let progress: ProgressLine?
    let control: CallControl

    /// The numbers the two kinds of plan are kept under: the chat task endpoint's and the embeddings one's.
    private static let chatSlot: Int32 = -0x4149_0001
    private static let embeddingsSlot: Int32 = -0x4149_0002

    private init(taskPlan: TaskPlan, progress: ProgressLine?, control: CallControl) {
        self.taskPlan = taskPlan
        self.progress = progress
        self.control = control
    }

    deinit {
        taskPlan.plan.finishStatement()
        progress?.finish()
    }

    static func of(_ context: OpaquePointer?, function: TaskFunction, state: ConnectionState) throws -> TaskStatementState {
        let slot = function.usesEmbeddings ? embeddingsSlot : chatSlot
        if let known = aiq_get_auxdata(context, slot) { return Unmanaged<TaskStatementState>.fromOpaque(known).takeUnretainedValue() }
        let names = try state.resolvedTaskEndpoints(for: function)
        let interrupt = InterruptCheck(db: aiq_context_db(context))
        let control = CallControl(isCancelled: { interrupt.isInterrupted() })
        let taskPlan: TaskPlan
        if function.usesEmbeddings {
            taskPlan = try TaskPlan(embeddings: try state.plan(endpoint: names.embeddings, options: CallOptions()), control: control, needs: function.name)
        } else {
            taskPlan = try TaskPlan(chat: try state.plan(endpoint: names.chat, options: CallOptions()), for: function, control: control)
        }
        let label = "\(function.usesEmbeddings ? function.name : "task functions") \(taskPlan.plan.endpoint.name)"
        let made = TaskStatementState(taskPlan: taskPlan, progress: ProgressLine.forStatement(label, plan: taskPlan.plan), control: control)
        aiq_set_auxdata(context, slot, retainedPointer(made), releaseBox)
        return made
    }
}
