/// The request argument of ai_query: a prompt, or a whole JSON body (from `json(...)` / `json_object(...)`).
public enum ModelInput: Sendable {
    case text(String)
    case json(JSONValue)
}

/// What an endpoint answered, normalized, before SQL typing.
public enum ModelOutput: Sendable, Equatable {
    case text(String)
    case embedding([Float])
    case json(JSONValue)
}

/// Tokens an answer used, as the endpoint reported them.
public struct TokenUsage: Sendable, Equatable {
    public var input: Int
    public var output: Int
    public var total: Int { input + output }

    /// Counts beyond this are an upstream's nonsense, not usage: capped so sums never overflow.
    static let ceiling = 1_000_000_000_000

    public init(input: Int, output: Int) {
        self.input = min(max(0, input), Self.ceiling)
        self.output = min(max(0, output), Self.ceiling)
    }

    /// OpenAI/Databricks `prompt_tokens`/`completion_tokens`, Anthropic `input_tokens`/`output_tokens`.
    public init?(_ json: JSONValue) {
        guard let usage = json["usage"], case .object = usage else { return nil }
        func count(_ key: String) -> Int? {
            guard let value = usage[key]?.doubleValue, value.isFinite else { return nil }
            return Int(min(max(0, value), Double(Self.ceiling)))
        }
        let input = count("prompt_tokens") ?? count("input_tokens")
        let output = count("completion_tokens") ?? count("output_tokens")
        if input == nil, output == nil, let total = count("total_tokens") {
            self.init(input: total, output: 0)
            return
        }
        guard input != nil || output != nil else { return nil }
        self.init(input: input ?? 0, output: output ?? 0)
    }
}

/// A whole answer: what SQL returns (`output`), and what a front door needs to replay it exactly.
public struct ModelResponse: Sendable, Equatable {
    public var output: ModelOutput
    /// The upstream's body as received (secrets of the request removed); nil for one row of a batched request and
    /// for in-process models, whose answer a front door rebuilds from `output`.
    public var raw: [UInt8]?
    public var usage: TokenUsage?
    /// `stop`, `length`, `end_turn`, … when the endpoint said.
    public var finishReason: String?
    /// How the call that got it went (attempts, seconds): for the call log, not part of the answer.
    public var trace = CallTrace()

    public init(output: ModelOutput, raw: [UInt8]? = nil, usage: TokenUsage? = nil, finishReason: String? = nil) {
        self.output = output
        self.raw = raw
        self.usage = usage
        self.finishReason = finishReason
    }

    /// Equal answers, however they were fetched.
    public static func == (a: ModelResponse, b: ModelResponse) -> Bool {
        a.output == b.output && a.raw == b.raw && a.usage == b.usage && a.finishReason == b.finishReason
    }
}

/// What a call adds to the request body, already validated by a front door.
public struct RequestOptions: Sendable {
    /// Merged into the request body at the top level (max_tokens, temperature, …).
    public var modelParameters: [(String, JSONValue)] = []
    /// Sent as `response_format`; nil for plain text.
    public var responseFormat: JSONValue?

    public init(modelParameters: [(String, JSONValue)] = [], responseFormat: JSONValue? = nil) {
        self.modelParameters = modelParameters
        self.responseFormat = responseFormat
    }
}

extension ModelResponse {
    /// About what an answer holds in memory: its output and the upstream's body, when kept.
    var heldBytes: Int {
        let output: Int
        switch self.output {
        case .text(let text): output = text.utf8.count
        case .embedding(let vector): output = vector.count * 4
        case .json: output = raw?.count ?? 256
        }
        return output + (raw?.count ?? 0) + 64
    }
}
