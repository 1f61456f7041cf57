// The upstream for benchmarks/serve.sh: an OpenAI-compatible chat endpoint that answers at once (or after
// --latency-ms), fast enough that the gateway in front of it, not the upstream, is what gets measured.
// Usage: serve-bench-upstream [--latency-ms N]; prints "PORT <n>" first, listening on 127.0.0.1.
import AIQueryCore
import Hummingbird

#if canImport(Glibc)
import Glibc
#endif

var latency = 0.0
if let index = CommandLine.arguments.firstIndex(of: "--latency-ms"), index + 1 < CommandLine.arguments.count {
    latency = Double(CommandLine.arguments[index + 1]) ?? 0
}
let delay = latency
let router = Router()
router.post("v1/chat/completions") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    let json = try? JSONValue.parse(bytes: Array(buffer: body))
    let prompt = json?["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
    if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
    let answer = JSONValue.object([
        ("id", .string("chatcmpl-bench")), ("object", .string("chat.completion")), ("created", .integer(1_700_000_000)),
        ("model", json?["model"] ?? .null),
        (
            "choices",
            .array([
                .object([
                    ("index", .integer(0)), ("message", .object([("role", .string("assistant")), ("content", .string("echo: " + prompt))])),
                    ("finish_reason", .string("stop")),
                ])
            ])
        ),
        ("usage", .object([("prompt_tokens", .integer(3)), ("completion_tokens", .integer(4)), ("total_tokens", .integer(7))])),
    ])
    return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: answer.serialized())))
}
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
    onServerRunning: { channel in
        var line = Array("PORT \(channel.localAddress?.port ?? 0)\n".utf8)
        _ = line.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
    })
try await app.runService()
