/// JSON Schema → llama.cpp GBNF, so a local model's sampler can only write JSON the schema accepts: the
/// `response_format` of chat calls (`json_schema`, `json_object`) and the task functions' answers.
///
/// The schemas it takes: `type` (a name or an array of them), `properties`/`required` (`additionalProperties` only
/// for a map or an empty object), `items`, `minItems`/`maxItems`, `minLength`/`maxLength`, `enum`, `const`,
/// `anyOf`/`oneOf`, `$ref` into `$defs`/`definitions` (or `#`, recursion included); titles and descriptions are
/// ignored. Every text the grammar admits is valid for the schema, never the other way round: the grammar may be
/// narrower (properties only in declared order, no undeclared properties, one spelling of each enum value), but a
/// keyword whose constraint it cannot express (`pattern`, `minimum`, `format`, …) is an error rather than silently
/// dropped. Whitespace between tokens is bounded, so the model cannot loop on it.
enum GrammarFromSchema {
    /// Deeper schemas are refused: a hostile one must not exhaust the stack.
    static let maxDepth = 32
    /// Bigger grammars are refused: llama.cpp parses the grammar again for every request.
    static let maxGrammarBytes = 200_000
    /// minLength/maxLength/minItems/maxItems up to this become `{m,n}`; llama.cpp expands those into one rule per
    /// repetition and refuses 2000 or more, so larger bounds are left out (with a comment in the grammar).
    static let maxRepetition = 1000

    /// GBNF for any JSON object (response_format json_object).
    static let anyObject: String = {
        var builder = Builder(root: .object([]))
        let root = builder.use("object")
        return builder.render(root: root)
    }()

    /// GBNF whose only sentences are JSON texts the schema accepts; an error naming the keyword for a schema outside
    /// the subset above.
    static func grammar(for schema: JSONValue) throws(AIQueryError) -> String {
        var builder = Builder(root: schema)
        let root = try builder.body(for: schema, name: "root", path: "#", depth: 0, unguarded: ["#"])
        let text = builder.render(root: root)
        guard text.utf8.count <= maxGrammarBytes else { throw Builder.tooLarge }
        return text
    }

    /// `text` as a GBNF string literal. Non-ASCII stays UTF-8; llama.cpp reads it as such.
    static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16, uppercase: true)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The shared rules, in the order they are written out; each ends with `space` where it ends a JSON value.
    static let primitives: [(name: String, body: String, uses: [String])] = [
        ("value", "object | array | string | number | boolean | null", ["object", "array", "string", "number", "boolean", "null"]),
        ("object", #""{" space ( string ":" space value ("," space string ":" space value)* )? "}" space"#, ["string", "value", "space"]),
        ("array", #""[" space ( value ("," space value)* )? "]" space"#, ["value", "space"]),
        ("string", #""\"" char* "\"" space"#, ["char", "space"]),
        // Any character but a quote, a backslash or a control character, or an escape.
        ("char", #"[^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#, []),
        // At most 16 digits before the point, 16 after and 3 of exponent: a number always ends.
        ("number", #""-"? integral-part ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? space"#, ["integral-part", "space"]),
        ("integer", #""-"? integral-part space"#, ["integral-part", "space"]),
        ("integral-part", #""0" | [1-9] [0-9]{0,15}"#, []),
        ("boolean", #"("true" | "false") space"#, ["space"]),
        ("null", #""null" space"#, ["space"]),
        // Nothing, a space, or a newline and up to 20 of indentation: room for pretty-printing, not for a loop.
        ("space", #"| " " | "\n" [ \t]{0,20}"#, []),
    ]

    /// Keywords that say nothing about which texts are valid.
    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly",
        "$defs", "definitions",
    ]
    /// Keywords that pick the values by themselves; only `type` may stand beside `enum` or `const` (as a filter).
    static let selectors: Set<String> = ["$ref", "const", "enum", "anyOf", "oneOf"]
    /// Keywords of the typed forms (object, array, string).
    static let typed: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "uniqueItems", "minLength",
        "maxLength",
    ]
    static let types: Set<String> = ["null", "boolean", "number", "integer", "string", "array", "object"]
}
