import AIQueryCore

/// `GET /api/2.0/serving-endpoints[/{name}]`: the endpoints the server answers for, as Databricks describes them.
enum EndpointCatalog {
    static func describe(_ endpoint: Endpoint) -> JSONValue {
        let task = endpoint.task.map { JSONValue.string($0.rawValue) } ?? .null
        let entity = JSONValue.object([
            ("name", .string(endpoint.model ?? endpoint.name)),
            (
                "external_model",
                .object([
                    ("name", .string(endpoint.model ?? endpoint.name)), ("provider", .string(endpoint.provider.rawValue)), ("task", task),
                ])
            ),
        ])
        return .object([
            ("name", .string(endpoint.name)), ("id", .string(endpoint.name)), ("creator", .null), ("task", task),
            ("endpoint_type", .string(endpoint.provider == .local ? "FOUNDATION_MODEL_API" : "EXTERNAL_MODEL")),
            ("state", .object([("ready", .string("READY")), ("config_update", .string("NOT_UPDATING"))])),
            ("config", .object([("served_entities", .array([entity]))])), ("tags", .array([])),
            ("permission_level", .string("CAN_QUERY")),
        ])
    }
}
