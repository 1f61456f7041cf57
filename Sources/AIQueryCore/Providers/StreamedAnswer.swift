import Synchronization

/// How a provider streams an answer: the request it sends for one, and the events it answers with.
public enum StreamFormat: Sendable {
    /// OpenAI's `data: {chunk}` lines ending `data: [DONE]`; `includeUsage` asks for the last chunk's usage
    /// (`stream_options.include_usage`), which only OpenAI-compatible servers take.
    case openAI(includeUsage: Bool)
    /// Anthropic's `message_start`, `content_block_delta`, `message_delta`, `message_stop` events.
    case anthropic

    /// The request body asking for a streamed answer.
    func streamingBody(_ body: JSONValue) -> JSONValue {
        var body = body.setting("stream", .bool(true))
        if case .openAI(true) = self { body = body.setting("stream_options", .object([("include_usage", .bool(true))])) }
        return body
    }
}

/// One streamed answer as it arrives: reads the Server-Sent Events of the body's parts, hands each new piece of
/// text to `onDelta` (with the request's secrets taken out, a piece that could be the start of one held back
/// until the next shows), and adds the pieces up to the body a whole answer would have had — what the cache keeps
/// and a later request for the whole answer gets. An upstream that answers whole JSON anyway is read as such.
/// Fed by one transport thread at a time; read by the caller once the response is complete.
final class StreamedAnswer: Sendable {
    private let format: StreamFormat
    private let task: EndpointTask
    private let redactor: Redactor
    private let onDelta: @Sendable (String) -> Void
    private let state = Mutex(State())

    private struct State {
        var line: [UInt8] = []
        var data: [String] = []
        var isJSON: Bool?
        var text = ""
        /// Text not yet handed to `onDelta`: held back as a possible secret's start.
        var pending: [UInt8] = []
        var delivered = false
        var finishReason: String?
        var usageIn: Int?
        var usageOut: Int?
        var id: JSONValue?
        var model: JSONValue?
        var created: JSONValue?
        var error: String?
        var done = false
    }

    init(format: StreamFormat, task: EndpointTask, redactor: Redactor, onDelta: @escaping @Sendable (String) -> Void) {
        self.format = format
        self.task = task
        self.redactor = redactor
        self.onDelta = onDelta
    }

    /// Whether any text has gone to the caller: from then on the request cannot be tried again.
    var hasDelivered: Bool { state.withLock { $0.delivered } }

