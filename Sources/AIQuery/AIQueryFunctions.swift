import AIQueryCore
import Synchronization

/// `ai_query(endpoint, request [, options…])` and its dry run `ai_query_request`.
enum AIQueryFunctions {
    static let usage = "expected ai_query(endpoint, request [, option, value …])"

    static func aiQuery(_ state: ConnectionState, _ arguments: [SQLArgument], _ context: OpaquePointer?) throws -> SQLResult {
        let call = try parseCall(state, arguments, function: "ai_query")
        guard let input = call.input else { return .null }
        let options = try effectiveOptions(call, state: state)
        let statement = StatementState.of(context, state: state, call: call)
        do {
            let prepared = try state.engine.prepare(endpoint: call.endpoint, input: input, options: options)
            var output = try state.engine.cachedAnswer(prepared)
            let cacheHit = output != nil
            if output == nil {
                output = try state.engine.fetch(prepared, control: statement.control)
                try state.engine.remember(prepared, output!)
            }
            statement.rowDone(endpoint: call.endpoint, cacheHit: cacheHit, failed: false)
            return try wrap(ResultCasting.result(output!, returnType: call.options.returnType), failOnError: call.options.failOnError)
        } catch let error as AIQueryError {
            statement.rowDone(endpoint: call.endpoint, cacheHit: false, failed: true)
            guard error.scope == .row, !call.options.failOnError else { throw error }
            return failed(error)
        }
    }

    /// The value of one answered row: the result itself, or Databricks' `{response, errorMessage}` when
    /// failOnError is false.
    static func wrap(_ result: SQLResult, failOnError: Bool) -> SQLResult {
        if failOnError { return result }
        return .json(JSONValue.object([("response", result.jsonValue), ("errorMessage", .null)]).serialized())
    }

    static func failed(_ error: AIQueryError) -> SQLResult {
        let message = "ai_query: \(error.message)"
        return .json(JSONValue.object([("response", .null), ("errorMessage", .string(message))]).serialized())
    }

    static func aiQueryRequest(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        let call = try parseCall(state, arguments, function: "ai_query_request")
        guard let input = call.input else { return .null }
        return .json(try state.engine.dryRun(endpoint: call.endpoint, input: input, options: call.options.query).serialized())
    }

    /// Call options over connection settings over the endpoint's definition over the defaults.
    static func effectiveOptions(_ call: Call, state: ConnectionState) throws -> QueryOptions {
        let settings = state.settings.withLock { $0 }
        let endpoint = call.endpoint
        var options = call.options.query
        options.timeout = call.options.timeout ?? settings.timeout ?? endpoint.timeout ?? options.timeout
        options.retry.maxRetries = call.options.maxRetries ?? settings.maxRetries ?? endpoint.maxRetries ?? options.retry.maxRetries
        options.retry.deadline = call.options.deadline ?? settings.deadline ?? endpoint.deadline
        if let backoff = settings.backoff {
            options.retry.initialBackoff = backoff
            options.retry.maxBackoff = max(backoff, options.retry.maxBackoff)
        }
        if let price = endpoint.price { UsageLedger.shared.setPrice(endpoint: endpoint.name, price) }
        let mode = call.options.cacheMode ?? settings.cacheMode ?? .on
        options.cache = CachePolicy(mode: mode, ttl: settings.cacheTTL, store: mode == .off ? nil : try state.responseStore())
        if mode == .replay, options.cache.store == nil {
            throw AIQueryError("cache mode replay needs the cache, but AIQUERY_CACHE is off")
        }
        return options
    }

    struct Call {
        var endpoint: Endpoint
        /// nil for a NULL request: the result is NULL without calling anything.
        var input: ModelInput?
        var options: CallOptions
    }

    static func parseCall(_ state: ConnectionState, _ arguments: [SQLArgument], function: String) throws -> Call {
        guard arguments.count >= 2 else {
            throw AIQueryError("\(usage.replacingPrefix("ai_query", with: function)), got \(arguments.count) argument\(arguments.count == 1 ? "" : "s")")
        }
        guard case .text(let name, _) = arguments[0], !name.isEmpty else {
            throw AIQueryError("the endpoint name (first argument) must be non-empty text, got \(arguments[0].typeName)")
        }
        let options = try CallOptions.parse(arguments[2...])
        let endpoint = try state.endpoints.resolve(name)
        return Call(endpoint: endpoint, input: try modelInput(arguments[1]), options: options)
    }

    /// The request argument as the model sees it: nil for NULL (no call), a whole JSON body when it carries
    /// SQLite's JSON subtype, otherwise a prompt.
    static func modelInput(_ request: SQLArgument) throws -> ModelInput? {
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

    /// A statement's budget, from the call's options or else the connection's.
    static func tally(_ call: Call, _ settings: ConnectionSettings) -> StatementTally {
        StatementTally(maxCalls: call.options.maxCalls ?? settings.maxCalls, maxTokens: call.options.maxTokens ?? settings.maxTokens)
    }

    /// The progress line for a statement, when wanted (`ai_config('progress')`, by default when stderr is a terminal).
    static func progressLine(_ label: String, _ tally: StatementTally, _ settings: ConnectionSettings) -> ProgressLine? {
        ProgressLine.isWanted(settings.progress ?? .auto) ? ProgressLine(label: label, tally: tally) : nil
    }

}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
