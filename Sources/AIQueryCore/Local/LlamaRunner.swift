import CLlama

#if canImport(Glibc)
import Glibc
#endif

/// One chat or completions request answered by a GGUF model: the request's messages through the model's chat
/// template (chat) or its prompt as is (completions), sampled as its parameters say, usage from the tokenizer.
enum LlamaRunner {
    /// Decoding threads: the machine's cores, at most 8 (more only contend on small models).
    static let threads = min(8, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    static func generate(
        _ body: JSONValue, task: EndpointTask, model: LlamaModel, control: CallControl, onDelta: (@Sendable (String) -> Void)?
    ) throws(AIQueryError) -> ModelResponse {
        let prompt = try self.prompt(of: body, task: task, model: model)
        let tokens = model.tokens(of: prompt, special: true)
        guard tokens.count < model.sequenceTokens else {
            throw AIQueryError(
                .tooLarge,
                "the prompt is \(tokens.count) tokens; \(LlamaModel.name(of: model.path)) holds \(model.sequenceTokens) per row "
                    + "(prompt and answer together): shorten the input")
        }
        let sampling = try self.sampling(of: body, room: model.sequenceTokens - tokens.count)
        let sink = PieceSink(onPiece: onDelta.map { send in { send($0) } }, stops: try stops(of: body))
        let job = LlamaJob(prompt: tokens, sampling: sampling, grammar: try grammar(of: body), sink: sink)
        let answer = try model.batcher.run(job) { control.isCancelled?() == true }.get()
        var response = ModelResponse(output: .text(answer.text))
        response.usage = TokenUsage(input: answer.promptTokens, output: answer.outputTokens)
        response.finishReason = answer.finishReason
        return response
    }

    static func prompt(of body: JSONValue, task: EndpointTask, model: LlamaModel) throws(AIQueryError) -> String {
        guard task == .chat else { return body["prompt"].map(text(of:)) ?? "" }
        var messages: [(role: String, content: String)] = []
        for message in body["messages"]?.arrayValue ?? [] {
            guard let role = message["role"]?.stringValue else { continue }
            messages.append((role, message["content"].map(text(of:)) ?? ""))
        }
        guard !messages.isEmpty else { throw AIQueryError(.invalidArgument, "a chat request needs at least one message") }
        return try model.chatPrompt(messages)
    }

    /// modelParameters as llama.cpp's samplers: temperature 0 (the default) is greedy.
    static func sampling(of body: JSONValue, room: Int) throws(AIQueryError) -> aiq_llm_sampling {
        var sampling = aiq_llm_sampling(max_tokens: Int32(min(256, room)), temperature: 0, top_p: 1, top_k: 0, seed: 0, repeat_penalty: 1)
        if let maxTokens = try number(body, "max_tokens", in: 1...1_000_000) { sampling.max_tokens = Int32(min(maxTokens, Double(room))) }
        if let temperature = try number(body, "temperature", in: 0...100) { sampling.temperature = Float(temperature) }
        if let topP = try number(body, "top_p", in: 0...1) { sampling.top_p = topP == 0 ? 1 : Float(topP) }
        if let topK = try number(body, "top_k", in: 0...1_000_000) { sampling.top_k = Int32(topK) }
        if let seed = try number(body, "seed", in: -9.2e18...9.2e18) { sampling.seed = UInt32(truncatingIfNeeded: Int64(seed)) }
        if let penalty = try number(body, "repeat_penalty", in: 0.01...10) { sampling.repeat_penalty = Float(penalty) }
        return sampling
    }

    private static func number(_ body: JSONValue, _ key: String, in range: ClosedRange<Double>) throws(AIQueryError) -> Double? {
        guard let value = body[key], value != .null else { return nil }
        guard let number = value.doubleValue, range.contains(number) else {
            throw AIQueryError(.invalidArgument, "modelParameters.\(key) must be a number from \(range.lowerBound) to \(range.upperBound); got \(value.serialized().truncatedForMessage(40))")
        }
        return number
    }

    /// `stop`: a string or up to 4 strings; the answer ends before the first that appears.
    static func stops(of body: JSONValue) throws(AIQueryError) -> [String] {
        guard let value = body["stop"], value != .null else { return [] }
        if let one = value.stringValue { return [one] }
        guard let list = value.arrayValue, list.count <= 4, list.allSatisfy({ $0.stringValue != nil }) else {
            throw AIQueryError(.invalidArgument, "modelParameters.stop must be a string or a list of up to 4 strings")
        }
        return list.compactMap(\.stringValue)
    }

    /// `grammar`, or `response_format`: a JSON schema (or any JSON object) as a grammar, so the answer always parses.
    /// llama.cpp's own `grammar` (GBNF) first, as its server takes it.
    static func grammar(of body: JSONValue) throws(AIQueryError) -> String? {
        if let grammar = body["grammar"]?.stringValue, !grammar.isEmpty { return grammar }
        guard let format = body["response_format"], format != .null else { return nil }
        switch format["type"]?.stringValue {
        case "text", nil: return nil
        case "json_object": return GrammarFromSchema.anyObject
        case "json_schema":
            guard let schema = format["json_schema"]?["schema"] else {
                throw AIQueryError(.invalidArgument, "responseFormat json_schema needs a schema: {\"type\":\"json_schema\",\"json_schema\":{\"name\":…,\"schema\":{…}}}")
            }
            return try GrammarFromSchema.grammar(for: schema)
        case let other?:
            throw AIQueryError(.invalidArgument, "responseFormat type must be text, json_object or json_schema; got '\(other)'")
        }
    }

    /// A message's content or a prompt: text, or OpenAI's list of text parts.
    private static func text(of value: JSONValue) -> String {
        if let text = value.stringValue { return text }
        return (value.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
    }
}
