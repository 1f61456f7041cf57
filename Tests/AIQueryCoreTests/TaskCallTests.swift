import Testing

@testable import AIQueryCore

/// Task functions' arguments, requests and answer checks, without a model.
@Suite struct TaskCallTests {
    func call(_ function: TaskFunction, _ arguments: [SQLArgument]) throws -> TaskCall {
        try #require(try TaskCall.make(function, arguments))
    }

    @Test func maskingChangesOnlyWhatOccursInTheText() throws {
        let mask = try call(.mask, [.text("Ada met Bob. Card 4111 1111 1111 1111, SSN 123-45-6789.", subtype: 0), .text(#"["person","credit_card","ssn"]"#, subtype: 0)])
        #expect(mask.masked(#"{"entities":["Ada","Charles","B","Bob"]}"#) == "[MASKED] met [MASKED]. Card [MASKED], SSN [MASKED].")
        #expect(mask.masked("not json") == "Ada met Bob. Card [MASKED], SSN [MASKED].")
        // A number that fails the Luhn check is no card.
        let noCard = try call(.mask, [.text("Order 1234 5678 9012 3456", subtype: 0), .text(#"["credit_card"]"#, subtype: 0)])
        #expect(noCard.masked("[]") == "Order 1234 5678 9012 3456")
    }

    @Test func labelsMatchExactlyOrByTheOneWordMentioned() throws {
        let labels = try TaskLabels.parse(.text(#"["billing","bug report","other"]"#, subtype: 0), minimum: 2)
        #expect(labels.match(" Billing. ") == "billing")
        #expect(labels.match("this is a bug report, clearly") == "bug report")
        #expect(labels.match("billing or other") == nil)
        #expect(labels.match("bug") == nil)
    }

    @Test func summariesKeepTheirWordCap() {
        #expect(TaskText.capped("one  two three four", words: 2) == "one  two")
        #expect(TaskText.capped("one two", words: 0) == "one two")
    }

    /// The grammar llama.cpp gets admits exactly the keys, in order, each a string or null.
    @Test func extractionGrammarNamesEveryKey() throws {
        let grammar = TaskGrammar.object(keys: ["person", "da\"te"])
        #expect(grammar.hasPrefix(#"root ::= "{" ws "\"person\"" ws ":" ws value ws "," ws "\"da\\\"te\"" ws ":" ws value ws "}""#))
    }

    @Test func completionsRequestsCarryAGrammarOnlyForLlamaCpp() throws {
        let sentiment = try call(.analyzeSentiment, [.text("fine", subtype: 0)])
        guard case .json(let withGrammar) = sentiment.request(style: .completions(grammar: true)),
            case .json(let without) = sentiment.request(style: .completions(grammar: false))
        else { Issue.record("no JSON body"); return }
        #expect(withGrammar["grammar"]?.stringValue == "root ::= label\nlabel ::= \"positive\" | \"negative\" | \"neutral\" | \"mixed\"")
        #expect(without["grammar"] == nil && without["stop"] != nil)
        #expect(withGrammar["prompt"]?.stringValue?.hasSuffix("Text: fine\nSentiment:") == true)
    }

    @Test func nullTextMakesNoCallButBadArgumentsStillFail() throws {
        #expect(try TaskCall.make(.classify, [.null, .text(#"["a","b"]"#, subtype: 0)]) == nil)
        #expect(throws: AIQueryError.self) { try TaskCall.make(.classify, [.null, .text(#"["a"]"#, subtype: 0)]) }
    }

    /// A schema's types are kept: a number out of "2.5 kg", a boolean out of "yes", null when it cannot be one.
    @Test func schemaFieldsTakeTheirTypes() throws {
        let schema = #"{"type":"object","properties":{"kg":{"type":"number"},"n":{"type":"integer"},"ok":{"type":"boolean"},"name":{"type":"string"}}}"#
        let extract = try call(.extract, [.text("x", subtype: 0), .text(schema, subtype: 0)])
        let answer = extract.answer(from: .text(#"{"kg":"2.5 kg","n":"3.5","ok":"yes","name":7,"extra":1}"#))
        #expect(answer == .json(.object([("response", .object([("kg", .double(2.5)), ("n", .null), ("ok", .bool(true)), ("name", .string("7"))])), ("error_message", .null)])))
    }
}
