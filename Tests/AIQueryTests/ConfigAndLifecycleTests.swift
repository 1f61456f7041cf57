import AIQueryTestSupport
import Foundation
import Testing

/// Endpoints from YAML (MLflow AI Gateway format), session endpoints, and the extension's lifetime in the shell.
@Suite("configuration and lifecycle")
struct ConfigAndLifecycleTests {
    @Test func mlflowGatewayConfigWorksUnchanged() throws {
        let server = try MockServer()
        var shell = try Shell(environment: ["GATEWAY_KEY": "sk-from-env"])
        let path = try shell.write(
            "gateway.yaml",
            """
            endpoints:
              - name: chat
                endpoint_type: llm/v1/chat
                model:
                  provider: openai
                  name: gpt-4o-mini
                  config:
                    openai_api_key: $GATEWAY_KEY
                    openai_api_base: \(server.baseURL)/v1
                limit:
                  renewal_period: minute
                  calls: 10
              - name: embeddings
                endpoint_type: llm/v1/embeddings
                model: {provider: openai, name: text-embedding-3-small, config: {openai_api_base: "\(server.baseURL)/v1"}}
            """)
        shell.environment["AIQUERY_CONFIG"] = path
        let lines = try shell.query(
            """
            SELECT ai_query('chat', 'from yaml');
            SELECT length(ai_query('embeddings', 'v'));
            SELECT name, task, provider, model, source = 'config:\(path)', api_key FROM ai_endpoints WHERE source != 'built-in';
            """)
        #expect(
            lines == [
                "echo: from yaml", "32", "chat|llm/v1/chat|openai|gpt-4o-mini|1|$GATEWAY_KEY",
                "embeddings|llm/v1/embeddings|openai|text-embedding-3-small|1|",
            ])
        let headers = try #require(try server.requests().first?["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer sk-from-env")
    }

    @Test func brokenConfigIsAClearError() throws {
        var shell = try Shell()
        let path = try shell.write("bad.yaml", "endpoints:\n  - name: x\n    model: {provider: openai\n")
        shell.environment["AIQUERY_CONFIG"] = path
        let message = try shell.error("SELECT ai_query('x', 'y');")
        #expect(message.hasPrefix("ai_query: \(path): line "))
        shell.environment["AIQUERY_CONFIG"] = "/nonexistent/endpoints.yaml"
        #expect(try shell.error("SELECT ai_query('x', 'y');") == "ai_query: AIQUERY_CONFIG names /nonexistent/endpoints.yaml, which does not exist")
    }

    @Test func sessionEndpointsOverrideAndDrop() throws {
        let server = try MockServer()
        let shell = try Shell()
        let lines = try shell.query(
            """
            SELECT ai_endpoint_set('e', '{"provider":"openai","task":"completions","model":"a","url":"\(server.baseURL)/v1"}');
            SELECT ai_endpoint_set('e', '{"provider":"openai","task":"chat","model":"b","url":"\(server.baseURL)/v1"}');
            SELECT name, task, model FROM ai_endpoints WHERE source != 'built-in';
            SELECT ai_query('e', 'q');
            SELECT ai_endpoint_drop('e'), ai_endpoint_drop('e');
            SELECT count(*) FROM ai_endpoints WHERE source != 'built-in';
            """)
        #expect(lines == ["e", "e", "e|llm/v1/chat|b", "echo: q", "1|0", "0"])
    }

    @Test func functionListIsExact() throws {
        let shell = try Shell()
        let lines = try shell.query(
            "SELECT DISTINCT name FROM pragma_function_list WHERE name LIKE 'ai\\_%' ESCAPE '\\' ORDER BY name;")
        #expect(
            lines == [
                "ai_analyze_sentiment", "ai_cache_clear", "ai_cache_stats", "ai_classify", "ai_config", "ai_cosine", "ai_debug",
                "ai_endpoint_drop", "ai_endpoint_set", "ai_extract", "ai_fix_grammar", "ai_gen", "ai_mask", "ai_query", "ai_query_request",
                "ai_similarity", "ai_summarize", "ai_task_request", "ai_translate", "ai_usage_reset", "ai_version",
            ])
        #expect(try shell.query("SELECT ai_version();") == ["0.1.0"])
        #expect(try shell.query("SELECT name FROM pragma_module_list WHERE name LIKE 'ai\\_%' ESCAPE '\\' ORDER BY name;")
            == ["ai_endpoints", "ai_query_rows", "ai_task_rows", "ai_usage", "ai_usage_daily", "ai_usage_log"])
        #expect(try shell.query("SELECT name, provider FROM ai_endpoints WHERE source = 'built-in';")
            == ["local-minilm|local", "local-gemma|local", "local-chat|local"])
    }

    @Test func survivesOpeningAnotherDatabase() throws {
        let server = try MockServer()
        let shell = try Shell()
        let define = #"SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1"}');"#
        let result = try shell.run(
            """
            \(define)
            SELECT ai_query('llm', 'before');
            .open \(shell.home.path)/other.db
            .load \(Paths.library)
            \(define)
            SELECT ai_query('llm', 'after');
            .open :memory:
            SELECT 'still alive';
            """)
        #expect(result.status == 0)
        #expect(result.stderr == "")
        #expect(result.lines == ["llm", "echo: before", "llm", "echo: after", "still alive"])
    }
}

