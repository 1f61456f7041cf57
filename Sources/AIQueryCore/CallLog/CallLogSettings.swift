/// Where the call log lives and how much of it is kept, from the environment (never from a database: a file
/// must not turn logging of prompts on, or the log off).
public struct CallLogSettings: Sendable, Equatable {
    public var path: String
    /// Calls older than this are removed (their days stay in the daily roll-ups).
    public var retentionDays: Double = 30
    /// Past this size the oldest calls are removed first.
    public var maxBytes: Int = 256 << 20
    /// Whether requests and answers are kept (`AIQUERY_CALL_LOG_CONTENT=on`); never by default.
    public var keepsContent = false

    public init(path: String, retentionDays: Double = 30, maxBytes: Int = 256 << 20, keepsContent: Bool = false) {
        self.path = path
        self.retentionDays = retentionDays
        self.maxBytes = maxBytes
        self.keepsContent = keepsContent
    }

    /// `AIQUERY_CALL_LOG` (a file, or `off`), by default `calls.db` beside the cache file (or in
    /// `~/.cache/aiquery/` when the cache is off); `AIQUERY_CALL_LOG_DAYS` (1–36500, default 30),
    /// `AIQUERY_CALL_LOG_MAX_MB` (1–1048576, default 256), `AIQUERY_CALL_LOG_CONTENT` (`on`/`off`).
    public static func configured(cachePath: String? = SQLiteResponseStore.configuredPath) -> CallLogSettings? {
        let given = System.environment("AIQUERY_CALL_LOG")
        if given == "off" { return nil }
        let path: String
        if let given, !given.isEmpty {
            path = System.expandingTilde(given)
        } else if let cachePath, let slash = cachePath.lastIndex(of: "/") {
            path = cachePath[...slash] + "calls.db"
        } else {
            path = System.expandingTilde("~/.cache/aiquery/calls.db")
        }
        var settings = CallLogSettings(path: path)
        if let days = number("AIQUERY_CALL_LOG_DAYS", in: 1...36_500) { settings.retentionDays = days }
        if let megabytes = number("AIQUERY_CALL_LOG_MAX_MB", in: 1...1_048_576) { settings.maxBytes = Int(megabytes) << 20 }
        switch System.environment("AIQUERY_CALL_LOG_CONTENT")?.lowercased() {
        case nil, "", "off", "0", "false": break
        case "on", "1", "true": settings.keepsContent = true
        default: System.warnOnce("call-log-content", "aiquery: AIQUERY_CALL_LOG_CONTENT must be on or off; requests and answers are not logged")
        }
        return settings
    }

    private static func number(_ variable: String, in range: ClosedRange<Double>) -> Double? {
        guard let text = System.environment(variable), !text.isEmpty else { return nil }
        guard let value = Double(text.trimmed()), range.contains(value) else {
            System.warnOnce(variable, "aiquery: \(variable) must be a number from \(Int(range.lowerBound)) to \(Int(range.upperBound)), got '\(text.truncatedForMessage(40))'; using the default")
            return nil
        }
        return value
    }
}
