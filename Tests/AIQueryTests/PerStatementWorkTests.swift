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

/// A statement's scalar task function calls share one plan, as ai_query's rows do: the statement's budget is
/// exact, identical rows are asked once even with the cache off, and the next run of the same prepared statement
/// starts afresh.
@Suite("task functions plan once per statement")
struct TaskStatementTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(environment: ["AIQUERY_CACHE": "off"])
    }

    var setup: String {
        """
        SELECT ai_endpoint_set('tasks', '{"provider":"openai","task":"chat","model":"t","url":"\(server.baseURL)/v1"}');
        SELECT ai_config('task_endpoint', 'tasks');
        CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) INSERT INTO docs(body) SELECT 'document ' || i FROM n;
        """
    }

    func modelCalls() throws -> Int { try server.requests().filter { ($0["method"] as? String) == "POST" }.count }

    @Test func aStatementsBudgetCountsEveryRow() throws {
        let result = try shell.run(setup + "SELECT ai_config('max_calls', 3);\nSELECT count(ai_classify(body, json_array('a', 'b'))) FROM docs;")
        #expect(result.stderr.contains("ai_classify: the statement reached its budget of maxCalls 3 (3 calls to 'tasks' made, 3 rows done)"), "\(result.stderr)")
        #expect(try modelCalls() == 3)
    }

    @Test func identicalRowsAreAskedOnceWithTheCacheOff() throws {
        let result = try shell.run(
            setup + "SELECT count(ai_summarize(body)), count(ai_fix_grammar(body)) FROM docs, (SELECT 1 UNION ALL SELECT 2);")
        #expect(result.stderr == "")
        #expect(result.lines.last == "20|20")
        #expect(try modelCalls() == 20, "10 texts, each summarized once and fixed once, for 20 rows")
    }

    @Test func theNextRunOfAPreparedStatementHasItsOwnBudget() throws {
        let script = """
            import sqlite3, sys
            connection = sqlite3.connect(":memory:")
            connection.enable_load_extension(True)
            connection.load_extension(sys.argv[1])
            connection.executescript(sys.argv[2])
            connection.execute("SELECT ai_config('max_calls', 2)")
            for group in range(4):  # one cached prepared statement, run four times: two rows, two calls each
                rows = connection.execute("SELECT ai_summarize(body) FROM docs WHERE id IN (?, ?)", (2 * group + 1, 2 * group + 2)).fetchall()
                print(len(rows))
            """
        let run = try runToEnd([
            "env", "HOME=\(shell.home.path)", "AIQUERY_CACHE=off", ForkTests.python, "-c", script, try Paths.library, setup,
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.split(separator: "\n").suffix(4) == ["2", "2", "2", "2"], "\(run.output)")
        #expect(try modelCalls() == 8)
    }
}
