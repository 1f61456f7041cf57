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
    public func endpoints() throws(AIQueryError) -> [Endpoint] {
        let path = Self.path
        guard let stamp = System.fileStamp(path) else {
            if System.environment("AIQUERY_CONFIG") != nil {
                throw AIQueryError(.invalidConfiguration, "AIQUERY_CONFIG names \(path), which does not exist")
            }
            return []
        }
        if let cached = loaded.withLock({ $0 }), cached.path == path, cached.stamp == stamp { return cached.endpoints }
        let endpoints = try Self.load(path: path)
        loaded.withLock { $0 = Loaded(path: path, stamp: stamp, endpoints: endpoints) }
        return endpoints
    }

    static func load(path: String) throws(AIQueryError) -> [Endpoint] {
        guard let bytes = System.readFile(path) else { throw AIQueryError(.invalidConfiguration, "cannot read \(path)") }
        let document: JSONValue
        do {
            document = try YAML.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw AIQueryError(.invalidConfiguration, "\(path): \(error)")
        }
        if document.isNull { return [] }
        if case .object(let members) = document, let unknown = members.first(where: { !["endpoints", "routes"].contains($0.0) }) {
            throw AIQueryError(
                .invalidConfiguration, "\(path): unknown top-level key '\(unknown.0)'; the file holds an 'endpoints:' list (MLflow AI Gateway format)")
        }
        guard let list = (document["endpoints"] ?? document["routes"])?.arrayValue else {
            throw AIQueryError(.invalidConfiguration, "\(path): expected a top-level 'endpoints:' list (MLflow AI Gateway format)")
        }
        var endpoints: [Endpoint] = []
        for (index, entry) in list.enumerated() {
            guard let name = entry["name"]?.stringValue, !name.isEmpty else {
                throw AIQueryError(.invalidConfiguration, "\(path): endpoints[\(index)] has no name")
            }
            guard !endpoints.contains(where: { $0.name == name }) else {
                throw AIQueryError(.invalidConfiguration, "\(path): endpoint '\(name)' is defined twice")
            }
            let endpoint: Endpoint
            do {
                endpoint = try Endpoint.parse(name: name, spec: entry, source: "config:\(path)", allowLiteralKeys: true)
            } catch {
                throw error.prefixed("\(path): ")
            }
            endpoints.append(endpoint)
        }
        return endpoints
    }
}
