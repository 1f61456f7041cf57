import Synchronization
import Glibc

/// A one-line progress display on stderr for statements that make many model calls:
/// `ai_query my-llm: 523/1,000 rows · 48.1 rows/s · 120 cached · 3 retries · ETA 10s`.
/// It redraws at most 10 times a second and only after the statement has run half a second.
public final class ProgressLine: @unchecked Sendable {
    /// `auto` shows it when stderr is a terminal.
    public enum Mode: String, Sendable, CaseIterable { case auto, on, off }

    private let label: String
    private let tally: StatementTally
    private var lastDraw = 0.0
    private var drawn = false

    public init(label: String, tally: StatementTally) {
        self.label = label
        self.tally = tally
    }

    public static func isWanted(_ mode: Mode) -> Bool {
        switch mode {
        case .on: return true
        case .off: return false
        case .auto: return isatty(2) != 0
        }
    }

    /// Redraws when due; call it from the statement's thread as rows complete.
    public func update() {
        let now = System.monotonicSeconds()
        guard now - tally.started >= 0.5, now - lastDraw >= 0.1 else { return }
        lastDraw = now
        draw(now: now)
    }

    /// Draws the final state and ends the line, if anything was shown.
    public func finish() {
        guard drawn else { return }
        draw(now: System.monotonicSeconds())
        write("\n")
        drawn = false
    }

    private func draw(now: Double) {
        let counts = tally.snapshot
        let elapsed = max(now - tally.started, 1e-6)
        let rate = Double(counts.rows) / elapsed
        let expected = tally.expectedRows.load(ordering: .relaxed)
        var parts = ["\(label): \(expected >= 0 ? "\(counts.rows)/\(expected)" : "\(counts.rows)") rows"]
        parts.append("\(formatRate(rate)) rows/s")
        if counts.cacheHits > 0 { parts.append("\(counts.cacheHits) cached") }
        if counts.retries > 0 { parts.append("\(counts.retries) retries") }
        if counts.errors > 0 { parts.append("\(counts.errors) errors") }
        if expected > counts.rows, rate > 0 { parts.append("ETA \(formatSeconds((Double(expected - counts.rows) / rate).rounded()))") }
        // \r and clear-to-end-of-line: the line is redrawn in place.
        write("\r" + parts.joined(separator: " · ") + "\u{1B}[K")
        drawn = true
    }

    private func formatRate(_ rate: Double) -> String {
        rate >= 100 ? String(Int(rate.rounded())) : String(Double(Int(rate * 10)) / 10)
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
