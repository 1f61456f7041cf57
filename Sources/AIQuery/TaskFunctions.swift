import AIQueryCore
import CAIQuery

/// Databricks' task AI functions (`ai_classify`, `ai_extract`, …) and their dry run `ai_task_request`: each
/// turns its arguments into a ``TaskCall``, asks the connection's task endpoint through the same pipeline as
/// ai_query (cache, retries, limits, Ctrl-C), and checks the answer before SQL sees it.
enum TaskFunctions {
    static func handler(_ function: TaskFunction) -> @Sendable (ConnectionState, [SQLArgument], OpaquePointer?) throws -> SQLResult {
        { state, arguments, context in try run(function, state, arguments, context) }
    }

    /// A scalar task function's row: the statement's task plan (made at its first row) asks and checks.
    static func run(_ function: TaskFunction, _ state: ConnectionState, _ arguments: [SQLArgument], _ context: OpaquePointer?) throws -> SQLResult {
        guard let call = try TaskCall.make(function, arguments) else { return .null }
        let statement = try TaskStatementState.of(context, function: function, state: state)
        if function == .similarity { return try statement.taskPlan.similarity(call, control: statement.control).map(SQLResult.double) ?? .null }
        return try statement.taskPlan.answer(call, control: statement.control).get().sqlResult
    }

    /// `ai_task_request(function, arguments…)`: the request the function would send, without sending it.
    static func request(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        guard case .text(let name, _)? = arguments.first, let function = TaskFunction(rawValue: name.lowercased()) else {
            throw AIQueryError(
                "the first argument names a task function: \(TaskFunction.allCases.map(\.name).joined(separator: ", ")), e.g. ai_task_request('ai_classify', 'text', json_array('a', 'b'))")
        }
        guard let call = try TaskCall.make(function, Array(arguments.dropFirst())) else { return .null }
        let names = try state.resolvedTaskEndpoints(for: function)
        let endpointName = function.usesEmbeddings ? names.embeddings : names.chat
        let plan = try state.dryRunPlan(endpoint: endpointName)
        let task = plan.knownTask ?? .chat
        let input: ModelInput = function.usesEmbeddings ? .text(call.content) : call.request(style: TaskStyle.of(plan.endpoint, task: task))
        return .json(JSONValue.object([("endpoint", .string(endpointName)), ("task", .string(task.rawValue)), ("request", try plan.dryRun(input))]).serialized())
    }

    /// `ai_task_rows(function, query [, argument, argument])`: a task function over every row of `query`
    /// (`(text)` or `(id, text)`) with many requests in flight, in the query's order, as ai_query_rows does for
    /// ai_query. The arguments after the query are the function's own after its text (labels, options, to_lang…).
    static func rows(_ state: ConnectionState, _ db: OpaquePointer, _ arguments: [SQLArgument?]) throws -> any RowStream {
        let example = "e.g. SELECT id, response FROM ai_task_rows('ai_classify', 'SELECT id, body FROM tickets', json_array('billing', 'bug', 'other'))"
        guard case .text(let name, _)? = arguments[0], let function = TaskFunction(rawValue: name.lowercased()) else {
            throw AIQueryError("the first argument names a task function (\(TaskFunction.allCases.filter { $0 != .similarity }.map(\.name).joined(separator: ", "))); \(example)")
        }
        guard function != .similarity else {
            throw AIQueryError("ai_similarity compares two texts per row: embed them with ai_query_rows and compare with ai_cosine")
        }
        guard case .text(let sql, _)? = arguments[1], !sql.trimmed().isEmpty else {
            throw AIQueryError("the query (second argument) must be SQL text such as 'SELECT id, body FROM docs'; \(example)")
        }
        let extra = arguments.dropFirst(2).compactMap { $0 }
        let template: TaskCall
        do throws(AIQueryError) {
            guard let made = try TaskCall.make(function, [.text("", subtype: 0)] + extra) else { throw AIQueryError("no text") }
            template = made
        } catch {
            throw error.prefixed("\(function.name): ")
        }
        let interrupt = InterruptCheck(db: db)
        let taskPlan = try TaskPlan(
            chat: try state.plan(endpoint: state.resolvedTaskEndpoints(for: function).chat, options: CallOptions()), for: function,
            control: CallControl(isCancelled: { interrupt.isInterrupted() }))
        let plan = taskPlan.plan
        let masks = function == .mask
        let requests = QueryRows.Requests(
            function: function.name, failOnError: true,
            prepare: { argument, control throws(AIQueryError) in
                guard let call = try template.with(text: argument) else { return nil }
                return try taskPlan.prepare(call, control: control)
            },
            shape: { response in
                // ai_mask's answer is its row's text masked: the model's list goes on to ``finish``.
                if masks, case .text(let listed) = response.output { return .text(listed) }
                return template.answer(from: response.output).sqlResult
            },
            finish: masks
                ? { value, argument in
                    guard case .text(let listed) = value else { return value }
                    var call = template
                    call.content = argument.text ?? ""
                    return .text(call.masked(listed))
                } : nil)
        return try QueryRows(db: db, plan: plan, requests: requests, sql: sql, label: "ai_task_rows \(function.name) \(plan.endpoint.name)")
    }
}

extension TaskAnswer {
    var sqlResult: SQLResult {
        switch self {
        case .null: return .null
        case .text(let text): return .text(text)
        case .json(let json): return .json(json.serialized())
        }
    }
}
