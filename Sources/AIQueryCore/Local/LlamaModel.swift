import CLlama

#if canImport(Glibc)
import Glibc
#endif

/// A GGUF model run in this process by llama.cpp (opened with dlopen on first use: ``LlamaLibrary``), with one
/// context whose sequences answer several rows at once (``LlamaBatcher``). Chat prompts go through the model's own
/// chat template; completions do not.
final class LlamaModel: @unchecked Sendable {
    /// Rows decoded together (`AIQUERY_LOCAL_SEQUENCES`, 1-64, default 8): throughput grows with them until the
    /// cores are busy; each adds its KV cache.
    static let sequences: Int32 = {
        guard let text = System.environment("AIQUERY_LOCAL_SEQUENCES"), let count = Int32(text) else { return 8 }
        return min(64, max(1, count))
    }()
    /// Tokens of prompt and answer together, per row.
    static let sequenceTokens: Int32 = 2048

    let path: String
    let llm: OpaquePointer
    /// The weights' and the context's bytes, every sequence's KV cache included.
    let bytes: UInt64
    let batcher: LlamaBatcher

    private init(path: String, llm: OpaquePointer) {
        self.path = path
        self.llm = llm
        bytes = aiq_llm_bytes(llm)
        batcher = LlamaBatcher(llm: llm, sequences: Int(aiq_llm_sequences(llm)))
    }

    deinit {
        batcher.close()
        aiq_llm_close(llm)
    }

    static func isGGUF(_ path: String) -> Bool { path.lowercased().hasSuffix(".gguf") }

    /// The file's name without `.gguf`: the model name a GGUF endpoint reports.
    static func name(of path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return isGGUF(file) ? String(file.dropLast(5)) : file
    }

    /// Loads the model (hundreds of MB: once per runtime, by ``LocalModelHost``).
    static func load(_ path: String, threads: Int) throws(AIQueryError) -> LlamaModel {
        try LlamaLibrary.load()
        guard access(path, R_OK) == 0 else {
            throw AIQueryError(.invalidConfiguration, "the model file \(path) does not exist or cannot be read; model_path must name a .gguf file")
        }
        var error = [CChar](repeating: 0, count: 512)
        guard let llm = aiq_llm_open(path, sequenceTokens, sequences, Int32(max(1, threads)), &error, error.count) else {
            throw AIQueryError(.invalidConfiguration, text(of: error))
        }
        return LlamaModel(path: path, llm: llm)
    }

    var sequenceTokens: Int { Int(aiq_llm_sequence_tokens(llm)) }

    /// The prompt a chat request becomes: the model's chat template over its messages, the assistant's turn open.
    func chatPrompt(_ messages: [(role: String, content: String)]) throws(AIQueryError) -> String {
        var size: Int32 = 4096
        for _ in 0..<2 {
            var out = [CChar](repeating: 0, count: Int(size))
            let written = withCStrings(messages.map(\.role)) { roles in
                withCStrings(messages.map(\.content)) { contents in
                    aiq_llm_chat_prompt(llm, roles, contents, messages.count, &out, size)
                }
            }
            guard written >= 0 else {
                throw AIQueryError(.invalidConfiguration, "the model \(LlamaModel.name(of: path)) has no chat template; use it for completions")
            }
            if written <= size { return String(decoding: out.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            size = written + 1
        }
        throw AIQueryError(.internalError, "the chat template's output kept growing")
    }

    /// The tokens of `text`, the model's BOS first when `special` (a prompt).
    func tokens(of text: String, special: Bool) -> [Int32] {
        let bytes = Array(text.utf8)
        var tokens = [Int32](repeating: 0, count: bytes.count + 8)
        var count = aiq_llm_tokenize(llm, text, Int32(bytes.count), special ? 1 : 0, &tokens, Int32(tokens.count))
        if count < 0 {
            tokens = [Int32](repeating: 0, count: Int(-count))
            count = aiq_llm_tokenize(llm, text, Int32(bytes.count), special ? 1 : 0, &tokens, Int32(tokens.count))
        }
        return Array(tokens.prefix(Int(max(0, count))))
    }

    /// A C buffer's text up to its NUL.
    static func text(of buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// C strings for a moment, as a `const char *const *`.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { body($0.baseAddress!) }
}
