/// How a task function asks a model. A chat model gets instructions and, for answers with a shape, a JSON schema
/// in `response_format` (OpenAI-compatible servers and Databricks turn it into constrained decoding). A
/// completions model — the built-in local-gemma, a 270M base model that follows no instructions — gets a short
/// few-shot prompt it continues, and from llama.cpp a grammar that admits only a well-formed answer. The built-in
/// local-chat, a 135M model, gets the instructions in the user's message: it follows "Rewrite with correct
/// grammar… <text>" and ignores the same words as a system prompt.
public enum TaskStyle: Sendable, Equatable {
    case chat
    case chatInOneMessage
    case completions(grammar: Bool)

    public static func of(_ endpoint: Endpoint, task: EndpointTask) -> TaskStyle {
        let builtIn = endpoint.source == LocalModels.source
        switch task {
        case .completions: return .completions(grammar: builtIn)
        default: return builtIn ? .chatInOneMessage : .chat
        }
    }
}

extension TaskCall {
    /// The request body (`ai_task_request` shows it as it goes out, with the endpoint's model added).
    public func request(style: TaskStyle) -> ModelInput {
        switch style {
        case .chat: return .json(chatBody(inOneMessage: false))
        case .chatInOneMessage: return .json(chatBody(inOneMessage: true))
        case .completions(let grammar): return .json(completionsBody(grammar: grammar))
        }
    }

    // MARK: chat

    private func chatBody(inOneMessage: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = []
        if function == .gen {
            members.append(("messages", .array([message("user", content)])))
        } else if inOneMessage {
            let instructions = systemPrompt.replacing("the user's text", with: "the text below")
            members.append(("messages", .array([message("user", instructions + "\n\n" + content)])))
        } else {
            members.append(("messages", .array([message("system", systemPrompt), message("user", content)])))
        }
        if let schema = answerSchema {
            members.append((
                "response_format",
                .object([
                    ("type", .string("json_schema")),
                    ("json_schema", .object([("name", .string(function.name)), ("strict", .bool(true)), ("schema", schema)])),
                ])
            ))
        }
        if function != .gen { members.append(("temperature", .integer(0))) }
        if let maxTokens { members.append(("max_tokens", .integer(Int64(maxTokens)))) }
        return .object(members)
    }

    private func message(_ role: String, _ text: String) -> JSONValue {
        .object([("role", .string(role)), ("content", .string(text))])
    }

    private var extraInstructions: String { instructions.map { "\n\nContext: \($0)" } ?? "" }

    /// `- label` lines, with `: description` where the labels have them.
    private var labelList: String {
        (labels?.names ?? []).map { name in labels?.descriptions[name].map { "- \(name): \($0)" } ?? "- \(name)" }.joined(separator: "\n")
    }

    private var systemPrompt: String {
        switch function {
        case .gen, .similarity: return ""
        case .summarize:
            return "Summarize the user's text\(maxWords > 0 ? " in at most \(maxWords) words" : ""). Reply with the summary only."
        case .translate:
            return "Translate the user's text into \(language ?? "English"). Reply with the translation only."
        case .fixGrammar:
            return "Correct the grammar and spelling of the user's text, keeping its meaning and wording otherwise. Reply with the corrected text only."
        case .analyzeSentiment:
            return "Classify the sentiment of the user's text as positive, negative, neutral or mixed (both positive and negative)."
        case .classify:
            let how = multilabel ? "every category that applies" : "the one category that fits best"
            return "Classify the user's text. Choose \(how) from:\n\(labelList)\(extraInstructions)"
        case .extract:
            let names = labels?.names.joined(separator: ", ") ?? ""
            return "Extract these fields from the user's text: \(names). Copy values as they appear; use null for a field the text does not state.\(extraInstructions)"
        case .mask:
            return "List every piece of the user's text that is one of: \(labels?.names.joined(separator: ", ") ?? ""). Copy each exactly as it appears."
        }
    }

