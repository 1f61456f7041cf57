import AIQueryCore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The Server-Sent Events of one streamed answer in OpenAI's chunk shape, whichever provider made it (what the
/// OpenAI client, MLflow's predict_stream and LangChain's `.stream()` read): a chunk per piece of text as it
/// comes, a last chunk with the finish reason and usage, then `data: [DONE]`.
struct StreamChunks: Sendable {
    let task: EndpointTask
    private let head: [(String, JSONValue)]

    init(task: EndpointTask, endpoint: String, key: [UInt8]) {
        self.task = task
        head = [
            ("id", .string((task == .completions ? "cmpl-" : "chatcmpl-") + System.hex(key))),
            ("object", .string(task == .completions ? "text_completion" : "chat.completion.chunk")),
            ("created", .integer(Int64(time(nil)))), ("model", .string(endpoint)),
        ]
    }

    /// One piece of text; the first also says who speaks.
    func delta(_ text: String, first: Bool) -> ByteBuffer {
        let choice: JSONValue =
            task == .completions
            ? .object([("index", .integer(0)), ("text", .string(text)), ("finish_reason", .null)])
            : .object([
                ("index", .integer(0)),
                ("delta", .object((first ? [("role", .string("assistant"))] : []) + [("content", .string(text))])),
                ("finish_reason", .null),
            ])
        return event(.object(head + [("choices", .array([choice]))]))
    }

    /// The end of a whole answer: its finish reason and usage, then `[DONE]`.
    func end(_ response: ModelResponse) -> ByteBuffer {
        let finish = JSONValue.string(response.finishReason ?? "stop")
        let choice: JSONValue =
            task == .completions
            ? .object([("index", .integer(0)), ("text", .string("")), ("finish_reason", finish)])
            : .object([("index", .integer(0)), ("delta", .object([])), ("finish_reason", finish)])
        var buffer = event(.object(head + [("choices", .array([choice])), ("usage", ServingResponse.usage(response.usage))]))
        buffer.writeString("data: [DONE]\n\n")
        return buffer
    }

    /// An answer that broke off after it had begun (the status line has gone out): an error event, as OpenAI sends
    /// one, then `[DONE]`.
    func failure(_ error: ServingError, redactor: Redactor) -> ByteBuffer {
        var buffer = event(
            .object([
                ("error", .object([("message", .string(redactor.redact(error.message))), ("error_code", .string(error.code))]))
            ]))
        buffer.writeString("data: [DONE]\n\n")
        return buffer
    }

    private func event(_ json: JSONValue) -> ByteBuffer { ByteBuffer(string: "data: \(json.serialized())\n\n") }
}
