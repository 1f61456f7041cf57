/// Which endpoints the task functions ask: a chat (or completions) endpoint for the text functions, an
/// embeddings endpoint for `ai_similarity`. Per connection (`ai_config('task_endpoint', …)`), over the process
/// (`AIQUERY_TASK_ENDPOINT`, `AIQUERY_TASK_EMBEDDINGS_ENDPOINT`), over the endpoints file (`task_endpoints:`),
/// over the built-in local models, so every function works with no key and no network.
public struct TaskEndpointNames: Sendable, Equatable {
    public var chat: String?
    public var embeddings: String?

    public init(chat: String? = nil, embeddings: String? = nil) {
        self.chat = chat
        self.embeddings = embeddings
    }

    public static let defaults = TaskEndpointNames(chat: "local-gemma", embeddings: "local-minilm")
    public static let chatSetting = "task_endpoint"
    public static let embeddingsSetting = "task_embeddings_endpoint"

    /// Read once: the environment of a running process does not change.
    public static let environment = TaskEndpointNames(
        chat: System.environment("AIQUERY_TASK_ENDPOINT").flatMap { $0.isEmpty ? nil : $0 },
        embeddings: System.environment("AIQUERY_TASK_EMBEDDINGS_ENDPOINT").flatMap { $0.isEmpty ? nil : $0 })

    /// Each name from the first layer that sets it.
    public func over(_ lower: TaskEndpointNames) -> TaskEndpointNames {
        TaskEndpointNames(chat: chat ?? lower.chat, embeddings: embeddings ?? lower.embeddings)
    }

    /// The names in effect for a connection that set `connection`; a name nobody set is the built-in one
    /// (``builtInChat(for:)``, ``defaults``).
    public static func resolved(connection: TaskEndpointNames, in runtime: Runtime) throws(AIQueryError) -> TaskEndpointNames {
        connection.over(environment).over(try runtime.configFile.taskEndpoints())
    }

    /// The built-in model that answers a function when no endpoint is set, whichever did better on
    /// benchmarks/ai_functions.sh and by hand: the instruct model summarizes, fixes grammar and follows a prompt
    /// (the base model copies the text back); the base model with a few-shot pattern and a grammar labels,
    /// extracts and translates (the 135M instruct model cannot translate at all).
    public static func builtInChat(for function: TaskFunction?) -> String {
        switch function {
        case .gen?, .summarize?, .fixGrammar?: "local-chat"
        default: defaults.chat!
        }
    }

    static func parse(_ value: JSONValue?, path: String) throws(AIQueryError) -> TaskEndpointNames {
        guard let value, !value.isNull else { return TaskEndpointNames() }
        guard let members = value.objectValue else {
            throw AIQueryError(.invalidConfiguration, "\(path): task_endpoints must map chat and embeddings to endpoint names")
        }
        var names = TaskEndpointNames()
        for (key, name) in members {
            guard let text = name.stringValue, !text.isEmpty else {
                throw AIQueryError(.invalidConfiguration, "\(path): task_endpoints.\(key) must be an endpoint name")
            }
            switch key {
            case "chat": names.chat = text
            case "embeddings": names.embeddings = text
            default: throw AIQueryError(.invalidConfiguration, "\(path): unknown key task_endpoints.\(key); use chat and embeddings")
            }
        }
        return names
    }
}
