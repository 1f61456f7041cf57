import AIQueryTestSupport
import Foundation
import Testing

/// The Databricks page's snippets, unmodified but for the endpoint names, through the real clients from PyPI
/// (scripts/clients-venv): the OpenAI client (direct and from the SDK), curl with Basic and Bearer, MLflow
/// deployments, the Databricks SDK and LangChain, for chat, embeddings and completions; and OAuth M2M.
@Suite("the Databricks page's clients against aiquery serve")
struct ServeClientsTests {
    let base: ServeTests

    init() throws { base = try ServeTests() }

    /// The clients' python, made once by scripts/clients-venv (scripts/test runs it first).
    static func python() throws -> String {
        if let given = ProcessInfo.processInfo.environment["AIQUERY_CLIENTS_PYTHON"], FileManager.default.isExecutableFile(atPath: given) {
            return given
        }
        let made = try runToEnd([RepositoryPaths.repository.appendingPathComponent("scripts/clients-venv").path])
        let path = made.output.split(separator: "\n").last.map(String.init) ?? ""
        guard made.status == 0, FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("scripts/clients-venv failed: \(made.output)")
        }
        return path
    }

    /// Runs the snippets with a clean HOME (no ~/.databrickscfg) and the given credentials; one result per case.
    func run(_ server: ServeProcess, credentials: [String], cases: [String] = [], failing: Bool = false) throws -> [String: (ok: Bool, answer: Any)] {
        let home = base.shell.home.appendingPathComponent("client-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let environment = [
            "HOME=\(home.path)", "PATH=/usr/bin:/bin", "DATABRICKS_HOST=\(server.baseURL)", "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true",
            "PYTHONWARNINGS=ignore::DeprecationWarning",
        ]
        let script = RepositoryPaths.repository.appendingPathComponent("Tests/Support/serve_clients.py").path
        let run = try runToEnd(["env", "-i"] + environment + credentials + [try Self.python(), script] + cases)
        var results: [String: (ok: Bool, answer: Any)] = [:]
        for line in run.output.split(separator: "\n") {
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let name = json["case"] as? String else { continue }
            results[name] = ((json["ok"] as? Bool) ?? false, json["answer"] ?? "")
            if !failing, json["ok"] as? Bool != true { Issue.record("\(name): \(json["answer"] ?? "") \(json["trace"] ?? "")") }
        }
        return results
    }

    @Test func everySnippetOfThePageRuns() throws {
        let server = try base.serve()
        let results = try run(server, credentials: ["DATABRICKS_TOKEN=\(ServeTests.token)"])
        let chat = ["sdk-openai-client", "openai", "openai-stream", "curl-basic", "curl-bearer", "mlflow", "sdk-query", "langchain"]
        for name in chat {
            #expect((results["chat/" + name]?.answer as? String)?.hasPrefix("echo: ") == true, "chat/\(name): \(results["chat/" + name]?.answer ?? "missing")")
        }
        #expect(results["chat/mlflow"]?.answer as? String == "echo: What is a mixture of experts model??")
        for name in ["sdk-openai-client", "openai", "curl-basic", "mlflow", "sdk-query", "langchain"] {
            #expect((results["embeddings/" + name]?.answer as? [Double])?.count == 8, "embeddings/\(name): \(results["embeddings/" + name]?.answer ?? "missing")")
        }
        #expect(results["completions/sdk-openai-client"]?.answer as? String == "echo: what is databricks")
        #expect(results["completions/curl-basic"]?.answer as? String == "echo: What is a quoll?")
        #expect(results["completions/mlflow"]?.answer as? [String] == ["echo: What is the capital of France?", "echo: What is the capital of France?"])
        #expect((results["completions/sdk-query"]?.answer as? String)?.hasPrefix("echo: Write 3 reasons") == true)
        #expect(results.count == 19, "\(results.keys.sorted())")
    }

    /// `stream=True` with the OpenAI client, LangChain's `.stream()` and MLflow's `predict_stream` get the answer a
    /// word at a time (one upstream request: the second and third are replays from the cache, streamed too).
    @Test func clientsGetStreamsPieceByPiece() throws {
        let server = try base.serve()
        let results = try run(server, credentials: ["DATABRICKS_TOKEN=\(ServeTests.token)"], cases: ["stream/openai", "stream/langchain", "stream/mlflow"])
        for name in ["openai", "langchain", "mlflow"] {
            let pieces = results["stream/" + name]?.answer as? [String] ?? []
            #expect(pieces.count >= 8, "stream/\(name): \(pieces)")
            #expect(pieces.joined() == "echo: Tell me a story in seven short words please", "stream/\(name): \(pieces)")
        }
        #expect(try base.upstreamCalls() == 1)
    }

    /// A client id and secret, no token: the SDK discovers the OIDC endpoints, gets a token from the server and
    /// queries with it.
    @Test func oauthMachineToMachine() throws {
        let server = try base.serve(["AIQUERY_SERVE_CLIENT_ID": "notebook-sp", "AIQUERY_SERVE_CLIENT_SECRET": "sp-secret-8080"])
        let results = try run(
            server, credentials: ["DATABRICKS_CLIENT_ID=notebook-sp", "DATABRICKS_CLIENT_SECRET=sp-secret-8080"], cases: ["oauth/sdk-query"])
        #expect(results["oauth/sdk-query"]?.answer as? String == "echo: Hello over OAuth")
        let wrong = try run(
            server, credentials: ["DATABRICKS_CLIENT_ID=notebook-sp", "DATABRICKS_CLIENT_SECRET=not-it"], cases: ["oauth/sdk-query"], failing: true)
        #expect(wrong["oauth/sdk-query"]?.ok == false)
        #expect((wrong["oauth/sdk-query"]?.answer as? String)?.contains("invalid_client") == true, "\(wrong["oauth/sdk-query"]?.answer ?? "")")
    }
}
