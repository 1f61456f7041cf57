import AIQueryTestSupport
import Foundation
import Testing

/// `aiquery serve`'s pages in a real headless Chromium (Debian's, driven by Selenium from scripts/browser-venv):
/// Tests/Support/browser_pages.py runs each group's scenarios against a server started here, in front of the
/// loopback mock upstream, and prints one JSON line per case. Every case named here must come back ok; a failed
/// case is recorded with what the page showed (and a fail-<case>.png beside the screenshots). The pages'
/// screenshots go to .build/screenshots/ (endpoints, playground, usage, token-dialog).
@Suite("aiquery serve's pages in a browser", .serialized)
struct BrowserTests {
    static let token = "dapi-test-browser-token-5151"
    let upstream: MockServer
    let refusing: RefusingPort
    let shell: Shell

    /// chat-a (chat, priced), chat-b (chat), complete-a, embed-a on the mock; `down` on a port that refuses
    /// connections; `once`, limited to one call a minute.
    init() throws {
        let upstream = try MockServer()
        let refusing = try RefusingPort()
        var shell = try Shell(cacheInHome: true)
        let base = upstream.baseURL
        shell.environment["AIQUERY_CONFIG"] = try shell.write(
            "endpoints.yaml",
            "endpoints:\n"
                + openAIEndpointEntry("chat-a", model: "model-a", base: base, extra: "    price: {input: 1.5, output: 6}\n")
                + openAIEndpointEntry("chat-b", model: "model-b", base: base)
                + openAIEndpointEntry("complete-a", task: "completions", model: "model-c", base: base)
                + openAIEndpointEntry("embed-a", task: "embeddings", model: "model-e", base: base)
                + openAIEndpointEntry("down", model: "model-d", base: "http://127.0.0.1:\(refusing.port)", extra: "    max_retries: 0\n")
                + openAIEndpointEntry("once", model: "model-o", base: base, extra: "    limit: {calls: 1, renewal_period: minute}\n"))
        shell.environment["AIQUERY_SERVE_TOKEN"] = Self.token
        shell.environment["AIQUERY_CALL_LOG"] = shell.home.appendingPathComponent("calls.db").path
        // Pages being edited (AIQUERY_UI_DIR=Sources/AIQueryServer/Pages) are tested without a rebuild; unset, the
        // server's embedded copies are.
        shell.environment["AIQUERY_UI_DIR"] = ProcessInfo.processInfo.environment["AIQUERY_UI_DIR"]
        self.upstream = upstream
        self.refusing = refusing
        self.shell = shell
    }

