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
        let run = try runToEnd([
            "env", "-i", "HOME=\(shell.home.path)", "PATH=/usr/bin:/bin", "AIQUERY_CACHE=\(cache)",
            Self.python, script, try Paths.library, "\(server.baseURL)/v1", "\(rounds)",
        ])
        #expect(run.status == 0, "fork_rows.py: \(run.output)")
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "fork_rows.py printed \(run.output)")
    }

    @Test(arguments: ["off", "cache-in-home"])
    func everyChildGetsTheAnswersToItsOwnPrompts(cache: String) throws {
        let path = cache == "off" ? "off" : FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-fork-\(UUID().uuidString).db").path
        let summary = try run(cache: path, rounds: 4)
        #expect(summary["children"] as? Int == 16)
        #expect(summary["rows"] as? Int == 4 * 2 * (20 + 21 + 22 + 23))
        #expect((summary["wrong"] as? [Any])?.isEmpty == true, "rows answered with another prompt's answer: \(summary["wrong"] ?? "")")
        #expect((summary["failed"] as? [Any])?.isEmpty == true, "children that hung or failed: \(summary["failed"] ?? "")")
    }
}