    /// The next part of the body.
    func feed(_ bytes: [UInt8]) {
        let pieces: [String] = state.withLock { state in
            if state.isJSON == nil, let first = bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
                state.isJSON = first == UInt8(ascii: "{")
            }
            guard state.isJSON == false else { return [] }
            var pieces: [String] = []
            for byte in bytes {
                guard byte == 0x0A else {
                    state.line.append(byte)
                    continue
                }
                if state.line.last == 0x0D { state.line.removeLast() }
                if let piece = Self.takeLine(&state, format: format, task: task, redactor: redactor) { pieces.append(piece) }
                state.line.removeAll(keepingCapacity: true)
            }
            return pieces
        }
        for piece in pieces { onDelta(piece) }
    }

    /// The body has ended: what is left of the text goes to `onDelta` (a last event with no blank line after it,
    /// text held back as a possible secret's start), and the body of the whole answer comes back in the provider's
    /// own shape, what the pipeline reads like any answer; nil when the upstream answered whole JSON instead (the
    /// body is then read as it is). Throws what the stream reported.
    func assembled(endpoint: Endpoint) throws(AIQueryError) -> JSONValue? {
        var pieces: [String] = []
        let state = state.withLock { state in
            guard state.isJSON == false else { return state }
            if !state.line.isEmpty {
                _ = Self.takeLine(&state, format: format, task: task, redactor: redactor)
                state.line.removeAll()
            }
            if let piece = Self.takeLine(&state, format: format, task: task, redactor: redactor) { pieces.append(piece) }
            if let piece = Self.flush(&state, redactor: redactor, all: true) { pieces.append(piece) }
            return state
        }
        for piece in pieces { onDelta(piece) }
        if state.isJSON != false { return nil }
        if let error = state.error {
            throw AIQueryError(.invalidResponse, "endpoint '\(endpoint.name)' reported an error in its streamed answer: \(redactor.redact(error).truncatedForMessage(300))")
        }
        let text = redactor.redact(state.text)
        var usage: [(String, JSONValue)] = []
        switch format {
        case .openAI:
            if let input = state.usageIn { usage.append(("prompt_tokens", .integer(Int64(input)))) }
            if let output = state.usageOut { usage.append(("completion_tokens", .integer(Int64(output)))) }
            if !usage.isEmpty { usage.append(("total_tokens", .integer(Int64((state.usageIn ?? 0) + (state.usageOut ?? 0))))) }
            let finish: JSONValue = state.finishReason.map { .string($0) } ?? .null
            let choice: JSONValue =
                task == .completions
                ? .object([("index", .integer(0)), ("text", .string(text)), ("finish_reason", finish)])
                : .object([
                    ("index", .integer(0)), ("message", .object([("role", .string("assistant")), ("content", .string(text))])),
                    ("finish_reason", finish),
                ])
            var fields: [(String, JSONValue)] = [
                ("id", state.id ?? .string("stream")), ("object", .string(task == .completions ? "text_completion" : "chat.completion")),
            ]
            if let created = state.created { fields.append(("created", created)) }
            if let model = state.model { fields.append(("model", model)) }
            fields.append(("choices", .array([choice])))
            if !usage.isEmpty { fields.append(("usage", .object(usage))) }
            return .object(fields)
        case .anthropic:
            if let input = state.usageIn { usage.append(("input_tokens", .integer(Int64(input)))) }
            if let output = state.usageOut { usage.append(("output_tokens", .integer(Int64(output)))) }
            var fields: [(String, JSONValue)] = [("id", state.id ?? .string("stream")), ("type", .string("message")), ("role", .string("assistant"))]
            if let model = state.model { fields.append(("model", model)) }
            fields.append(("content", .array([.object([("type", .string("text")), ("text", .string(text))])])))
            fields.append(("stop_reason", state.finishReason.map { .string($0) } ?? .null))
            if !usage.isEmpty { fields.append(("usage", .object(usage))) }
            return .object(fields)
        }
    }

    /// Reads one line of the event stream; a blank line ends an event. Returns new text to hand on, if any.
    private static func takeLine(_ state: inout State, format: StreamFormat, task: EndpointTask, redactor: Redactor) -> String? {
        if state.line.isEmpty {
            guard !state.data.isEmpty else { return nil }
            let data = state.data.joined(separator: "\n")
            state.data.removeAll()
            return take(event: data, &state, format: format, task: task, redactor: redactor)
        }
        if state.line.starts(with: Array("data:".utf8)) {
            var value = state.line.dropFirst(5)
            if value.first == 0x20 { value = value.dropFirst() }
            state.data.append(String(decoding: value, as: UTF8.self))
        }
        return nil  // `event:`, `id:`, `retry:` and comments: the data says what each event is
    }

    private static func take(event data: String, _ state: inout State, format: StreamFormat, task: EndpointTask, redactor: Redactor) -> String? {
        if data == "[DONE]" {
            state.done = true
            return flush(&state, redactor: redactor, all: true)
        }
        guard let json = try? JSONValue.parse(data) else { return nil }
        if let error = json["error"] {
            state.error = error["message"]?.stringValue ?? error.serialized()
            return nil
        }
        var piece: String?
        switch format {
        case .openAI:
            state.id = state.id ?? json["id"]
            state.model = state.model ?? json["model"]
            state.created = state.created ?? json["created"]
            if let usage = TokenUsage(json) {
                state.usageIn = usage.input
                state.usageOut = usage.output
            }
            if let choice = json["choices"]?[0], (choice["index"]?.int64Value ?? 0) == 0 {
                piece = task == .completions ? choice["text"]?.stringValue : choice["delta"]?["content"]?.stringValue
                if let finish = choice["finish_reason"]?.stringValue { state.finishReason = finish }
            }
        case .anthropic:
            switch json["type"]?.stringValue {
            case "message_start":
                state.id = json["message"]?["id"]
                state.model = json["message"]?["model"]
                state.usageIn = json["message"]?["usage"]?["input_tokens"]?.int64Value.map { Int(min($0, 1 << 40)) }
            case "content_block_delta":
                if json["delta"]?["type"]?.stringValue == "text_delta" { piece = json["delta"]?["text"]?.stringValue }
            case "message_delta":
                state.finishReason = json["delta"]?["stop_reason"]?.stringValue ?? state.finishReason
                if let output = json["usage"]?["output_tokens"]?.int64Value { state.usageOut = Int(min(output, 1 << 40)) }
            case "message_stop":
                state.done = true
                return flush(&state, redactor: redactor, all: true)
            default: break
            }
        }
        guard let piece, !piece.isEmpty else { return nil }
        state.text += piece
        state.pending.append(contentsOf: piece.utf8)
        return flush(&state, redactor: redactor, all: false)
    }

    /// The text not yet handed on, but for an end that could begin a secret (unless `all`), redacted. No secret
    /// starts in text already handed on: its start would have been held back.
    private static func flush(_ state: inout State, redactor: Redactor, all: Bool) -> String? {
        let pending = state.pending
        var end = all ? pending.count : pending.count - redactor.heldBack(pending)
        while end > 0, end < pending.count, pending[end] & 0xC0 == 0x80 { end -= 1 }  // not inside a character
        guard end > 0 else { return nil }
        let piece = redactor.redact(String(decoding: pending[..<end], as: UTF8.self))
        state.pending.removeFirst(end)
        state.delivered = true
        return piece
    }
}
