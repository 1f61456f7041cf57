/// The settings given in one place (a call's options, a connection's ai_config, an endpoint's definition).
public struct SettingLayer: Sendable, Equatable {
    /// By ``Setting/id``: resolving a setting is three array reads, no hashing (it runs on every row's path).
    private var values = [SettingValue?](repeating: nil, count: Setting.all.count)

    public init() {}

    public subscript(setting: Setting) -> SettingValue? {
        get { values[setting.id] }
        set { values[setting.id] = newValue }
    }

    public var isEmpty: Bool { values.allSatisfy { $0 == nil } }
}
