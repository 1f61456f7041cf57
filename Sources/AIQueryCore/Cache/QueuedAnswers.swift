import Synchronization

/// Answers handed to a caller but not yet in the cache file (the server's write-behind). Lookups see them at
/// once, so asking again right away is a hit; a writer takes them all in one go, so under load many answers share
/// one transaction instead of each paying its own.
final class QueuedAnswers: Sendable {
    struct Entry: Sendable {
        var endpoint: String
        var response: ModelResponse
        /// Tells a rewrite of the key apart from the entry a writer took, so the writer leaves the newer one.
        var serial: Int
    }

    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        var serial = 0
        var flushScheduled = false
    }

    private let state = Mutex(State())

    /// Adds an answer. `first`: no flush is scheduled yet (the caller schedules one); `count`: answers queued.
    func add(key: [UInt8], endpoint: String, response: ModelResponse) -> (first: Bool, count: Int) {
        state.withLock { state in
            state.serial += 1
            state.entries[key] = Entry(endpoint: endpoint, response: response, serial: state.serial)
            defer { state.flushScheduled = true }
            return (!state.flushScheduled, state.entries.count)
        }
    }

    func answer(for key: [UInt8]) -> ModelResponse? {
        state.withLock { $0.entries.isEmpty ? nil : $0.entries[key]?.response }
    }

    /// Everything queued, for one write; what arrives meanwhile schedules the next flush.
    func takeForWriting() -> [[UInt8]: Entry] {
        state.withLock { state in
            state.flushScheduled = false
            return state.entries
        }
    }

    /// Forgets what was written (or given up on), unless the key was queued again since.
    func written(_ batch: [[UInt8]: Entry]) {
        state.withLock { state in
            for (key, entry) in batch where state.entries[key]?.serial == entry.serial { state.entries[key] = nil }
        }
    }
}
