import AIQueryTestSupport
import Foundation
import Testing

/// A process that answered rows, then forked (Python's multiprocessing, gunicorn, Spark's Python workers): each
/// child must get its own runtime — its own connections, threads and cache connections — never its parent's.
/// Before, children shared the parent's kept-alive connections: rows got another child's answer, some children
/// hung, others read half of someone else's response.
@Suite struct ForkTests {
    /// Debian's Python: its sqlite3 module loads extensions (some builds, pyenv's among them, cannot).
    static let python = "/usr/bin/python3"

    func run(cache: String, rounds: Int) throws -> [String: Any] {
        let server = try MockServer()
        let shell = try Shell()
        let script = RepositoryPaths.repository.appendingPathComponent("Tests/Support/fork_rows.py").path
        let log = shell.home.appendingPathComponent("calls.db").path
        let run = try runToEnd([
            "env", "-i", "HOME=\(shell.home.path)", "PATH=/usr/bin:/bin", "AIQUERY_CACHE=\(cache)", "AIQUERY_CALL_LOG=\(log)",
            "AIQUERY_CALL_LOG_CONTENT=on", Self.python, script, try Paths.library, "\(server.baseURL)/v1", "\(rounds)",
        ])
        #expect(run.status == 0, "fork_rows.py: \(run.output)")
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        var summary = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "fork_rows.py printed \(run.output)")
        // Every row's call is in the log once, with its own answer, though the children end with _exit.
        let counts = try shell.run(
            "SELECT count(*), count(DISTINCT request), sum(instr(request, substr(response, 7)) > 0), sum(status_code = 200) FROM calls;",
            database: log, load: false)
        summary["log"] = counts.lines.first ?? counts.stderr
        return summary
    }

    @Test(arguments: ["off", "cache-in-home"])
    func everyChildGetsTheAnswersToItsOwnPrompts(cache: String) throws {
        let path = cache == "off" ? "off" : FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-fork-\(UUID().uuidString).db").path
        let summary = try run(cache: path, rounds: 4)
        #expect(summary["children"] as? Int == 16)
        #expect(summary["rows"] as? Int == 4 * 2 * (20 + 21 + 22 + 23))
        #expect((summary["wrong"] as? [Any])?.isEmpty == true, "rows answered with another prompt's answer: \(summary["wrong"] ?? "")")
        #expect((summary["failed"] as? [Any])?.isEmpty == true, "children that hung or failed: \(summary["failed"] ?? "")")
        let calls = 4 * 2 * (20 + 21 + 22 + 23) + 4  // the children's rows and each round's parent row
        #expect(summary["log"] as? String == "\(calls)|\(calls)|\(calls)|\(calls)", "call log: count, distinct, own answers, answered")
    }
}
