/// The settings given in one place (a call's options, a connection's ai_config, an endpoint's definition).
public struct SettingLayer: Sendable, Equatable {
    private var values: [String: SettingValue] = [:]

    public init() {}

    public subscript(setting: Setting) -> SettingValue? {
        get { values[setting.option] }
        set { values[setting.option] = newValue }
    }

    public var isEmpty: Bool { values.isEmpty }
}
