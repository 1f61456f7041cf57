import Glibc

/// How a statement steers its model calls: the budget it charges and how to tell it was interrupted.
public struct CallControl: Sendable {
    public var tally: StatementTally?
    /// Polled while waiting on the network, a backoff or a batch; true once the user pressed Ctrl-C.
    public var isCancelled: (@Sendable () -> Bool)?

    public init(tally: StatementTally? = nil, isCancelled: (@Sendable () -> Bool)? = nil) {
        self.tally = tally
        self.isCancelled = isCancelled
    }

    public static let cancelledError: AIQueryError = {
        var error = AIQueryError("interrupted (Ctrl-C): the statement stopped and requests in flight were abandoned")
        error.interrupted = true
        return error
    }()

    public func checkCancelled() throws {
        if isCancelled?() == true { throw Self.cancelledError }
    }

    /// Sleeps in short slices so an interrupt during a long backoff is noticed within 50 ms.
    public func sleep(_ seconds: Double) throws {
        guard isCancelled != nil else { return EndpointLimiter.sleepSeconds(seconds) }
        let end = System.monotonicSeconds() + seconds
        while true {
            try checkCancelled()
            let left = end - System.monotonicSeconds()
            if left <= 0 { return }
            EndpointLimiter.sleepSeconds(min(left, 0.05))
        }
    }
}

/// One row's request, ready to send: everything the cache key and the wire need.
public struct PreparedCall: Sendable {
    public let endpoint: Endpoint
    public let task: EndpointTask
    public let input: ModelInput
    public let body: JSONValue
    /// nil when the cache is off for this call.
    public let key: [UInt8]?
    public let options: QueryOptions
}
