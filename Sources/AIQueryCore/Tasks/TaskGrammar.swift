/// GBNF grammars for llama.cpp, which constrains a completions model's tokens to them: a small base model then
/// cannot answer anything but one of the labels, or a JSON object with exactly the asked keys.
enum TaskGrammar {
    static func literal(_ text: String) -> String { GrammarFromSchema.literal(text) }

    /// One of the labels, or (`multiple`) one or more of them separated by ", ".
    static func oneOf(_ labels: [String], multiple: Bool = false) -> String {
        let label = "label ::= " + labels.map(literal).joined(separator: " | ")
        return (multiple ? "root ::= label (\", \" label)*\n" : "root ::= label\n") + label
    }

    /// `{"key": "text" | null, …}` with exactly these keys, in this order. Text even for a schema's numbers: the
    /// small model copies "2.5 kg" right where a number grammar made it invent 1.056; the answer check then
    /// takes the number out of the text.
    static func object(keys: [String]) -> String {
        let members = keys.enumerated().map { index, key in
            (index == 0 ? "" : "\",\" ws ") + literal(JSONValue.string(key).serialized()) + " ws \":\" ws value ws"
        }.joined(separator: " ")
        return """
            root ::= "{" ws \(members) "}"
            value ::= string | "null"
            string ::= "\\"" char{0,200} "\\""
            char ::= [^"\\\\\\n\\r] | "\\\\" ["\\\\/nrt]
            ws ::= [ ]?
            """
    }

    /// One line of text, not empty, ended by the model's own newline (the grammar then admits nothing more, so
    /// generation stops): a base model's summary or translation, without the next made-up example.
    static let line = #"root ::= [ ]? [^ \n] [^\n]* "\n""#

    /// A paragraph, ended by a blank line the model writes itself: ai_gen on a base model, which otherwise
    /// repeats itself until its token limit.
    static let paragraph = #"root ::= [ ]? [^ \n] [^\n]* ("\n" [^\n]+)* "\n\n""#

    /// `["text", …]`: the entities `ai_mask` replaces.
    static let stringList = """
        root ::= "[" ( string ( ", " string ){0,49} )? "]"
        string ::= "\\"" char{1,100} "\\""
        char ::= [^"\\\\\\n\\r] | "\\\\" ["\\\\/nrt]
        """
}
