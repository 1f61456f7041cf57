import AIQueryCore

/// `ai_query(endpoint, request [, options…])` and its dry run `ai_query_request`.
enum AIQueryFunctions {
    static let usage = "expected ai_query(endpoint, request [, option, value …])"

    static func aiQuery(_ state: ConnectionState, _ arguments: [SQLArgument], _ context: OpaquePointer?) throws -> SQLResult {
        let statement = try StatementState.of(context, state: state, arguments: arguments)
        guard let input = try modelInput(arguments[1]) else { return .null }
        let plan = statement.plan
        let call = try plan.prepare(input, control: statement.control)
        let answer = plan.runtime.pipeline.answer(call, plan: plan, control: statement.control) { response throws(AIQueryError) in
            try ResultCasting.result(response.output, returnType: statement.options.returnType)
        }
        statement.progress?.update()
        return try RowValue.make(answer, failOnError: statement.options.failOnError)
    }

    static func aiQueryRequest(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        let (name, options) = try parseCall(arguments, function: "ai_query_request")
        guard let input = try modelInput(arguments[1]) else { return .null }
        let plan = try state.dryRunPlan(endpoint: name, options: options.request)
        return .json(try plan.dryRun(input).serialized())
    }

    /// The endpoint's name and the options, checked.
    static func parseCall(_ arguments: [SQLArgument], function: String) throws(AIQueryError) -> (String, CallOptions) {
        guard arguments.count >= 2 else {
            throw AIQueryError("\(usage.replacingPrefix("ai_query", with: function)), got \(arguments.count) argument\(arguments.count == 1 ? "" : "s")")
        }
        guard case .text(let name, _) = arguments[0], !name.isEmpty else {
            throw AIQueryError("the endpoint name (first argument) must be non-empty text, got \(arguments[0].typeName)")
        }
        return (name, try CallOptions.parse(arguments[2...]))
    }

    /// The request argument as the model sees it: nil for NULL (no call), a whole JSON body when it carries
    /// SQLite's JSON subtype, otherwise a prompt.
    static func modelInput(_ request: SQLArgument) throws(AIQueryError) -> ModelInput? {
        switch request {
        case .null: return nil
        case .blob: throw AIQueryError("the request must be text or JSON, got a BLOB")
        case .text(let text, let subtype) where subtype == jsonSubtype:
            do { return .json(try JSONValue.parse(text)) } catch {
                throw AIQueryError("the JSON request is not valid JSON: \(error)")
            }
        default: return .text(request.text ?? "")
        }
    }
}

/// The one place a row's answer becomes its SQL value, for every form of ai_query: the cast result, or with
/// failOnError false Databricks' `{response, errorMessage}`, where only the row's own failures become an
/// errorMessage; bad arguments and configuration still fail the statement, as in Databricks.
enum RowValue {
    static func make(_ answer: Result<SQLResult, AIQueryError>, failOnError: Bool) throws(AIQueryError) -> SQLResult {
        switch answer {
        case .success(let value):
            if failOnError { return value }
            return .json(JSONValue.object([("response", value.jsonValue), ("errorMessage", .null)]).serialized())
        case .failure(let error):
            guard !failOnError, error.scope == .row else { throw error }
            return .json(JSONValue.object([("response", .null), ("errorMessage", .string("ai_query: \(error.message)"))]).serialized())
        }
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
