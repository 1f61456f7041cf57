import Testing

@testable import AIQueryCore

/// The grammars were also checked with llama.cpp itself (it parses them, admits valid JSON and refuses invalid
/// JSON token by token); these tests pin their text and the errors.
@Suite struct GrammarFromSchemaTests {
    func grammar(_ schema: String) throws -> String {
        try GrammarFromSchema.grammar(for: JSONValue.parse(schema))
    }

    /// The error message for `schema`, or "no error".
    func failure(_ schema: String) throws -> String {
        let value = try JSONValue.parse(schema)
        do {
            _ = try GrammarFromSchema.grammar(for: value)
            return "no error"
        } catch {
            return error.message
        }
    }

    /// The body of rule `name` in `grammar`.
    func rule(_ name: String, in grammar: String) -> String? {
        grammar.split(separator: "\n").first { $0.hasPrefix(name + " ::= ") }.map { String($0.dropFirst(name.count + 5)) }
    }

    @Test func smallObjectExactly() throws {
        let text = try grammar(#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}"#)
        #expect(text == #"""
            root ::= "{" space "\"name\":" space string ("," space "\"age\":" space integer)? "}" space
            string ::= "\"" char* "\"" space
            char ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
            integer ::= "-"? integral-part space
            integral-part ::= "0" | [1-9] [0-9]{0,15}
            space ::= | " " | "\n" [ \t]{0,20}

            """#)
    }

    @Test func optionalPropertiesKeepTheirCommasRight() throws {
        // Before the first required property an optional one carries its comma behind it, after it in front.
        let mixed = try grammar(#"{"properties":{"a":{"type":"null"},"b":{"type":"null"},"c":{"type":"null"}},"required":["b"]}"#)
        #expect(rule("root", in: mixed) == #""{" space ("\"a\":" space null "," space)? "\"b\":" space null ("," space "\"c\":" space null)? "}" space"#)
        // All optional: whichever comes first has no comma.
        let optional = try grammar(#"{"properties":{"a":{"type":"null"},"b":{"type":"null"}}}"#)
        #expect(rule("root", in: optional) == #""{" space ("\"a\":" space null ("," space "\"b\":" space null)? | "\"b\":" space null)? "}" space"#)
    }

    @Test func literalsEscapeQuotesAndBackslashes() throws {
        let text = try grammar(#"{"type":"object","properties":{"x":{"enum":["say \"hi\"","back\\slash","café",1,null]}},"required":["x"]}"#)
        #expect(rule("root-x", in: text) == #"("\"say \\\"hi\\\"\"" | "\"back\\\\slash\"" | "\"café\"" | "1" | "null") space"#)
        #expect(TaskGrammar.oneOf(["positive", "say \"hi\"", "a\\b", "two\nlines"]) == #"root ::= label"# + "\n" + #"label ::= "positive" | "say \"hi\"" | "a\\b" | "two\nlines""#)
        // A property name is escaped the same way, and its rule name keeps only letters, digits and dashes.
        let key = try grammar(#"{"properties":{"first \"name\"":{"type":"string","maxLength":3}},"required":["first \"name\""]}"#)
        #expect(rule("root", in: key) == #""{" space "\"first \\\"name\\\"\":" space root-first-name- "}" space"#)
        #expect(rule("root-first-name-", in: key) == #""\"" char{0,3} "\"" space"#)
    }

    @Test func nestingRefsAndAlternativesBecomeRules() throws {
        let tree = try grammar(
            ##"{"$defs":{"Node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"},"maxItems":2}},"required":["value","children"]}},"$ref":"#/$defs/Node"}"##
        )
        #expect(rule("root", in: tree) == "Node")
        #expect(rule("Node", in: tree) == #""{" space "\"value\":" space integer "," space "\"children\":" space Node-children "}" space"#)
        #expect(rule("Node-children", in: tree) == #""[" space (Node ("," space Node)?)? "]" space"#)

        let alternatives = try grammar(
            #"{"properties":{"x":{"anyOf":[{"type":"string","minLength":1},{"type":"null"}]},"y":{"type":["integer","null"]},"z":{"type":"array","items":{"type":"boolean"},"minItems":1}},"required":["x","y","z"]}"#
        )
        #expect(rule("root-x", in: alternatives) == "root-x-0 | null")
        #expect(rule("root-x-0", in: alternatives) == #""\"" char+ "\"" space"#)
        #expect(rule("root-y", in: alternatives) == "integer | null")
        #expect(rule("root-z", in: alternatives) == #""[" space boolean ("," space boolean)* "]" space"#)
    }

    @Test func openSchemasAcceptAnyValue() throws {
        #expect(rule("root", in: try grammar("{}")) == "value")
        #expect(rule("root", in: try grammar(#"{"type":"object","additionalProperties":{"type":"number"}}"#))
            == #""{" space ( string ":" space number ("," space string ":" space number)* )? "}" space"#)
        #expect(rule("root", in: GrammarFromSchema.anyObject) == "object")
        #expect(rule("value", in: GrammarFromSchema.anyObject) == "object | array | string | number | boolean | null")
    }

    @Test func largeLengthIsLeftOutWithAComment() throws {
        let text = try grammar(#"{"type":"string","minLength":2,"maxLength":5000}"#)
        #expect(text.hasPrefix("# #: maxLength 5000 is not enforced (over 1000)\nroot ::= \"\\\"\" char{2,} \"\\\"\" space\n"))
    }

    /// A schema and what its error message says.
    static let wrongSchemas: [(String, String)] = [
        (#"{"type":"string","pattern":"^a+$"}"#, "JSON schema at #: 'pattern' is not supported for local models"),
        (#"{"properties":{"d":{"type":"string","format":"date"}}}"#, "JSON schema at #/properties/d: 'format' is not supported"),
        (#"{"type":"array","items":{"type":"number","minimum":0}}"#, "JSON schema at #/items: 'minimum' is not supported"),
        (#"{"type":"array","uniqueItems":true}"#, "'uniqueItems' is not supported"),
        (#"{"$ref":"https://example.com/schema.json"}"#, "'$ref' https://example.com/schema.json is not supported for local models; put the schema in '$defs'"),
        (##"{"$ref":"#/$defs/Missing"}"##, "'$ref' #/$defs/Missing names no schema; add 'Missing' to '$defs'"),
        (#"{"type":"object","anyOf":[{"required":["a"]}]}"#, "'anyOf' beside 'type' is not supported"),
        (#"{"properties":{"a":{}},"required":["b"]}"#, "'required' names 'b', which is not in 'properties'; add it there"),
        (#"{"type":"text"}"#, "'text' is not a JSON schema type"),
        (##"{"$defs":{"A":{"anyOf":[{"$ref":"#/$defs/A"},{"type":"null"}]}},"$ref":"#/$defs/A"}"##, "refers back to itself before any object or array"),
        (#"{"type":"string","minLength":5,"maxLength":2}"#, "'minLength' 5 is more than 'maxLength' 2"),
    ]

    @Test(arguments: wrongSchemas)
    func unsupportedOrWrongSchemasSayWhat(schema: String, message: String) throws {
        #expect(try failure(schema).contains(message))
    }

    @Test func depthAndSizeAreBounded() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: #"{"type":"array","items":"#, count: depth) + "{}" + String(repeating: "}", count: depth)
        }
        #expect(try failure(nested(GrammarFromSchema.maxDepth)) == "no error")
        #expect(try failure(nested(GrammarFromSchema.maxDepth + 1)).contains("nests deeper than 32 levels"))

        let labels = (0..<12_000).map { #""label number \#($0)""# }.joined(separator: ",")
        #expect(try failure(#"{"enum":[\#(labels)]}"#).contains("a grammar of over 200 KB"))
        // Optional properties cost the square of their count: stopped before that is built.
        let properties = (0..<3000).map { #""p\#($0)":{"type":"null"}"# }.joined(separator: ",")
        #expect(try failure(#"{"properties":{\#(properties)}}"#).contains("a grammar of over 200 KB"))
    }
}
