/// The version reported by `ai_version()` and sent in the User-Agent header.
public enum AIQueryVersion {
    public static let string = "0.1.0"
}
