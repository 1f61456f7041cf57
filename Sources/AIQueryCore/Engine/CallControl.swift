import Synchronization

/// How a call learns that its statement was interrupted (Ctrl-C, a cancelled task), and waits that notice it.
/// Every wait of a call (rate limit, backoff, HTTP) polls `isCancelled`, so an interrupt ends it within ~50 ms.
public struct CallControl: Sendable {
    /// True once the user pressed Ctrl-C; polled while waiting. nil: never cancelled.
    public var isCancelled: (@Sendable () -> Bool)?

    public init(isCancelled: (@Sendable () -> Bool)? = nil) {
        self.isCancelled = isCancelled
    }

    public static let cancelledError = AIQueryError(
        .cancelled, "interrupted (Ctrl-C): the statement stopped and requests in flight were abandoned")

    public func checkCancelled() throws(AIQueryError) {
        if isCancelled?() == true { throw Self.cancelledError }
    }

    /// Sleeps in short slices so an interrupt during a long backoff is noticed within 50 ms.
    public func sleep(_ seconds: Double) throws(AIQueryError) {
        let end = System.monotonicSeconds() + seconds
        while true {
            try checkCancelled()
            let left = end - System.monotonicSeconds()
            if left <= 0 { return }
            EndpointLimiter.sleepSeconds(min(left, 0.05))
        }
    }
}

/// A flag set from one thread and read from others (a cancelled task, a statement that stopped).
public final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func set() { value.store(true, ordering: .relaxed) }
    public var isSet: Bool { value.load(ordering: .relaxed) }
}
