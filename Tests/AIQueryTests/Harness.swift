import AIQueryTestSupport
import Foundation
import Testing

/// Paths of the repository, the built extension and the test server.
enum Paths {
    static let repository = RepositoryPaths.repository
    /// The shipped artifact (release, static stdlib), without ".so" as `.load` takes it; `AIQUERY_LIB` overrides it.
    /// Throws, failing the test, when the default build is missing or older than its sources: `swift test` does not
    /// build it, scripts/build and scripts/test do.
    static var library: String {
        get throws {
            if let path = ProcessInfo.processInfo.environment["AIQUERY_LIB"] { return path }
            if let problem = builtLibraryProblem { throw HarnessError(problem) }
            return builtLibrary
        }
    }
    static let builtLibrary = repository.appendingPathComponent(".build/release/libAIQuery").path
    /// Checked once per test process, when a test first needs the extension.
    static let builtLibraryProblem: String? = staleLibraryProblem(
        library: URL(fileURLWithPath: builtLibrary + ".so"), inputs: libraryInputs)
    /// What the .so is built from: Package.swift and the targets it links.
    static var libraryInputs: [URL] {
        [repository.appendingPathComponent("Package.swift")]
            + ["AIQuery", "AIQueryCore", "CAIQuery", "CCurl", "CSHA256", "CBLAS"].map { repository.appendingPathComponent("Sources/\($0)") }
    }
}

/// Why `library` may be a stale build of `inputs`, or nil when it exists and is at least as new as each of them.
/// Folders count too and are searched recursively (a folder changes when a file in it is added, removed or
/// renamed); hidden files such as editors' swap files are skipped.
func staleLibraryProblem(library: URL, inputs: [URL]) -> String? {
    let advice = "run scripts/build (or scripts/test, which builds it first) before swift test,"
        + " or set AIQUERY_LIB to test another build"
    func modified(_ url: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
    }
    guard let built = modified(library) else { return "\(library.path) does not exist: \(advice)" }
    var newer: [(url: URL, date: Date)] = []
    for input in inputs {
        var urls = [input]
        let walk = FileManager.default.enumerator(at: input, includingPropertiesForKeys: nil, options: .skipsHiddenFiles)
        urls += walk?.compactMap { $0 as? URL } ?? []
        for url in urls {
            if let date = modified(url), date > built { newer.append((url, date)) }
        }
    }
    guard let newest = newer.max(by: { $0.date < $1.date }) else { return nil }
    let others = newer.count - 1
    return "\(library.path) is older than \(newest.url.path)" + (others > 0 ? " and \(others) more" : "")
        + ", so it may not be a build of the current sources: \(advice)"
}

/// What one run of the sqlite3 shell printed.
struct ShellResult {
    var stdout: String
    var stderr: String
    var status: Int32
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
}

/// Runs the real `sqlite3` shell with the built extension loaded, in an isolated HOME so no user config leaks in.
struct Shell {
    var environment: [String: String] = [:]
    var home: URL

    /// - Parameter cacheInHome: the response cache in a file of this HOME (`cache.db`), for tests that count calls
    ///   across runs; otherwise the default path under HOME, which is fresh too.
    init(environment: [String: String] = [:], cacheInHome: Bool = false) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        self.environment = environment
        if cacheInHome { self.environment["AIQUERY_CACHE"] = home.appendingPathComponent("cache.db").path }
    }

    /// Writes a file into the isolated HOME and returns its path.
    func write(_ name: String, _ contents: String) throws -> String {
        let url = home.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Runs the shell to its end.
    /// - Parameters:
    ///   - interruptWhen: polled while the shell runs; once it returns true the shell gets SIGINT, as from Ctrl-C
    ///     (its handler calls sqlite3_interrupt).
    ///   - under: a command the shell runs under (`strace …`).
    func run(
        _ sql: String, database: String = ":memory:", load: Bool = true, timeout: TimeInterval = 120,
        interruptWhen: (() -> Bool)? = nil, under wrapper: [String] = []
    ) throws -> ShellResult {
        try start(sql, database: database, load: load, signals: interruptWhen != nil, under: wrapper)
            .wait(timeout: timeout, interruptWhen: interruptWhen)
    }

    /// Starts the shell and returns at once, so that several can run together.
    func start(
        _ sql: String, database: String = ":memory:", load: Bool = true, signals: Bool = false, under wrapper: [String] = []
    ) throws -> RunningShell {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = wrapper + ["sqlite3", "-batch", database]
        if signals {
            // Foundation starts children with signals blocked; unblock them so SIGINT reaches the shell's handler.
            process.arguments = [
                "python3", "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])",
            ] + process.arguments!
        }
        var env = ["HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        process.environment = env
        process.currentDirectoryURL = home
        // Output goes to files, not pipes: no reader threads, so tests never wait on Dispatch from the test pool.
        let running = RunningShell(
            process: process, stdout: home.appendingPathComponent("stdout-\(UUID().uuidString)"),
            stderr: home.appendingPathComponent("stderr-\(UUID().uuidString)"))
        let inFile = home.appendingPathComponent("stdin-\(UUID().uuidString)")
        let script = (load ? ".load \(try Paths.library)\n" : "") + sql + "\n"
        try Data(script.utf8).write(to: inFile)
        _ = FileManager.default.createFile(atPath: running.stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: running.stderr.path, contents: nil)
        process.standardInput = try FileHandle(forReadingFrom: inFile)
        process.standardOutput = try FileHandle(forWritingTo: running.stdout)
        process.standardError = try FileHandle(forWritingTo: running.stderr)
        try process.run()
        return running
    }

    /// Runs one statement and returns its output lines, failing the test on any stderr output.
    func query(_ sql: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let result = try run(sql)
        #expect(result.stderr == "", "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        return result.lines
    }

    /// Runs SQL expected to fail and returns the error text without the shell's prefix.
    func error(_ sql: String, database: String = ":memory:", sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(sql, database: database)
        let text = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!text.isEmpty, "expected an error, got stdout \(result.stdout)", sourceLocation: sourceLocation)
        // The 3.40 shell prints "Runtime error near line N: ai_query: …"; the message starts at the function name.
        if let range = text.range(of: #"(ai_[a-z_]+|vector_search): "#, options: .regularExpression) {
            return String(text[range.lowerBound...])
        }
        return text
    }
}

/// A shell started by ``Shell/start(_:database:load:signals:under:)``.
struct RunningShell {
    let process: Process
    let stdout: URL
    let stderr: URL

    func wait(timeout: TimeInterval = 120, interruptWhen: (() -> Bool)? = nil) throws -> ShellResult {
        let deadline = Date().addingTimeInterval(timeout)
        var interrupted = false
        while process.isRunning {
            if !interrupted, let interruptWhen, interruptWhen() {
                kill(process.processIdentifier, SIGINT)
                interrupted = true
            }
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                throw HarnessError("sqlite3 did not finish within \(timeout) s")
            }
            usleep(5_000)
        }
        return ShellResult(
            stdout: String(decoding: try Data(contentsOf: stdout), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: stderr), as: UTF8.self),
            status: process.terminationStatus)
    }
}

/// SQL string literal.
func sqlQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

