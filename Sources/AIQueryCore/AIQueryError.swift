/// An error from ai_query's core. The SQL layer prefixes the function name (`ai_query: …`).
public struct AIQueryError: Error, Sendable, CustomStringConvertible {
    /// Whether only this row failed (the endpoint's answer) or the statement is wrong (arguments, configuration).
    /// Only row failures become `errorMessage` under `failOnError => false`, as in Databricks.
    public enum Scope: Sendable { case row, statement }

    public var message: String
    public var scope: Scope
    /// The HTTP status of the last attempt, when the endpoint answered with an error.
    public var status: Int?
    /// Ctrl-C stopped the statement (SQLITE_INTERRUPT rather than SQLITE_ERROR).
    public var interrupted = false

    public init(_ message: String, scope: Scope = .statement, status: Int? = nil) {
        self.message = message
        self.scope = scope
        self.status = status
    }

    public static func row(_ message: String, status: Int? = nil) -> AIQueryError {
        AIQueryError(message, scope: .row, status: status)
    }

    public var description: String { message }
}
