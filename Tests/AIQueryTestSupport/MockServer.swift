import Foundation

/// Paths in the repository.
public enum RepositoryPaths {
    public static let repository: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let mockServer = repository.appendingPathComponent("Tests/Support/mock_llm_server.py").path
}

/// The loopback test server (Tests/Support/mock_llm_server.py) on an ephemeral port, stopped on deinit.
public final class MockServer: @unchecked Sendable {
    let process = Process()
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", RepositoryPaths.mockServer, "--port", "0"]
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The first line is "PORT <n>".
        let text = firstLine(of: output.fileHandleForReading)
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

    /// Lets a stream held by `[[hold_after:K:NAME]]` go on.
    public func release(_ name: String) throws { _ = try httpGet(port: port, path: "/_release/\(name)") }

    /// Model requests in flight right now.
    public func inFlight() throws -> Int {
        let data = try httpGet(port: port, path: "/_stats")
        return ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["in_flight"] as? Int) ?? -1
    }

    /// Every request the server received, as JSON objects.
    public func requests() throws -> [[String: Any]] {
        let data = try httpGet(port: port, path: "/_requests")
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}

/// The first line a started process writes, without its newline: read byte by byte, so nothing after it is
/// consumed; empty if the process ends first.
public func firstLine(of handle: FileHandle) -> String {
    var line = Data()
    while true {
        let byte = handle.readData(ofLength: 1)
        if byte.isEmpty || byte == Data([0x0A]) { break }
        line.append(byte)
    }
    return String(decoding: line, as: UTF8.self)
}

/// Runs a command (the first argument, looked up on PATH) to its end: its exit status and standard output.
/// Standard error passes through to the test's.
public func runToEnd(_ arguments: [String]) throws -> (status: Int32, output: String) {
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

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A blocking HTTP/1.0 GET on loopback with plain sockets (URLSession would park the test on Dispatch threads).
public func httpGet(port: Int, path: String) throws -> Data {
    let response = try rawExchange(port: port, send: "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { throw HarnessError("bad HTTP response") }
    return response[split.upperBound...]
}

/// Sends `text` on a fresh loopback connection and returns what comes back until the server closes it (or
/// `waitUpTo` seconds pass without a byte).
public func rawExchange(port: Int, send text: String, waitUpTo seconds: Int = 60) throws -> Data {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket failed") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw HarnessError("connect to port \(port) failed") }
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response.append(contentsOf: buffer[0..<n])
    }
    return response
}
