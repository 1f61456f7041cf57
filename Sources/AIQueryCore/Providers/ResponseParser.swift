/// Reads the answer out of a provider's response, and the error out of a failed one.
public enum ResponseParser {
    /// - Parameter parsed: the body already parsed, when the caller has it (the engine reads `usage` first).
    public static func output(
        endpoint: Endpoint, task: EndpointTask, response: HTTPResponse, url: String, parsed: JSONValue? = nil
    ) throws -> ModelOutput {
        let json: JSONValue
        do {
            json = try parsed ?? JSONValue.parse(bytes: response.body)
        } catch {
            let type = response.header("content-type").map { ", \($0)" } ?? ""
            throw AIQueryError.row(
                "endpoint '\(endpoint.name)' returned a response that is not JSON (HTTP \(response.status)\(type)): \(response.bodyText.truncatedForMessage(200))"
            )
        }
        func missing(_ path: String) -> AIQueryError {
            .row("endpoint '\(endpoint.name)' returned JSON without \(path): \(json.serialized().truncatedForMessage(200))")
        }
        if endpoint.provider == .anthropic {
            guard let blocks = json["content"]?.arrayValue else { throw missing("content") }
            return .text(joinedText(blocks))
        }
        switch task {
        case .chat:
            guard let message = json["choices"]?[0]?["message"] else { throw missing("choices[0].message") }
            switch message["content"] {
            case .string(let text)?: return .text(text)
            case .array(let blocks)?: return .text(joinedText(blocks))
            default:
                if let refusal = message["refusal"]?.stringValue {
                    throw AIQueryError.row("endpoint '\(endpoint.name)' refused: \(refusal.truncatedForMessage())")
                }
                throw missing("choices[0].message.content")
            }
        case .completions:
            guard let text = json["choices"]?[0]?["text"]?.stringValue else { throw missing("choices[0].text") }
            return .text(text)
        case .embeddings:
            guard let first = json["data"]?[0]?["embedding"] else { throw missing("data[0].embedding") }
            return .embedding(try embedding(first, endpoint: endpoint))
        case .custom:
            if let predictions = json["predictions"] {
                if let items = predictions.arrayValue, items.count == 1 { return .json(items[0]) }
                return .json(predictions)
            }
            if let outputs = json["outputs"] { return .json(outputs) }
            return .json(json)
        }
    }

    /// Text blocks joined in order; reasoning and other non-text blocks are skipped.
    static func joinedText(_ blocks: [JSONValue]) -> String {
        blocks.compactMap { block -> String? in
            if let text = block.stringValue { return text }
            guard block["type"]?.stringValue == "text" else { return nil }
            return block["text"]?.stringValue
        }.joined()
    }

    static func embedding(_ value: JSONValue, endpoint: Endpoint) throws -> [Float] {
        if let items = value.arrayValue {
            var vector: [Float] = []
            vector.reserveCapacity(items.count)
            for item in items {
                guard let number = item.doubleValue else {
                    throw AIQueryError.row("endpoint '\(endpoint.name)' returned an embedding with a non-number: \(item)")
                }
                vector.append(Float(number))
            }
            return vector
        }
        // encoding_format "base64": little-endian float32.
        if let text = value.stringValue, let bytes = Base64.decode(text), bytes.count % 4 == 0 {
            var vector: [Float] = []
            vector.reserveCapacity(bytes.count / 4)
            for i in stride(from: 0, to: bytes.count, by: 4) {
                let b0 = UInt32(bytes[i])
                let b1 = UInt32(bytes[i + 1]) << 8
                let b2 = UInt32(bytes[i + 2]) << 16
                let b3 = UInt32(bytes[i + 3]) << 24
                vector.append(Float(bitPattern: b0 | b1 | b2 | b3))
            }
            return vector
        }
        throw AIQueryError.row("endpoint '\(endpoint.name)' returned an embedding that is neither a number list nor base64")
    }

    /// `HTTP 404 RESOURCE_DOES_NOT_EXIST: Endpoint with name 'x' does not exist.` from any provider's error body.
    public static func httpErrorSummary(_ response: HTTPResponse) -> String {
        var summary = "HTTP \(response.status)"
        let json = try? JSONValue.parse(bytes: response.body)
        var code: String?
        var message: String?
        if let json {
            if let errorCode = json["error_code"]?.stringValue {  // Databricks
                code = errorCode
                message = json["message"]?.stringValue
            } else if let error = json["error"], case .object = error {  // OpenAI, Anthropic
                code = error["code"]?.stringValue ?? error["type"]?.stringValue
                message = error["message"]?.stringValue
            } else if let error = json["error"]?.stringValue {
                message = error
            } else if let detail = json["detail"]?.stringValue ?? json["message"]?.stringValue {
                message = detail
            }
        }
        if let code, !code.isEmpty { summary += " \(code)" }
        if let message, !message.isEmpty {
            summary += ": \(message.truncatedForMessage())"
        } else if json == nil {
            let text = response.bodyText.trimmed()
            if !text.isEmpty { summary += ": \(text.truncatedForMessage(200))" }
        }
        return summary
    }
}
