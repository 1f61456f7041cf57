import Synchronization

/// The endpoints YAML file (MLflow AI Gateway format), re-read whenever it changes on disk.
public final class ConfigFile: Sendable {
    public static let shared = ConfigFile()

    private struct Loaded { var path: String; var stamp: [Int]; var endpoints: [Endpoint] }
    private let loaded = Mutex<Loaded?>(nil)

    /// `AIQUERY_CONFIG`, or `~/.config/aiquery/endpoints.yaml`.
    public static var path: String {
        System.expandingTilde(System.environment("AIQUERY_CONFIG") ?? "~/.config/aiquery/endpoints.yaml")
    }

    /// Endpoints in the file; none when the default file is absent. A named but missing file is an error.
    public func endpoints() throws -> [Endpoint] {
        let path = Self.path
        guard let stamp = System.fileStamp(path) else {
            if System.environment("AIQUERY_CONFIG") != nil {
                throw AIQueryError("AIQUERY_CONFIG names \(path), which does not exist")
            }
            return []
        }
        if let cached = loaded.withLock({ $0 }), cached.path == path, cached.stamp == stamp { return cached.endpoints }
        let endpoints = try Self.load(path: path)
        loaded.withLock { $0 = Loaded(path: path, stamp: stamp, endpoints: endpoints) }
        return endpoints
    }

    static func load(path: String) throws -> [Endpoint] {
        guard let bytes = System.readFile(path) else { throw AIQueryError("cannot read \(path)") }
        let document: JSONValue
        do {
            document = try YAML.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw AIQueryError("\(path): \(error)")
        }
        if document.isNull { return [] }
        guard let list = (document["endpoints"] ?? document["routes"])?.arrayValue else {
            throw AIQueryError("\(path): expected a top-level 'endpoints:' list (MLflow AI Gateway format)")
        }
        var endpoints: [Endpoint] = []
        for (index, entry) in list.enumerated() {
            guard let name = entry["name"]?.stringValue, !name.isEmpty else {
                throw AIQueryError("\(path): endpoints[\(index)] has no name")
            }
            do {
                endpoints.append(try Endpoint.parse(name: name, spec: entry, source: "config:\(path)", allowLiteralKeys: true))
            } catch let error as AIQueryError {
                throw AIQueryError("\(path): \(error.message)")
            }
        }
        return endpoints
    }
}
