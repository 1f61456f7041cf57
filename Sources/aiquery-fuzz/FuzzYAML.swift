import AIQueryCore

/// YAML.parse, then the endpoint-definition parser on what it gives, as the config file reader does: each entry
/// of an `endpoints:` (or `routes:`) list, and the whole document as one definition (the ai_endpoint_set form).
enum FuzzYAML {
    static func run(_ bytes: [UInt8]) {
        let document: JSONValue
        do { document = try YAML.parse(String(decoding: bytes, as: UTF8.self)) } catch { return }
        _ = document.serialized()
        var specs: [(String, JSONValue)] = [(document["name"]?.stringValue ?? "fuzz", document)]
        for entry in (document["endpoints"] ?? document["routes"])?.arrayValue ?? [] {
            specs.append((entry["name"]?.stringValue ?? "fuzz", entry))
        }
        for (name, spec) in specs {
            for allowLiteralKeys in [true, false] {
                guard let endpoint = try? Endpoint.parse(name: name, spec: spec, source: "config:fuzz.yaml", allowLiteralKeys: allowLiteralKeys)
                else { continue }
                for task in EndpointTask.allCases {
                    let url = endpoint.invocationURL(task: task)
                    _ = Redactor.displayURL(url)
                    _ = Redactor.password(in: url)
                }
                _ = endpoint.limit?.window
            }
        }
    }
}
