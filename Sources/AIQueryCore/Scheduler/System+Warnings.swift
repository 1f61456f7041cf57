import Glibc
import Synchronization

extension System {
    private static let warned = Mutex<Set<String>>([])

    /// Writes `message` to stderr the first time `topic` comes up in this process: a degraded but working path
    /// (the cache unusable, say) is worth one line, not one per row.
    public static func warnOnce(_ topic: String, _ message: String) {
        guard warned.withLock({ $0.insert(topic).inserted }) else { return }
        var line = Array((message + "\n").utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
