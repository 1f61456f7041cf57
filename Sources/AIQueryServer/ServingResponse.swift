import AIQueryCore

#if canImport(Glibc)
import Glibc
#endif

/// Answers in the shapes Databricks and OpenAI return: the upstream's own body when the cache kept it (a replay is
/// byte for byte what the upstream said), otherwise one built from the answer.
enum ServingResponse {
    static func chatOrCompletion(_ response: ModelResponse, task: EndpointTask, endpoint: String, key: [UInt8]) -> JSONValue {
        if let raw = response.raw, let json = try? JSONValue.parse(bytes: raw), json["choices"] != nil { return json }
        let text: String
        switch response.output {
        case .text(let value): text = value
        case .json(let value): text = value.serialized()
        case .embedding: text = ""
        }
        let choice: JSONValue =
            task == .completions
            ? .object([("index", .integer(0)), ("text", .string(text)), ("finish_reason", .string(response.finishReason ?? "stop"))])
            : .object([
                ("index", .integer(0)), ("message", .object([("role", .string("assistant")), ("content", .string(text))])),
                ("finish_reason", .string(response.finishReason ?? "stop")),
            ])
        return .object([
            ("id", .string((task == .completions ? "cmpl-" : "chatcmpl-") + hex(key))),
            ("object", .string(task == .completions ? "text_completion" : "chat.completion")),
            ("created", .integer(Int64(time(nil)))), ("model", .string(endpoint)), ("choices", .array([choice])),
            ("usage", usage(response.usage)),
        ])
    }

    static func embeddings(_ vectors: [[Float]], usage tokens: TokenUsage?, endpoint: String, base64: Bool) -> JSONValue {
        let data: [JSONValue] = vectors.enumerated().map { index, vector in
            let embedding: JSONValue =
                base64
                ? .string(Base64.encode(vector.withUnsafeBytes { Array($0) }))
                : .array(vector.map { .double(Double($0.description) ?? Double($0)) })
            return .object([("object", .string("embedding")), ("index", .integer(Int64(index))), ("embedding", embedding)])
        }
        let prompt = Int64(tokens?.input ?? 0)
        return .object([
            ("object", .string("list")), ("data", .array(data)), ("model", .string(endpoint)),
            ("usage", .object([("prompt_tokens", .integer(prompt)), ("total_tokens", .integer(prompt))])),
        ])
    }

    static func custom(_ response: ModelResponse) -> JSONValue {
        if let raw = response.raw, let json = try? JSONValue.parse(bytes: raw) { return json }
        switch response.output {
        case .json(let value): return .object([("predictions", .array([value]))])
        case .text(let text): return .object([("predictions", .array([.string(text)]))])
        case .embedding(let vector): return .object([("predictions", .array([.array(vector.map { .double(Double($0)) })]))])
        }
    }

    static func usage(_ usage: TokenUsage?) -> JSONValue {
        guard let usage else { return .null }
        return .object([
            ("prompt_tokens", .integer(Int64(usage.input))), ("completion_tokens", .integer(Int64(usage.output))),
            ("total_tokens", .integer(Int64(usage.total))),
        ])
    }

    static func hex(_ bytes: [UInt8]) -> String { System.hex(bytes) }
}
