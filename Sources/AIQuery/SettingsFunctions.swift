import AIQueryCore
import Synchronization

/// `ai_config` (per-connection defaults) and the cache functions.
enum SettingsFunctions {
    static let names = [
        "cache", "cache_ttl", "timeout", "max_retries", "deadline", "backoff", "concurrency", "batch_size", "max_calls",
        "max_tokens", "progress",
    ]

    /// `ai_config(name)` reads a setting, `ai_config(name, value)` sets it (NULL restores the default).
    static func config(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        guard case .text(let name, _) = arguments[0], names.contains(name) else {
            throw AIQueryError("unknown setting '\(arguments[0].text ?? "NULL")'; use \(names.joined(separator: ", "))")
        }
        if arguments.count == 2 {
            let value = arguments[1]
            try state.settings.withLock { settings in
                let text = value.isNull ? nil : value.text
                switch name {
                case "cache": settings.cacheMode = try text.map { try CallOptions.cacheMode($0, option: name) }
                case "cache_ttl": settings.cacheTTL = try text.map { try CallOptions.seconds($0, option: name) }
                case "timeout": settings.timeout = try text.map { try CallOptions.seconds($0, option: name) }
                case "deadline": settings.deadline = try text.map { try CallOptions.seconds($0, option: name) }
                case "backoff": settings.backoff = try text.map { try CallOptions.seconds($0, option: name) }
                case "concurrency": settings.concurrency = try text.map { try CallOptions.count($0, option: name, range: 1...256) }
                case "batch_size": settings.batchSize = try text.map { try CallOptions.count($0, option: name, range: 1...2048) }
                case "max_calls": settings.maxCalls = try text.map { try CallOptions.count($0, option: name, range: 0...Int(Int32.max)) }
                case "max_tokens": settings.maxTokens = try text.map { try CallOptions.count($0, option: name, range: 0...Int.max) }
                case "progress":
                    settings.progress = try text.map { text in
                        guard let mode = ProgressLine.Mode(rawValue: text.lowercased()) else {
                            throw AIQueryError("progress must be auto, on or off, got '\(text)'")
                        }
                        return mode
                    }
                default: settings.maxRetries = try text.map { try CallOptions.retries($0, option: name) }
                }
            }
        }
        let settings = state.settings.withLock { $0 }
        switch name {
        case "cache": return .text((settings.cacheMode ?? .on).rawValue)
        case "cache_ttl": return settings.cacheTTL.map { .double($0) } ?? .null
        case "timeout": return .double(settings.timeout ?? QueryOptions().timeout)
        case "deadline": return settings.deadline.map { .double($0) } ?? .null
        case "backoff": return .double(settings.backoff ?? RetryPolicy().initialBackoff)
        case "concurrency": return .integer(Int64(settings.concurrency ?? RowsDefaults.concurrency))
        case "batch_size": return .integer(Int64(settings.batchSize ?? RowsDefaults.batchSize))
        case "max_calls": return settings.maxCalls.map { .integer(Int64($0)) } ?? .null
        case "max_tokens": return settings.maxTokens.map { .integer(Int64($0)) } ?? .null
        case "progress": return .text((settings.progress ?? .auto).rawValue)
        default: return .integer(Int64(settings.maxRetries ?? RetryPolicy().maxRetries))
        }
    }

    static func cacheStats(_ state: ConnectionState, _ arguments: [SQLArgument]) throws -> SQLResult {
        guard let store = try state.responseStore() else {
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
        guard let store = try state.responseStore() else { return .integer(0) }
        let endpoint = arguments.first.flatMap { $0.isNull ? nil : $0.text }
        return .integer(Int64(try store.clear(endpoint: endpoint)))
    }
}
