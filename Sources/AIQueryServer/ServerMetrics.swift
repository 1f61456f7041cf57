import AIQueryCore
import Synchronization

/// Counters for `GET /metrics` in Prometheus' text format: requests and errors per endpoint and status, the
/// server's own added latency, and what the pipeline counts (cache hits, calls, tokens, upstream latency).
final class ServerMetrics: Sendable {
    private struct State {
        var requests: [String: Int] = [:]
        var overhead = LatencyHistogram()
        var overheadSum = 0.0
        var firstWord = LatencyHistogram()
        var firstWordSum = 0.0
    }

    private let state = Mutex(State())

    /// - Parameter overheadSeconds: nil for a stream, whose time is the upstream's as much as the server's.
    func record(endpoint: String, status: Int, overheadSeconds: Double?) {
        state.withLock { state in
            state.requests["\(Self.label(endpoint))\u{0}\(status)", default: 0] += 1
            guard let overheadSeconds else { return }
            state.overhead.record(overheadSeconds)
            state.overheadSum += overheadSeconds
        }
    }

    /// A stream's time to its first word (its status line goes out with it).
    func recordFirstWord(seconds: Double) {
        state.withLock { state in
            state.firstWord.record(seconds)
            state.firstWordSum += seconds
        }
    }

    func text(usage: [UsageLedger.EndpointUsage], callLog: CallLog? = nil) -> String {
        var lines: [String] = []
        let snapshot = state.withLock { $0 }
        lines.append("# HELP aiquery_requests_total Requests answered, by endpoint and HTTP status.")
        lines.append("# TYPE aiquery_requests_total counter")
        for (key, count) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            guard let (endpoint, status) = key.splitOnce("\u{0}") else { continue }
            lines.append("aiquery_requests_total{endpoint=\"\(endpoint)\",status=\"\(status)\"} \(count)")
        }
        Self.summary(
            "aiquery_overhead_seconds", "Time the server adds to a request, upstream waits excluded.", snapshot.overhead,
            sum: snapshot.overheadSum, into: &lines)
        Self.summary(
            "aiquery_stream_first_word_seconds", "Time from a streamed request to its first word.", snapshot.firstWord,
            sum: snapshot.firstWordSum, into: &lines)
        let counters: [(String, String, (UsageCounts) -> Int)] = [
            ("aiquery_rows_total", "Calls answered, by endpoint.", { $0.rows }),
            ("aiquery_cache_hits_total", "Calls answered without asking the endpoint.", { $0.cacheHits }),
            ("aiquery_upstream_requests_total", "HTTP requests to the upstream, retries included.", { $0.calls }),
            ("aiquery_errors_total", "Calls that failed.", { $0.errors }),
            ("aiquery_input_tokens_total", "Input tokens the upstream reported.", { $0.inputTokens }),
            ("aiquery_output_tokens_total", "Output tokens the upstream reported.", { $0.outputTokens }),
        ]
        for (name, help, value) in counters {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) counter")
            for entry in usage { lines.append("\(name){endpoint=\"\(Self.label(entry.endpoint))\"} \(value(entry.counts))") }
        }
        lines.append("# HELP aiquery_upstream_latency_seconds Upstream request latency.")
        lines.append("# TYPE aiquery_upstream_latency_seconds summary")
        for entry in usage {
            for quantile in [0.5, 0.95] {
                if let value = entry.latency.quantile(quantile) {
                    lines.append("aiquery_upstream_latency_seconds{endpoint=\"\(Self.label(entry.endpoint))\",quantile=\"\(quantile)\"} \(value)")
                }
            }
        }
        if let callLog {
            let counters = callLog.statistics
            for (name, type, help, value) in [
                ("aiquery_call_log_records_total", "counter", "Records this server wrote to the call log.", counters.written),
                ("aiquery_call_log_dropped_total", "counter", "Records given up on while the call log file refused writes.", counters.dropped),
                ("aiquery_call_log_queued", "gauge", "Records waiting to be written to the call log.", callLog.queued),
            ] {
                lines.append("# HELP \(name) \(help)")
                lines.append("# TYPE \(name) \(type)")
                lines.append("\(name) \(value)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One server-wide latency as a Prometheus summary: p50, p99, sum and count.
    private static func summary(_ name: String, _ help: String, _ histogram: LatencyHistogram, sum: Double, into lines: inout [String]) {
        lines.append("# HELP \(name) \(help)")
        lines.append("# TYPE \(name) summary")
        for quantile in [0.5, 0.99] {
            if let value = histogram.quantile(quantile) { lines.append("\(name){quantile=\"\(quantile)\"} \(value)") }
        }
        lines.append("\(name)_sum \(sum)")
        lines.append("\(name)_count \(histogram.count)")
    }

    /// A label value: quotes, backslashes and newlines escaped as Prometheus wants.
    static func label(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n")
    }
}
