/// The one error type of the core. Its `code` says what kind of failure it is, and from the code follow the SQLite
/// result code, the HTTP status and the Databricks `error_code` a front door reports. The SQL layer prefixes the
/// function name (`ai_query: …`).
public struct AIQueryError: Error, Sendable, CustomStringConvertible {
    /// Whether only this row failed (the endpoint's answer) or the statement is wrong (arguments, configuration).
    /// Only row failures become `errorMessage` under `failOnError => false`, as in Databricks.
    public enum Scope: Sendable { case row, statement }

    public var code: Code
    public var message: String
    /// The upstream's HTTP status, when the endpoint answered with an error.
    public var status: Int?
    /// The upstream's own error code (`RESOURCE_DOES_NOT_EXIST`, `invalid_api_key`), when it gave one.
    public var upstreamCode: String?
    /// How the call that failed went (its attempts, seconds), for the call log.
    public var trace = CallTrace()

    public init(_ code: Code, _ message: String, status: Int? = nil, upstreamCode: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.upstreamCode = upstreamCode
    }

    /// A bad argument: the most common error, so the shortest spelling.
    public init(_ message: String) {
        self.init(.invalidArgument, message)
    }

    public var scope: Scope { code.isRowFailure ? .row : .statement }
    public var isCancellation: Bool { code == .cancelled }
    public var description: String { message }

    /// The same error with `prefix` in front of its message (`row 50 (id 50): …`, a file's path).
    public func prefixed(_ prefix: String) -> AIQueryError {
        var copy = self
        copy.message = prefix + message
        return copy
    }

    /// SQLite's result code for this error: Ctrl-C is SQLITE_INTERRUPT, everything else SQLITE_ERROR (the message
    /// says the rest; other codes would make the shell print a number after every message).
    public var sqliteResultCode: Int32 { code == .cancelled ? 9 : 1 }

    /// The HTTP status a server front door answers with.
    public var httpStatus: Int {
        switch code.value {
        case .invalidArgument: return 400
        case .invalidConfiguration, .internalError: return 500
        case .unknownEndpoint, .cacheMiss: return 404
        case .missingCredentials: return 401
        case .permissionDenied: return 403
        case .upstreamStatus: return status ?? 502
        case .timeout: return 504
        case .unreachable, .invalidResponse: return 502
        case .castFailed: return 500
        case .tooLarge: return 413
        case .budgetExhausted, .rateLimited: return 429
        case .cancelled: return 499
        }
    }

    /// Databricks' `error_code` for the HTTP answer: the upstream's when it is a Databricks code, else the one
    /// Databricks uses for the status.
    public var databricksErrorCode: String {
        if code == .upstreamStatus, let upstreamCode, upstreamCode.allSatisfy({ $0.isUppercase || $0 == "_" }), !upstreamCode.isEmpty {
            return upstreamCode
        }
        switch code.value {
        case .invalidArgument, .tooLarge: return "INVALID_PARAMETER_VALUE"
        case .unknownEndpoint, .cacheMiss: return "RESOURCE_DOES_NOT_EXIST"
        case .missingCredentials: return "UNAUTHENTICATED"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .budgetExhausted, .rateLimited: return "REQUEST_LIMIT_EXCEEDED"
        case .cancelled: return "CANCELLED"
        case .timeout: return "DEADLINE_EXCEEDED"
        case .unreachable: return "TEMPORARILY_UNAVAILABLE"
        case .upstreamStatus: return Self.databricksCode(forStatus: httpStatus)
        case .invalidConfiguration, .internalError, .invalidResponse, .castFailed: return "INTERNAL_ERROR"
        }
    }

    static func databricksCode(forStatus status: Int) -> String {
        switch status {
        case 400, 413, 422: return "BAD_REQUEST"
        case 401: return "UNAUTHENTICATED"
        case 403: return "PERMISSION_DENIED"
        case 404: return "RESOURCE_DOES_NOT_EXIST"
        case 409: return "RESOURCE_CONFLICT"
        case 429: return "REQUEST_LIMIT_EXCEEDED"
        case 503: return "TEMPORARILY_UNAVAILABLE"
        case 504: return "DEADLINE_EXCEEDED"
        default: return status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST"
        }
    }
}
