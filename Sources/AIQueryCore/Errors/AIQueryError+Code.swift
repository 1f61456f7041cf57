extension AIQueryError {
    /// What kind of failure an error is. An opaque struct over a private enum, so kinds can be added without
    /// breaking callers that match on the ones they know.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: String, Sendable {
            case invalidArgument, invalidConfiguration, unknownEndpoint, missingCredentials
            case upstreamStatus, timeout, unreachable, invalidResponse, castFailed, cacheMiss, tooLarge
            case budgetExhausted, rateLimited, permissionDenied, cancelled, internalError
        }

        let value: Value
        private init(_ value: Value) { self.value = value }

        /// A function argument or option is wrong.
        public static let invalidArgument = Code(.invalidArgument)
        /// An endpoint definition, the YAML file or the environment is wrong.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// No endpoint by that name.
        public static let unknownEndpoint = Code(.unknownEndpoint)
        /// The endpoint needs a key or workspace credentials that are not set.
        public static let missingCredentials = Code(.missingCredentials)
        /// The endpoint answered with an HTTP error (`status` says which).
        public static let upstreamStatus = Code(.upstreamStatus)
        /// No answer within the timeout.
        public static let timeout = Code(.timeout)
        /// No connection, or it broke before a whole answer arrived.
        public static let unreachable = Code(.unreachable)
        /// A 2xx answer that is not what the API promises (not JSON, fields missing).
        public static let invalidResponse = Code(.invalidResponse)
        /// The answer does not fit the requested returnType (AI_FUNCTION_HTTP_PARSE_CAST_ERROR).
        public static let castFailed = Code(.castFailed)
        /// Cache mode replay and no stored answer.
        public static let cacheMiss = Code(.cacheMiss)
        /// The request is bigger than anything the endpoint's limits would ever let through.
        public static let tooLarge = Code(.tooLarge)
        /// The statement spent its maxCalls or maxTokens.
        public static let budgetExhausted = Code(.budgetExhausted)
        /// A caller went over an endpoint's limit (a server front door answers 429).
        public static let rateLimited = Code(.rateLimited)
        /// Not allowed here: an endpoint outside the allowlist, or a call from a database's schema.
        public static let permissionDenied = Code(.permissionDenied)
        /// Ctrl-C (sqlite3_interrupt) or a cancelled task.
        public static let cancelled = Code(.cancelled)
        public static let internalError = Code(.internalError)

        /// Failures of one row's answer: with failOnError false they become that row's errorMessage.
        public var isRowFailure: Bool {
            switch value {
            case .upstreamStatus, .timeout, .unreachable, .invalidResponse, .castFailed, .cacheMiss, .tooLarge: return true
            default: return false
            }
        }

        public var description: String { value.rawValue }
    }
}
