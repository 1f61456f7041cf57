import Synchronization

/// How one call to an endpoint went, for its record in the call log: the HTTP attempts it took, its seconds from
/// the first attempt to the answer (waits between retries included), and for a streamed answer when its first
/// words came. Not part of the answer: a cached answer has none, and two answers are equal without it.
public struct CallTrace: Sendable {
    /// HTTP requests sent (retries included); 0 for an answer that made none.
    public var attempts = 0
    public var seconds: Double?
    public var firstDeltaSeconds: Double?

    public init(attempts: Int = 0, seconds: Double? = nil, firstDeltaSeconds: Double? = nil) {
        self.attempts = attempts
        self.seconds = seconds
        self.firstDeltaSeconds = firstDeltaSeconds
    }
}

extension Result where Success == ModelResponse, Failure == AIQueryError {
    /// The result with the seconds since `started` (and the first delta's, when given) in its trace, unless an
    /// inner step measured them already.
    func traced(since started: Double, firstDeltaAt: Double? = nil) -> Self {
        let seconds = System.monotonicSeconds() - started
        let firstDelta = firstDeltaAt.map { $0 - started }
        switch self {
        case .success(var response):
            response.trace.seconds = response.trace.seconds ?? seconds
            response.trace.firstDeltaSeconds = response.trace.firstDeltaSeconds ?? firstDelta
            return .success(response)
        case .failure(var error):
            error.trace.seconds = error.trace.seconds ?? seconds
            error.trace.firstDeltaSeconds = error.trace.firstDeltaSeconds ?? firstDelta
            return .failure(error)
        }
    }
}

/// When a streamed answer's first words came: `onDelta` passed through, noting the moment of its first call.
final class FirstMoment: Sendable {
    private let first = Mutex<Double?>(nil)
    private let downstream: (@Sendable (String) -> Void)?

    init(watching onDelta: (@Sendable (String) -> Void)?) { downstream = onDelta }

    /// What to give the request in place of `onDelta` (nil when nothing streams).
    var onDelta: (@Sendable (String) -> Void)? {
        guard let downstream else { return nil }
        return { [self] text in
            first.withLock { if $0 == nil { $0 = System.monotonicSeconds() } }
            downstream(text)
        }
    }

    var moment: Double? { first.withLock { $0 } }
}
