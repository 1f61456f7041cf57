import AIQueryTestSupport
import Foundation
import Testing

/// One entry of an endpoints YAML file: an OpenAI-compatible endpoint at `base` + "/v1"; `extra` holds more
/// indented keys (each line ending in a newline).
func openAIEndpointEntry(_ name: String, task: String = "chat", model: String = "m", base: String, extra: String = "") -> String {
    "  - name: \(name)\n    endpoint_type: llm/v1/\(task)\n    model: {provider: openai, name: \(model), config: {openai_api_base: \"\(base)/v1\"}}\n\(extra)"
}

/// `aiquery serve` on port 0, run as a user runs it, in an isolated HOME; stopped on deinit.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let baseURL: String
    let stderrFile: URL

    /// The built command, next to the test bundle (`swift test` builds it: the test target depends on it).
    static var executable: String {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("aiquery")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests.path }
        return RepositoryPaths.repository.appendingPathComponent(".build/debug/aiquery").path
    }

    init(home: URL, environment: [String: String], arguments: [String] = ["--port", "0"]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Foundation starts children with signals blocked; unblock them so SIGTERM reaches the server.
        process.arguments = [
            "python3", "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])",
            Self.executable, "serve",
        ] + arguments
        var env = ["HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "LOG_LEVEL": "warning"]
        env.merge(environment) { $1 }
        process.environment = env
        stderrFile = home.appendingPathComponent("serve-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        baseURL = firstLine(of: output.fileHandleForReading)
        guard baseURL.hasPrefix("http://") else {
            kill(process.processIdentifier, SIGKILL)
            throw HarnessError("aiquery serve did not start: '\(baseURL)'; stderr: \((try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "")")
        }
    }

    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    /// SIGTERM, then the exit status (SIGKILL after 20 s).
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// One HTTP exchange made with curl: status, headers (lowercased names) and body.
struct CurlResult {
    var status: Int
    var headers: [String: String]
    var body: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
}

/// curl with the given arguments; `-sS`, headers and status captured.
func curl(_ arguments: [String], in folder: URL) throws -> CurlResult {
    let id = UUID().uuidString
    let headerFile = folder.appendingPathComponent("headers-\(id)").path
    let bodyFile = folder.appendingPathComponent("body-\(id)").path
    let run = try runToEnd(["curl", "-sS", "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}"] + arguments)
    var headers: [String: String] = [:]
    for line in ((try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? "").split(separator: "\r\n") {
        if let colon = line.firstIndex(of: ":") {
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
    return CurlResult(status: Int(run.output) ?? 0, headers: headers, body: (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? "")
}
