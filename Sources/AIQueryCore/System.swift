#if canImport(Glibc)
import Glibc
#endif

/// Small Foundation-free helpers for the environment and files.
public enum System {
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: strlen(value)).bindMemory(to: UInt8.self), as: UTF8.self)
    }

    public static var homeDirectory: String {
        if let home = environment("HOME"), !home.isEmpty { return home }
        return "/"
    }

    /// Expands a leading `~/`.
    public static func expandingTilde(_ path: String) -> String {
        path.hasPrefix("~/") ? homeDirectory + path.dropFirst(1) : path
    }

    public static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, file) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < 65536 { break }
        }
        return bytes
    }

    /// Modification time in nanoseconds plus size, or nil when the file doesn't exist: enough to notice edits.
    public static func fileStamp(_ path: String) -> [Int]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_size)]
    }

    /// `count` bytes from the kernel's random source (tokens, ids).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard let file = fopen("/dev/urandom", "rb") else { fatalError("aiquery: /dev/urandom cannot be opened") }
        defer { fclose(file) }
        let read = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, count, file) }
        precondition(read == count, "aiquery: /dev/urandom gave \(read) of \(count) bytes")
        return bytes
    }

    /// Lowercase hex.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `mkdir -p` of a file's folder (errors surface when the file is opened).
    public static func makeParentDirectory(of path: String) {
        var index = path.index(after: path.startIndex)
        while let slash = path[index...].firstIndex(of: "/") {
            mkdir(String(path[..<slash]), 0o755)
            index = path.index(after: slash)
        }
    }

    /// Seconds on a monotonic clock.
    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Seconds since 1970 (UTC), with a fraction.
    public static func unixSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    public static var processID: Int { Int(getpid()) }
}

extension String {
    /// The text cut to `limit` characters with an ellipsis, for error messages that quote upstream bodies.
    public func truncatedForMessage(_ limit: Int = 300) -> String {
        let flat = self.replacingNewlines()
        return flat.count <= limit ? flat : String(flat.prefix(limit)) + "…"
    }

    func replacingNewlines() -> String {
        String(self.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }

    /// Splits on the first occurrence of `separator`.
    public func splitOnce(_ separator: Character) -> (String, String)? {
        guard let index = firstIndex(of: separator) else { return nil }
        return (String(self[..<index]), String(self[self.index(after: index)...]))
    }

    public func trimmed() -> String { trimmingCharacters(in: " \t\r\n") }

}
