import Synchronization

/// The endpoints YAML file (MLflow AI Gateway format), re-read whenever it changes on disk.
public final class ConfigFile: Sendable {
    public init() {}

    private struct Loaded { var path: String; var stamp: [Int]; var contents: Contents }

    /// What the file defines: its endpoints, and which of them the task functions use (`task_endpoints:`).
    struct Contents {
        var endpoints: [Endpoint] = []
        var taskEndpoints = TaskEndpointNames()
    }
    private let loaded = Mutex<Loaded?>(nil)

    /// `AIQUERY_CONFIG`, or `~/.config/aiquery/endpoints.yaml`.
    public static var path: String {
        System.expandingTilde(System.environment("AIQUERY_CONFIG") ?? "~/.config/aiquery/endpoints.yaml")
    }

    /// Endpoints in the file; none when the default file is absent. A named but missing file is an error.
    public func endpoints() throws(AIQueryError) -> [Endpoint] { try contents().endpoints }

    /// The file's `task_endpoints: {chat: …, embeddings: …}`.
    public func taskEndpoints() throws(AIQueryError) -> TaskEndpointNames { try contents().taskEndpoints }

    private func contents() throws(AIQueryError) -> Contents {
        let path = Self.path
        guard let stamp = System.fileStamp(path) else {
            if System.environment("AIQUERY_CONFIG") != nil {
                throw AIQueryError(.invalidConfiguration, "AIQUERY_CONFIG names \(path), which does not exist")
            }
            return Contents()
        }
        if let cached = loaded.withLock({ $0 }), cached.path == path, cached.stamp == stamp { return cached.contents }
        let contents = try Self.load(path: path)
        loaded.withLock { $0 = Loaded(path: path, stamp: stamp, contents: contents) }
        return contents
    }

    static func load(path: String) throws(AIQueryError) -> Contents {
        guard let bytes = System.readFile(path) else { throw AIQueryError(.invalidConfiguration, "cannot read \(path)") }
        let document: JSONValue
        do {
            document = try YAML.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw AIQueryError(.invalidConfiguration, "\(path): \(error)")
        }
        if document.isNull { return Contents() }
        if case .object(let members) = document,
            let unknown = members.first(where: { !["endpoints", "routes", "task_endpoints"].contains($0.0) })
        {
            throw AIQueryError(
                .invalidConfiguration,
                "\(path): unknown top-level key '\(unknown.0)'; the file holds an 'endpoints:' list (MLflow AI Gateway format) and optionally 'task_endpoints:'")
        }
        let taskEndpoints = try TaskEndpointNames.parse(document["task_endpoints"], path: path)
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
        return Contents(endpoints: endpoints, taskEndpoints: taskEndpoints)
    }
}
