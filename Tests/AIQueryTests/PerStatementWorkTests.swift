import AIQueryTestSupport
import Foundation
import Testing

/// Work that belongs to the statement is done once per statement: the endpoint is resolved, the config file
/// checked for changes and the workspace credentials read once, however many rows the statement has. Counted
/// with strace on the real shell, on rows answered from the cache.
@Suite("per-statement work")
struct PerStatementWorkTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(cacheInHome: true)
    }

    /// The rows of one statement asking `endpoint` 10 distinct prompts, `count` rows in all.
    func statement(_ endpoint: String, rows count: Int) -> String {
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count)) SELECT count(ai_query('\(endpoint)', 'p' || (i % 10))) FROM n;"
    }

    /// File-system calls naming `path` while a warm statement of `rows` rows runs (the trace of loading the
    /// extension is the same for every run, so runs of different sizes can be compared).
    func fileCalls(naming path: String, endpoint: String, rows: Int) throws -> (naming: Int, all: Int) {
        let trace = shell.home.appendingPathComponent("trace-\(rows).txt").path
        let result = try shell.run(statement(endpoint, rows: rows), under: ["strace", "-f", "-qq", "-e", "trace=%file", "-o", trace])
        #expect(result.stderr == "")
        #expect(result.lines.last == String(rows))
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        return (lines.filter { $0.contains(path) }.count, lines.count)
    }

    /// Requests that ask a model (a workspace endpoint's task is looked up once per process, not cached).
    func modelCalls() throws -> Int {
        try server.requests().filter { ($0["method"] as? String) == "POST" }.count
    }

    func expectPerStatement(path: String, endpoint: String) throws {
        _ = try shell.query(statement(endpoint, rows: 10))  // fills the cache
        let calls = try modelCalls()
        let few = try fileCalls(naming: path, endpoint: endpoint, rows: 10)
        let many = try fileCalls(naming: path, endpoint: endpoint, rows: 2000)
        #expect(try modelCalls() == calls, "the runs were answered from the cache")
        #expect(few.naming >= 1, "the statement looks at \(path)")
        #expect(many.naming <= few.naming + 2, "\(path): \(few.naming) calls for 10 rows, \(many.naming) for 2000")
        #expect(many.all <= few.all + 50, "file-system calls: \(few.all) for 10 rows, \(many.all) for 2000")
    }

    @Test func theConfigFileIsCheckedOncePerStatement() throws {
        var test = self
        let path = try shell.write(
            "endpoints.yaml",
            """
            endpoints:
              - name: llm
                endpoint_type: llm/v1/chat
                model: {provider: openai, name: m, config: {openai_api_base: "\(server.baseURL)/v1"}}
            """)
        test.shell.environment["AIQUERY_CONFIG"] = path
        try test.expectPerStatement(path: path, endpoint: "llm")
    }

    @Test func workspaceCredentialsAreReadOncePerStatement() throws {
        let path = try shell.write(".databrickscfg", "[DEFAULT]\nhost = \(server.baseURL)\ntoken = dapi-profile-token\n")
        try expectPerStatement(path: path, endpoint: "chat-llama")
        let headers = try #require(try server.requests().last?["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer dapi-profile-token")
    }
}
