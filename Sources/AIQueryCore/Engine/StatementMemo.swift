import Synchronization

/// Answers a statement already received, so identical requests in it are asked once whatever the cache mode.
/// Bounded: the oldest answers are forgotten past `maxEntries` or `maxBytes` (with the cache on, the cache still
/// has them).
public final class StatementMemo: Sendable {
    public static let maxEntries = 10_000
    public static let maxBytes = 32 << 20

    private struct State {
        var answers: [[UInt8]: ModelResponse] = [:]
        /// Keys and sizes, oldest first.
        var order = FIFOQueue<([UInt8], Int)>()
        var bytes = 0
    }

    private let state = Mutex(State())
    /// Whether anything was remembered: a statement answered from the cache never takes the lock.
    private let used = Atomic<Bool>(false)

    public init() {}

    public func answer(for key: [UInt8]) -> ModelResponse? {
        guard used.load(ordering: .acquiring) else { return nil }
        return state.withLock { $0.answers[key] }
    }

    public func remember(_ response: ModelResponse, for key: [UInt8]) {
        let size = Self.size(of: response)
        guard size <= Self.maxBytes else { return }
        defer { used.store(true, ordering: .releasing) }
        state.withLock { state in
            if state.answers.updateValue(response, forKey: key) != nil { return }
            state.order.append((key, size))
            state.bytes += size
            while state.order.count > Self.maxEntries || state.bytes > Self.maxBytes, let (oldest, oldestSize) = state.order.popFirst() {
                state.answers[oldest] = nil
                state.bytes -= oldestSize
            }
        }
    }

    static func size(of response: ModelResponse) -> Int {
        let output: Int
        switch response.output {
        case .text(let text): output = text.utf8.count
        case .embedding(let vector): output = vector.count * 4
        case .json(let json): output = json.serialized().utf8.count
        }
        return 64 + output + (response.raw?.count ?? 0)
    }
}