/// The shipped .so uses only the host's SQLite and carries its own Swift runtime.
@Suite("linkage of the shipped extension")
struct LinkageTests {
    func run(_ arguments: [String]) throws -> String { try runToEnd(arguments).output }

    @Test func noUndefinedSQLiteSymbols() throws {
        let symbols = try run(["nm", "-D", "--undefined-only", Paths.library + ".so"])
        #expect(!symbols.isEmpty)
        #expect(!symbols.contains("sqlite3_"), "the extension must call SQLite only through the host's API table")
    }

    /// Everything but the entry point is local (Sources/AIQuery/exports.map): nothing else in the host process can
    /// bind to the .so's Swift runtime, AIQueryCore or C shims, or clash with them.
    @Test func exportsOnlyTheEntryPoint() throws {
        let listing = try run(["nm", "-D", "--defined-only", Paths.library + ".so"])
        let exported = listing.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(exported.contains("sqlite3_aiquery_init"))
        let others = exported.filter { $0 != "sqlite3_aiquery_init" }
        #expect(others.count == 0, "also exported: \(others.prefix(8).joined(separator: " "))…")
    }

    @Test func noSwiftRuntimeLibraries() throws {
        let libraries = try run(["ldd", Paths.library + ".so"])
        #expect(libraries.contains("libc.so"))
        #expect(!libraries.contains("libswift"), "built with the Swift stdlib statically linked")
        #expect(!libraries.contains("libFoundation"))
    }

    /// OpenBLAS is opened when the local embedder first runs, so hosts without it can still load the extension.
    @Test func openBLASIsNotNeededToLoad() throws {
        let needed = try run(["readelf", "-d", Paths.library + ".so"])
        #expect(needed.contains("libcurl"))
        #expect(!needed.contains("blas"))
    }
}

/// `swift test` alone does not rebuild the .so; the harness refuses one older than its sources.
@Suite("stale build check")
struct StaleLibraryTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-stale-\(UUID().uuidString)")
    let now = Date()

    /// A folder holding Package.swift and Sources/T/{a.swift,include/b.h}, all modified an hour ago.
    func makeTree() throws -> (library: URL, inputs: [URL]) {
        let header = folder.appendingPathComponent("Sources/T/include/b.h")
        try FileManager.default.createDirectory(at: header.deletingLastPathComponent(), withIntermediateDirectories: true)
        for path in ["Package.swift", "Sources/T/a.swift", "Sources/T/include/b.h"] {
            try Data("x".utf8).write(to: folder.appendingPathComponent(path))
        }
        for path in ["Package.swift", "Sources/T/a.swift", "Sources/T/include/b.h", "Sources/T/include", "Sources/T"] {
            try touch(folder.appendingPathComponent(path), now.addingTimeInterval(-3600))
        }
        let inputs = [folder.appendingPathComponent("Package.swift"), folder.appendingPathComponent("Sources/T")]
        return (folder.appendingPathComponent("libX.so"), inputs)
    }

    func touch(_ url: URL, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url.path)
    }

    @Test func missingLibrary() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let tree = try makeTree()
        let problem = try #require(staleLibraryProblem(library: tree.library, inputs: tree.inputs))
        #expect(problem.contains("libX.so does not exist"))
        #expect(problem.contains("scripts/build"))
    }

    @Test func freshLibrary() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let tree = try makeTree()
        try Data().write(to: tree.library)
        #expect(staleLibraryProblem(library: tree.library, inputs: tree.inputs) == nil)
    }

    @Test func staleLibraryNamesTheNewestSource() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let tree = try makeTree()
        try Data().write(to: tree.library)
        try touch(tree.library, now.addingTimeInterval(-60))
        try touch(folder.appendingPathComponent("Sources/T/a.swift"), now.addingTimeInterval(-30))
        try touch(folder.appendingPathComponent("Sources/T/include/b.h"), now)
        let problem = try #require(staleLibraryProblem(library: tree.library, inputs: tree.inputs))
        #expect(problem.contains("libX.so is older than \(folder.path)/Sources/T/include/b.h and 1 more"))
        #expect(problem.contains("run scripts/build"))
        // A newer hidden file (an editor's swap file) is not a source.
        try touch(folder.appendingPathComponent("Sources/T/a.swift"), now.addingTimeInterval(-3600))
        try touch(folder.appendingPathComponent("Sources/T/include/b.h"), now.addingTimeInterval(-3600))
        try Data().write(to: folder.appendingPathComponent("Sources/T/include/.b.h.swp"))
        try touch(folder.appendingPathComponent("Sources/T/include"), now.addingTimeInterval(-3600))
        #expect(staleLibraryProblem(library: tree.library, inputs: tree.inputs) == nil)
    }

    @Test func removedSourceMakesItStale() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let tree = try makeTree()
        try Data().write(to: tree.library)
        try touch(tree.library, now.addingTimeInterval(-60))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("Sources/T/a.swift"))
        let problem = try #require(staleLibraryProblem(library: tree.library, inputs: tree.inputs))
        #expect(problem.contains("is older than \(folder.path)/Sources/T,"))
    }
}
