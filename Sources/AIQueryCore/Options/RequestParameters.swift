/// The checks every request gets, whichever front door it came in by (ai_query's `modelParameters` and JSON
/// requests, a body posted to `aiquery serve`): the parameters Databricks and OpenAI define are type- and
/// bound-checked, chat messages must have a known role and a content, and anything unknown passes through to the
/// endpoint. Databricks refuses the same requests with 400 `INVALID_PARAMETER_VALUE`; SQL gets the same words.
public enum RequestParameters {
    /// Roles OpenAI-compatible chat APIs define.
    static let roles: Set<String> = ["system", "user", "assistant", "tool", "function", "developer"]

    /// A problem with one parameter: what it must be, and what it was.
    public struct Problem: Error, Sendable {
        public var parameter: String
        public var constraint: String
        public var given: String

        /// `"max_tokens" must be a positive integer (at most 10^9), got -5`
        public var message: String { "\"\(parameter)\" must be \(constraint), got \(given)" }
    }

    /// Checks one parameter's value (those it knows; others pass).
    public static func check(_ key: String, _ value: JSONValue) throws(Problem) {
        func refuse(_ constraint: String) -> Problem {
            Problem(parameter: key, constraint: constraint, given: value.serialized().truncatedForMessage(60))
        }
        switch key {
        case "max_tokens", "max_completion_tokens", "top_k":
            guard let i = value.int64Value, i > 0, i <= 1_000_000_000 else { throw refuse("a positive integer (at most 10^9)") }
        case "n":
            guard let i = value.int64Value, i > 0, i <= 128 else { throw refuse("an integer from 1 to 128") }
        case "temperature":
            guard let d = value.doubleValue, d >= 0, d <= 2 else { throw refuse("a number from 0 to 2") }
        case "top_p":
            guard let d = value.doubleValue, d >= 0, d <= 1 else { throw refuse("a number from 0 to 1") }
        case "presence_penalty", "frequency_penalty":
            guard let d = value.doubleValue, d >= -2, d <= 2 else { throw refuse("a number from -2 to 2") }
        case "repeat_penalty", "repetition_penalty":
            guard let d = value.doubleValue, d > 0, d <= 10 else { throw refuse("a number greater than 0 and at most 10") }
        case "seed":
            guard value.int64Value != nil else { throw refuse("an integer") }
        case "stream", "logprobs", "echo":
            guard value.boolValue != nil else { throw refuse("true or false") }
        case "top_logprobs":
            guard let i = value.int64Value, i >= 0, i <= 20 else { throw refuse("an integer from 0 to 20") }
        case "stop":
            let strings = value.stringValue.map { [$0] } ?? value.arrayValue?.compactMap(\.stringValue)
            guard value.isNull || (strings != nil && strings!.count == (value.arrayValue?.count ?? 1) && strings!.count <= 16) else {
                throw refuse("a string or a list of at most 16 strings")
            }
        case "user":
            guard value.stringValue != nil else { throw refuse("a string") }
        default: break
        }
    }

    /// Checks a whole request body for `task`: every known parameter, and the chat messages.
    public static func check(body: JSONValue, task: EndpointTask) throws(Problem) {
        guard let members = body.objectValue else { return }
        for (key, value) in members { try check(key, value) }
        if task == .chat, let messages = body["messages"] { try checkMessages(messages) }
        if task == .completions, let prompt = body["prompt"] {
            let ok = prompt.stringValue != nil || (prompt.arrayValue.map { !$0.isEmpty && $0.allSatisfy { $0.stringValue != nil } } ?? false)
            guard ok else { throw Problem(parameter: "prompt", constraint: "a string or a non-empty list of strings", given: prompt.kindName) }
        }
        if task == .embeddings, let input = body["input"] {
            let ok = input.stringValue != nil || (input.arrayValue.map { !$0.isEmpty && $0.allSatisfy { $0.stringValue != nil } } ?? false)
            guard ok else { throw Problem(parameter: "input", constraint: "a string or a non-empty list of strings", given: input.kindName) }
        }
    }

    /// A non-empty list of messages, each with a known role and a content (text, a list of content parts, or
    /// null where an assistant message carries tool calls instead).
    static func checkMessages(_ messages: JSONValue) throws(Problem) {
        guard let list = messages.arrayValue, !list.isEmpty else {
            throw Problem(parameter: "messages", constraint: "a non-empty list of messages", given: messages.kindName)
        }
        for (index, message) in list.enumerated() {
            let name = "messages[\(index)]"
            guard message.objectValue != nil else { throw Problem(parameter: name, constraint: "an object with role and content", given: message.kindName) }
            guard let role = message["role"]?.stringValue, roles.contains(role) else {
                throw Problem(
                    parameter: name + ".role", constraint: "one of \(roles.sorted().joined(separator: ", "))",
                    given: message["role"]?.serialized().truncatedForMessage(40) ?? "nothing")
            }
            let content = message["content"]
            switch content {
            case .string?, .array?: continue
            case .null?, nil:
                if role == "assistant", message["tool_calls"] != nil || message["function_call"] != nil { continue }
                throw Problem(parameter: name + ".content", constraint: "text or a list of content parts", given: content == nil ? "nothing" : "null")
            default:
                throw Problem(parameter: name + ".content", constraint: "text or a list of content parts", given: content!.kindName)
            }
        }
    }
}
