/// A call's settings after layering: call > connection > endpoint > default. What `ai_config(name)` reports is
/// this resolution without a call or an endpoint, so it is what a plain call runs with.
public struct ResolvedSettings: Sendable {
    public var call: SettingLayer
    public var connection: SettingLayer
    public var endpoint: SettingLayer

    public init(call: SettingLayer = SettingLayer(), connection: SettingLayer = SettingLayer(), endpoint: SettingLayer = SettingLayer()) {
        self.call = call
        self.connection = connection
        self.endpoint = endpoint
    }

    public func value(_ setting: Setting) -> SettingValue? {
        call[setting] ?? connection[setting] ?? endpoint[setting] ?? setting.defaultValue
    }

    public func seconds(_ setting: Setting) -> Double? {
        if case .seconds(let seconds)? = value(setting) { return seconds }
        return nil
    }

    public func count(_ setting: Setting) -> Int? {
        if case .count(let count)? = value(setting) { return count }
        return nil
    }

    public func choice(_ setting: Setting) -> String? {
        if case .choice(let text)? = value(setting) { return text }
        return nil
    }

    /// The request tags as sorted JSON text; nil without any.
    public var requestTags: String? {
        if case .json(let text)? = value(.requestTags), text != "{}" { return text }
        return nil
    }

    public var cacheMode: CacheMode { choice(.cache).flatMap(CacheMode.init(rawValue:)) ?? .on }
    public var timeout: Double { seconds(.timeout) ?? 300 }

    /// openai-python's retry defaults with this call's count, deadline and first backoff.
    public var retryPolicy: RetryPolicy {
        var policy = RetryPolicy()
        policy.maxRetries = count(.maxRetries) ?? policy.maxRetries
        policy.deadline = seconds(.deadline)
        if let backoff = seconds(.backoff) {
            policy.initialBackoff = backoff
            policy.maxBackoff = max(backoff, policy.maxBackoff)
        }
        return policy
    }
}
