import AIQueryTestSupport
import Foundation
import Testing

/// Every SQL example of the README runs, in order, in the real shell: the endpoints it names are the loopback
/// server (`my-llm`, `my-embedder`, and the task functions' endpoint) and the real `local-minilm`; its tables are
/// `docs` and the quickstart's 300 reviews. An example that no longer runs fails here, naming its first line.
@Suite struct ReadmeTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        // The examples that parse an answer get one that parses.
        server = try MockServer(environment: ["MOCK_REPLIES": #"{"How many legs has a spider?": "8"}"#])
        shell = try Shell(cacheInHome: true)
        shell.environment["AIQUERY_MINILM_PATH"] = try LocalModelTests.miniLMFolder()
        shell.environment["AIQUERY_HOME"] = LocalGenerationTests.aiqueryHome
        // The examples name ~/.cache/aiquery/models, where scripts/local-llm install puts the models; this HOME is empty.
        let cache = shell.home.appendingPathComponent(".cache/aiquery")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: cache.appendingPathComponent("models"), withDestinationURL: URL(fileURLWithPath: LocalGenerationTests.aiqueryHome + "/models"))
    }

    /// The README's ```sql blocks, without the `.load` the harness does itself.
    static func examples() throws -> [String] {
        let readme = try String(contentsOf: RepositoryPaths.repository.appendingPathComponent("README.md"), encoding: .utf8)
        return readme.components(separatedBy: "```sql\n").dropFirst().map { block in
            let code = block.components(separatedBy: "```")[0]
            return code.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix(".load ") }.joined(separator: "\n")
        }
    }

    @Test func everySQLExampleRuns() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 20, "found \(examples.count) examples")
        let database = shell.home.appendingPathComponent("readme.db").path
        let reviews = try String(contentsOf: RepositoryPaths.repository.appendingPathComponent("examples/reviews.sql"), encoding: .utf8)
        let setup = try shell.run(
            reviews + """

                CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT, summary TEXT);
                INSERT INTO docs(body) VALUES ('SQLite is a small database.'), ('Swift is a language.'), ('Spark runs on many machines.');
                """, database: database)
        #expect(setup.stderr.isEmpty, "\(setup.stderr)")
        let url = "\(server.baseURL)/v1"
        let endpoints = """
            SELECT ai_endpoint_set('my-llm', '{"provider":"openai","task":"chat","model":"echo","url":"\(url)"}');
            SELECT ai_endpoint_set('my-embedder', '{"provider":"openai","task":"embeddings","model":"e","url":"\(url)"}');
            SELECT ai_endpoint_set('tasks', '{"provider":"openai","task":"chat","model":"t","url":"\(url)"}');
            SELECT ai_config('task_endpoint', 'tasks');

            """
        let vec = ProcessInfo.processInfo.environment["AIQUERY_SQLITE_VEC"].map { ".load \($0)\n" } ?? ""
        for example in examples {
            let first = example.split(separator: "\n").first { !$0.hasPrefix("--") } ?? ""
            if example.contains("USING vec0"), vec.isEmpty {
                Issue.record("AIQUERY_SQLITE_VEC is not set: scripts/test sets it")
                continue
            }
            let result = try shell.run(endpoints + (example.contains("vec0") ? vec : "") + example, database: database)
            #expect(result.stderr.isEmpty, "README example starting \(first): \(result.stderr)")
            if example.hasPrefix("SELECT ai_query_request(") {
                #expect(example.contains("-- " + (result.lines.last ?? "(nothing)")), "the documented request is what it prints: \(result.lines)")
            }
        }
    }
}