    /// The venv's python, made once by scripts/browser-venv (scripts/test runs it first and exports it).
    static func python() throws -> String {
        if let given = ProcessInfo.processInfo.environment["AIQUERY_BROWSER_PYTHON"], FileManager.default.isExecutableFile(atPath: given) {
            return given
        }
        let made = try runToEnd([RepositoryPaths.repository.appendingPathComponent("scripts/browser-venv").path])
        let path = made.output.split(separator: "\n").last.map(String.init) ?? ""
        guard made.status == 0, FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("scripts/browser-venv failed: \(made.output)")
        }
        return path
    }

    static let screenshots = RepositoryPaths.repository.appendingPathComponent(".build/screenshots")

    func serve(_ arguments: [String] = []) throws -> ServeProcess {
        try ServeProcess(home: shell.home, environment: shell.environment, arguments: ["--port", "0"] + arguments)
    }

    /// Runs the scenarios of `group` against `server`; every one of `cases` must be reported, and ok.
    func run(_ group: String, cases: [String], server: ServeProcess, open: ServeProcess? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let home = shell.home.appendingPathComponent("browser-home-\(group)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        for stale in (try? FileManager.default.contentsOfDirectory(atPath: Self.screenshots.path)) ?? [] where stale.hasPrefix("fail-\(group)-") {
            try? FileManager.default.removeItem(at: Self.screenshots.appendingPathComponent(stale))
        }
        var arguments = [
            "env", "-i", "HOME=\(home.path)", "PATH=/usr/bin:/bin", "SE_OFFLINE=true", "SE_AVOID_STATS=true", try Self.python(),
            RepositoryPaths.repository.appendingPathComponent("Tests/Support/browser_pages.py").path,
            "--server", server.baseURL, "--token", Self.token, "--mock", upstream.baseURL,
            "--call-log", shell.environment["AIQUERY_CALL_LOG"] ?? "", "--screenshots", Self.screenshots.path,
        ]
        if let open { arguments += ["--open-server", open.baseURL] }
        let run = try runToEnd(arguments + [group])
        var reported: [String: Bool] = [:]
        for line in run.output.split(separator: "\n") {
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let name = json["case"] as? String else {
                continue
            }
            let ok = json["ok"] as? Bool == true
            reported[name] = ok
            if !ok { Issue.record("\(name): \(json["detail"] as? String ?? "(no detail)")", sourceLocation: sourceLocation) }
        }
        let missing = cases.filter { reported[$0] == nil }
        #expect(missing.isEmpty, "browser_pages.py \(group) did not report \(missing) (exit \(run.status)); it printed: \(run.output)", sourceLocation: sourceLocation)
        #expect(run.status == 0 || reported.values.contains(false), "browser_pages.py \(group) exited \(run.status)", sourceLocation: sourceLocation)
    }

    /// A screenshot the run wrote: a PNG, written after `since`.
    func expectScreenshot(_ name: String, since: Date, sourceLocation: SourceLocation = #_sourceLocation) {
        let file = Self.screenshots.appendingPathComponent(name + ".png")
        let data = (try? Data(contentsOf: file)) ?? Data()
        let written = (try? FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date) ?? .distantPast
        #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && data.count > 5000, "\(file.path): \(data.count) bytes", sourceLocation: sourceLocation)
        #expect(written >= since.addingTimeInterval(-2), "\(file.path) is from an earlier run", sourceLocation: sourceLocation)
    }

    /// Each page gets ready (body[data-ready="1"]) with no console error, its nav links, no page error, and
    /// nothing fetched from another origin.
    @Test func everyPageLoadsCleanly() throws {
        let server = try serve()
        try run("pages", cases: ["pages/endpoints", "pages/playground", "pages/usage"], server: server)
    }

    /// The Query panel for a chat, a completions and an embeddings endpoint: Show example, Send request, 200 and the
    /// mock's answer (or the dimension); the same body again is a cache hit the upstream never sees; the curl tab's
    /// snippet, run in bash, answers the same; its copy button puts it on the clipboard.
    @Test func endpointsPageQueriesEachTask() throws {
        let started = Date()
        let server = try serve()
        try run(
            "endpoints",
            cases: [
                "endpoints/chat", "endpoints/screenshot", "endpoints/completions", "endpoints/embeddings", "endpoints/cache-hit",
                "endpoints/curl-code-runs", "endpoints/copy-button",
            ], server: server)
        expectScreenshot("endpoints", since: started)
    }

    /// Two panes side by side, one prompt: both answers are seen growing while the mock holds the streams, then
    /// both finish with their stats and the summary; Get code's curl for the conversation answers as the pane shows.
    @Test func playgroundStreamsTwoPanes() throws {
        let started = Date()
        let server = try serve()
        try run(
            "playground", cases: ["playground/two-panes-stream", "playground/screenshot", "playground/get-code-curl", "playground/add-remove-pane"],
            server: server)
        expectScreenshot("playground", since: started)
    }

    /// Errors in words: an upstream that refuses connections, an unknown endpoint (Endpoints page and Playground),
    /// a caller over the endpoint's limit ("retry after N s"), invalid JSON in the editor (no request made).
    @Test func errorsAreShownInWords() throws {
        let server = try serve()
        try run(
            "errors", cases: ["errors/upstream-down", "errors/unknown-endpoint", "errors/unknown-in-playground", "errors/rate-limited", "errors/invalid-json"],
            server: server)
    }

    /// The token dialog without a token (a wrong one is refused), asked once per tab; none under
    /// --no-auth-on-loopback.
    @Test func tokenIsAskedOncePerTab() throws {
        let server = try serve()
        let open = try serve(["--no-auth-on-loopback"])
        try run("auth", cases: ["auth/token-dialog", "auth/asked-once-per-tab", "auth/no-auth-on-loopback"], server: server, open: open)
    }

    /// After calls through the page, straight to the server, a cache hit and a failure, the usage table's numbers
    /// are the call log's (read through the API and from the SQLite file), the request log lists the calls and the
    /// chart is drawn; the status filter shows the failures only.
    @Test func usagePageAddsUpTheCallLog() throws {
        let started = Date()
        let server = try serve()
        try run("usage", cases: ["usage/matches-call-log", "usage/screenshot", "usage/filter-status"], server: server)
        expectScreenshot("usage", since: started)
    }
}

/// A loopback port bound but never listening: a connection to it is refused at once. Closed on deinit.
final class RefusingPort: @unchecked Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw HarnessError("bind to a loopback port failed")
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
