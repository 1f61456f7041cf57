/// One tunable of a call, defined once: its names in every place it can be set, its bounds and its default.
/// `ai_query` options use the camelCase `option` name; `ai_config`, YAML files and endpoint definitions use the
/// snake_case `name`. Every value a user gives is checked against the bounds here, whichever door it came in by.
public struct Setting: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A positive number of seconds, at most `max`.
        case seconds(max: Double)
        case count(ClosedRange<Int>)
        case choice([String])
        /// A JSON object of text values (``RequestTags``).
        case tags
    }

    /// Where a setting may be given. Resolution order is always call > connection > endpoint > default.
    public struct Scopes: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let call = Scopes(rawValue: 1)
        public static let connection = Scopes(rawValue: 2)
        public static let endpoint = Scopes(rawValue: 4)
        public static let all: Scopes = [.call, .connection, .endpoint]
    }

    /// The setting's place in ``all``, which a ``SettingLayer`` is indexed by.
    let id: Int
    public let option: String
    public let name: String
    public let kind: Kind
    public let scopes: Scopes
    public let defaultValue: SettingValue?

    public var description: String { option }

    public static let timeout = Setting(
        id: 0, option: "timeout", name: "timeout", kind: .seconds(max: 86_400), scopes: .all, defaultValue: .seconds(300))
    public static let maxRetries = Setting(
        id: 1, option: "maxRetries", name: "max_retries", kind: .count(0...100), scopes: .all, defaultValue: .count(2))
    public static let deadline = Setting(
        id: 2, option: "deadline", name: "deadline", kind: .seconds(max: 604_800), scopes: .all, defaultValue: nil)
    public static let cache = Setting(
        id: 3, option: "cache", name: "cache", kind: .choice(CacheMode.allCases.map(\.rawValue)), scopes: [.call, .connection],
        defaultValue: .choice("on"))
    public static let concurrency = Setting(
        id: 4, option: "concurrency", name: "concurrency", kind: .count(1...256), scopes: .all, defaultValue: .count(16))
    public static let batchSize = Setting(
        id: 5, option: "batchSize", name: "batch_size", kind: .count(1...2048), scopes: .all, defaultValue: .count(64))
    public static let maxCalls = Setting(
        id: 6, option: "maxCalls", name: "max_calls", kind: .count(0...2_147_483_647), scopes: [.call, .connection], defaultValue: nil)
    public static let maxTokens = Setting(
        id: 7, option: "maxTokens", name: "max_tokens", kind: .count(0...1_000_000_000_000_000), scopes: [.call, .connection],
        defaultValue: nil)
    public static let cacheTTL = Setting(
        id: 8, option: "cacheTTL", name: "cache_ttl", kind: .seconds(max: 3_153_600_000), scopes: .connection, defaultValue: nil)
    public static let backoff = Setting(
        id: 9, option: "backoff", name: "backoff", kind: .seconds(max: 600), scopes: .connection, defaultValue: .seconds(0.5))
    public static let progress = Setting(
        id: 10, option: "progress", name: "progress", kind: .choice(["auto", "on", "off"]), scopes: .connection,
        defaultValue: .choice("auto"))

    public static let requestTags = Setting(
        id: 11, option: "requestTags", name: "request_tags", kind: .tags, scopes: [.call, .connection], defaultValue: nil)

    /// Every setting, in the order messages list them.
    public static let all: [Setting] = [
        .timeout, .maxRetries, .deadline, .cache, .concurrency, .batchSize, .maxCalls, .maxTokens, .cacheTTL, .backoff, .progress,
        .requestTags,
    ]

    /// The settings a scope accepts, found by their name there (case-insensitive for call options, as Databricks'
    /// option names are).
    public static func named(_ name: String, in scope: Scopes) -> Setting? {
        let lower = name.lowercased()
        return all.first { setting in
            setting.scopes.contains(scope) && (scope == .call ? setting.option.lowercased() == lower : setting.name == name)
        }
    }

    public static func names(in scope: Scopes) -> [String] {
        all.filter { $0.scopes.contains(scope) }.map { scope == .call ? $0.option : $0.name }
    }

    public static func == (a: Setting, b: Setting) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A checked value of a setting.
public enum SettingValue: Sendable, Equatable {
    case seconds(Double)
    case count(Int)
    case choice(String)
    /// Normalized JSON text.
    case json(String)

    public var json: JSONValue {
        switch self {
        case .seconds(let seconds): return .double(seconds)
        case .count(let count): return .integer(Int64(count))
        case .choice(let text): return .string(text)
        case .json(let text): return (try? JSONValue.parse(text)) ?? .null
        }
    }
}
