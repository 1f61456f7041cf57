import Foundation
import Testing

/// Paths of the repository, the built extension and the test server.
enum Paths {
    static let repository: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
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
    /// What the .so is built from: Package.swift and the folders in Sources/ but minilm-bench (an executable).
    static var libraryInputs: [URL] {
        let sources = repository.appendingPathComponent("Sources")
        let targets = (try? FileManager.default.contentsOfDirectory(at: sources, includingPropertiesForKeys: nil)) ?? []
        return [repository.appendingPathComponent("Package.swift")]
            + targets.filter { $0.lastPathComponent != "minilm-bench" && !$0.lastPathComponent.hasPrefix(".") }
    }
    static let mockServer = repository.appendingPathComponent("Tests/Support/mock_llm_server.py").path
}

/// The loopback test server (Tests/Support/mock_llm_server.py) on an ephemeral port, stopped on deinit.
final class MockServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.mockServer, "--port", "0"]
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The first line is "PORT <n>"; read byte by byte so nothing after it is consumed.
        var line = Data()
        let handle = output.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw HarnessError("mock server did not start: '\(text)'")
        }
        self.port = port
    }

    deinit {
        // SIGKILL: children started by Foundation inherit a signal mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { usleep(2_000) }
    }

    /// Every request the server received, as JSON objects.
    func requests() throws -> [[String: Any]] {
        let data = try httpGet(port: port, path: "/_requests")
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}

/// Runs a command (the first argument, looked up on PATH) to its end: its exit status and standard output.
/// Standard error passes through to the test's.
func runToEnd(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
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

    init(environment: [String: String] = [:]) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("aiquery-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        self.environment = environment
    }

    /// Writes a file into the isolated HOME and returns its path.
    func write(_ name: String, _ contents: String) throws -> String {
        let url = home.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// - Parameter interruptWhen: polled while the shell runs; once it returns true the shell gets SIGINT, as from
    ///   Ctrl-C (its handler calls sqlite3_interrupt).
    func run(
        _ sql: String, database: String = ":memory:", load: Bool = true, timeout: TimeInterval = 120,
        interruptWhen: (() -> Bool)? = nil
    ) throws -> ShellResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-batch", database]
        if interruptWhen != nil {
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
        let outFile = home.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errFile = home.appendingPathComponent("stderr-\(UUID().uuidString)")
        let inFile = home.appendingPathComponent("stdin-\(UUID().uuidString)")
        let script = (load ? ".load \(try Paths.library)\n" : "") + sql + "\n"
        try Data(script.utf8).write(to: inFile)
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        process.standardInput = try FileHandle(forReadingFrom: inFile)
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
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
            stdout: String(decoding: try Data(contentsOf: outFile), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errFile), as: UTF8.self),
            status: process.terminationStatus)
    }

    /// Runs one statement and returns its output lines, failing the test on any stderr output.
    func query(_ sql: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let result = try run(sql)
        #expect(result.stderr == "", "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        return result.lines
    }

    /// Runs SQL expected to fail and returns the error text without the shell's prefix.
    func error(_ sql: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(sql)
        let text = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!text.isEmpty, "expected an error, got stdout \(result.stdout)", sourceLocation: sourceLocation)
        // The 3.40 shell prints "Runtime error near line N: ai_query: …"; the message starts at the function name.
        if let range = text.range(of: #"ai_[a-z_]+: "#, options: .regularExpression) {
            return String(text[range.lowerBound...])
        }
        return text
    }
}

/// SQL string literal.
func sqlQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

/// A blocking HTTP/1.0 GET on loopback with plain sockets (URLSession would park the test on Dispatch threads).
func httpGet(port: Int, path: String) throws -> Data {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw HarnessError("connect to port \(port) failed") }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response.append(contentsOf: buffer[0..<n])
    }
    guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { throw HarnessError("bad HTTP response") }
    return response[split.upperBound...]
}
