import AIQueryCore

#if canImport(Glibc)
import Glibc
#endif

/// The token callers of `aiquery serve` present: `AIQUERY_SERVE_TOKEN`, or the one stored in
/// `~/.config/aiquery/serve-token`, made at the first start (owner-only permissions) and printed then, once.
enum ServeToken {
    static var path: String { System.expandingTilde("~/.config/aiquery/serve-token") }

    static func resolve() throws -> String {
        if let token = System.environment("AIQUERY_SERVE_TOKEN"), !token.isEmpty { return token }
        if let bytes = System.readFile(path) {
            let token = String(decoding: bytes, as: UTF8.self).trimmed()
            if !token.isEmpty { return token }
        }
        let token = "dapi" + System.hex(System.randomBytes(20))
        System.makeParentDirectory(of: path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw AIQueryError(.invalidConfiguration, "aiquery serve: cannot create \(path) (errno \(errno)); set AIQUERY_SERVE_TOKEN") }
        let line = Array((token + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == line.count else { throw AIQueryError(.internalError, "aiquery serve: writing \(path) failed") }
        var message = Array("aiquery serve: generated a token and stored it in \(path) (readable by you only); callers send it as DATABRICKS_TOKEN=\(token)\n".utf8)
        _ = message.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        return token
    }
}
