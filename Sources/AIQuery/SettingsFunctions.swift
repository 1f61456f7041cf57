import AIQueryCore
import Synchronization

/// `ai_config` (per-connection defaults) and the cache functions.
enum SettingsFunctions {
    /// `ai_config(name)` reads a setting, `ai_config(name, value)` sets it (NULL restores the default). What it
    /// reports is what a call with no options of its own runs with.
    static func config(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        if case .text(EndpointAllowlist.settingName, _) = arguments[0] { return try allowedEndpoints(state, arguments) }
        if case .text(let name, _) = arguments[0], [TaskEndpointNames.chatSetting, TaskEndpointNames.embeddingsSetting].contains(name) {
            return try taskEndpoint(name, state, arguments)
        }
        guard case .text(let name, _) = arguments[0], let setting = Setting.named(name, in: .connection) else {
            throw AIQueryError(
                "unknown setting '\(arguments[0].text?.truncatedForMessage(40) ?? "NULL")'; use \((Setting.names(in: .connection) + [EndpointAllowlist.settingName, TaskEndpointNames.chatSetting, TaskEndpointNames.embeddingsSetting]).joined(separator: ", "))")
        }
        if arguments.count == 2 {
            let value: SettingValue?
            switch arguments[1] {
            case .null: value = nil
            case .blob: throw AIQueryError("\(name) must be a number or text, got a BLOB")
            case .integer(let i): value = try setting.parse(.integer(i), label: name)
            case .double(let d): value = try setting.parse(.double(d), label: name)
            case .text(let text, _): value = try setting.parse(.string(text), label: name)
            }
            state.settings.withLock { $0[setting] = value }
        }
        let current = ResolvedSettings(connection: state.settings.withLock { $0 }).value(setting)
        switch current {
        case .seconds(let seconds)?: return .double(seconds)
        case .count(let count)?: return .integer(Int64(count))
        case .choice(let text)?: return .text(text)
        case .json(let text)?: return .json(text)
        case nil: return .null
        }
    }

    /// `ai_config('allowed_endpoints' [, 'a,b' | 'none'])`: which endpoints this connection may call. Setting it
    /// only ever narrows what is allowed.
    static func allowedEndpoints(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        if arguments.count == 2 {
            guard case .text(let text, _) = arguments[1] else {
                throw AIQueryError(
                    .permissionDenied,
                    "allowed_endpoints can only be narrowed, never lifted: give endpoint names separated by commas, or 'none'")
            }
            state.allowlist.withLock { $0 = $0.narrowed(to: text) }
        }
        return state.allowlist.withLock { $0 }.description.map { .text($0) } ?? .null
    }

    /// `ai_config('task_endpoint' | 'task_embeddings_endpoint' [, name])`: the endpoint the task functions ask
    /// (NULL goes back to AIQUERY_TASK_ENDPOINT, the file's task_endpoints, or the built-in local model).
    static func taskEndpoint(_ name: String, _ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        let isChat = name == TaskEndpointNames.chatSetting
        if arguments.count == 2 {
            let value: String?
            switch arguments[1] {
            case .null: value = nil
            case .text(let text, _) where !text.trimmed().isEmpty: value = text.trimmed()
            default: throw AIQueryError("\(name) must be an endpoint name, or NULL for the default")
            }
            if let value { _ = try state.resolve(value) }
            state.taskEndpoints.withLock { isChat ? ($0.chat = value) : ($0.embeddings = value) }
        }
        let resolved = try state.resolvedTaskEndpoints()
        return .text(isChat ? resolved.chat : resolved.embeddings)
    }

    /// While endpoints are restricted, definitions and the cache stay as the deployment set them.
    static func requireUnrestricted(_ state: ConnectionState, _ action: String) throws(AIQueryError) {
        guard state.allowlist.withLock({ $0 }).isRestricted else { return }
        throw AIQueryError(
            .permissionDenied,
            "refused: endpoints are restricted on this connection (\(EndpointAllowlist.variable) or ai_config('\(EndpointAllowlist.settingName)')), so \(action)")
    }

    static func cacheStats(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        guard let store = state.runtime.store else {
            return .json(#"{"path":null,"entries":0,"bytes":0,"hits":0,"misses":0}"#)
        }
        let stats = try store.statistics()
        let json = JSONValue.object([
            ("path", .string(store.path)), ("entries", .integer(Int64(stats.entries))), ("bytes", .integer(Int64(stats.bytes))),
            ("hits", .integer(Int64(stats.hits))), ("misses", .integer(Int64(stats.misses))),
        ])
        return .json(json.serialized())
    }

    static func cacheClear(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        try requireUnrestricted(state, "the cache cannot be cleared")
        guard let store = state.runtime.store else { return .integer(0) }
        let endpoint = arguments.first.flatMap { $0.isNull ? nil : $0.text }
        return .integer(Int64(try store.clear(endpoint: endpoint)))
    }
}