    /// The JSON schema of a shaped answer; nil for free text.
    var answerSchema: JSONValue? {
        func object(_ properties: [(String, JSONValue)]) -> JSONValue {
            .object([
                ("type", .string("object")), ("properties", .object(properties)), ("required", .array(properties.map { .string($0.0) })),
                ("additionalProperties", .bool(false)),
            ])
        }
        func choice(_ values: [String]) -> JSONValue { .object([("type", .string("string")), ("enum", .array(values.map(JSONValue.string)))]) }
        switch function {
        case .gen, .summarize, .translate, .fixGrammar, .similarity: return nil
        case .analyzeSentiment: return object([("sentiment", choice(TaskFunction.sentiments))])
        case .classify:
            let names = labels?.names ?? []
            if multilabel { return object([("labels", .object([("type", .string("array")), ("items", choice(names))]))]) }
            return object([("label", choice(names))])
        case .extract:
            if let schema { return schema }
            let nullableText = JSONValue.object([("type", .array([.string("string"), .string("null")]))])
            return object((labels?.names ?? []).map { ($0, nullableText) })
        case .mask:
            return object([("entities", .object([("type", .string("array")), ("items", .object([("type", .string("string"))]))]))])
        }
    }

    private var maxTokens: Int? {
        switch function {
        case .gen: return nil
        case .similarity: return nil
        case .translate, .fixGrammar: return 64 + 3 * TaskText.words(content).count
        case .summarize: return maxWords > 0 ? maxWords * 3 + 32 : nil
        case .analyzeSentiment: return 16
        case .classify: return multilabel ? 16 + 12 * (labels?.names.count ?? 1) : 48
        case .extract: return 64 + 64 * (labels?.names.count ?? 1)
        case .mask: return 512
        }
    }

    // MARK: completions

    private func completionsBody(grammar useGrammar: Bool) -> JSONValue {
        let text = content.replacingNewlines()
        let prompt: String
        var grammar: String?
        var stop = ["\nText:"]
        switch function {
        case .gen:
            prompt = content
            stop = ["\n\n"]
            grammar = TaskGrammar.paragraph
        case .summarize:
            prompt = "Text: \(text)\n\nSummary\(maxWords > 0 ? " in at most \(maxWords) words" : ""):"
            grammar = TaskGrammar.line
        case .translate:
            let target = language ?? "English"
            prompt = "Translate the text into \(target).\n\nText: \(text)\n\(target):"
            grammar = TaskGrammar.line
        case .fixGrammar:
            prompt = "Rewrite the text with correct grammar and spelling.\n\nText: i has two cat\nCorrected: I have two cats.\n\nText: \(text)\nCorrected:"
            grammar = TaskGrammar.line
        case .analyzeSentiment:
            // The examples' order matters to a 270M model: ending on the positive one took it from 73.8 % to
            // 79.8 % on 183 held-out reviews (examples in the old order: 42 vs 52 of 61 tuning ones).
            prompt = """
                Classify the sentiment of each text as positive, negative, neutral or mixed.

                Text: Awful quality, it broke immediately. Do not buy.
                Sentiment: negative

                Text: It arrived on Tuesday.
                Sentiment: neutral

                Text: The screen is gorgeous, but the speakers are terrible.
                Sentiment: mixed

                Text: This is the best purchase I have made all year.
                Sentiment: positive

                Text: \(text)
                Sentiment:
                """
            grammar = TaskGrammar.oneOf(TaskFunction.sentiments)
        case .classify:
            let names = labels?.names ?? []
            prompt = "Categories:\n\(labelList)\(extraInstructions)\n\nText: \(text)\n\(multilabel ? "Categories that apply" : "Category"):"
            grammar = TaskGrammar.oneOf(names, multiple: multilabel)
        case .extract:
            let names = labels?.names ?? []
            prompt = "Extract \(names.joined(separator: ", ")) from the text as JSON, null where the text does not say.\(extraInstructions)\n\nText: \(text)\nJSON:"
            grammar = TaskGrammar.object(keys: names)
        case .mask:
            prompt = "List each \(labels?.names.joined(separator: ", ") ?? "") in the text, copied exactly, as a JSON array.\n\nText: \(text)\nJSON:"
            grammar = TaskGrammar.stringList
        case .similarity:
            prompt = text
        }
        var members: [(String, JSONValue)] = [("prompt", .string(prompt))]
        members.append(("temperature", .integer(0)))
        // A base model left to itself repeats its prompt for as long as it may: 256 tokens is a page.
        members.append(("max_tokens", .integer(Int64(maxTokens ?? 256))))
        if useGrammar, let grammar {
            members.append(("grammar", .string(grammar)))
        } else if !stop.isEmpty {
            members.append(("stop", .array(stop.map(JSONValue.string))))
        }
        return .object(members)
    }
}
