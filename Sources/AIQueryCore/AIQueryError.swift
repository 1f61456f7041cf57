/// An error from ai_query's core. The SQL layer prefixes the function name (`ai_query: …`).
public struct AIQueryError: Error, Sendable, CustomStringConvertible {
    /// Whether only this row failed (the endpoint's answer) or the statement is wrong (arguments, configuration).
    /// Only row failures become `errorMessage` under `failOnError => false`, as in Databricks.
    public enum Scope: Sendable { case row, statement }

    public var message: String
    public var scope: Scope

    public init(_ message: String, scope: Scope = .statement) {
        self.message = message
        self.scope = scope
    }

    public static func row(_ message: String) -> AIQueryError { AIQueryError(message, scope: .row) }

    public var description: String { message }
}
