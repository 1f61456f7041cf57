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

extension GrammarFromSchema {
    /// Collects the rules of one grammar: one per property, item, alternative and `$defs` entry that is not just a
    /// primitive, named after where it is (`root-address-city`) so a grammar can be read against its schema.
    fileprivate struct Builder {
        let root: JSONValue
        var rules: [(name: String, body: String)] = []
        var taken = Set(["root"] + GrammarFromSchema.primitives.map(\.name))
        var usedPrimitives: Set<String> = []
        /// `#/$defs/X` → its rule; set before the definition is visited, so recursion finds it.
        var refs: [String: String] = [:]
        var notes: [String] = []
        var bytes = 0

        init(root: JSONValue) { self.root = root }

        static let tooLarge = AIQueryError(
            "the JSON schema makes a grammar of over \(maxGrammarBytes / 1000) KB for the local model; simplify it (fewer properties or enum values)"
        )

        func failure(_ path: String, _ message: String) -> AIQueryError {
            AIQueryError("JSON schema at \(path.truncatedForMessage(120)): \(message)")
        }

        /// The rule body for `schema`. `unguarded` holds the `$ref`s entered since the last `{` or `[`: meeting one
        /// again would be left recursion (`A ::= A | …`), which llama.cpp refuses.
        mutating func body(for schema: JSONValue, name: String, path: String, depth: Int, unguarded: Set<String>) throws(AIQueryError) -> String {
            guard depth <= maxDepth else {
                throw failure(path, "the schema nests deeper than \(maxDepth) levels; flatten it or share parts through '$defs' and '$ref'")
            }
            let members: [(String, JSONValue)]
            switch schema {
            case .bool(true): return use("value")
            case .bool(false): throw failure(path, "the schema false accepts no value; remove it")
            case .object(let object): members = object
            default: throw failure(path, "a schema must be an object such as {\"type\": \"string\"}, got \(schema.kindName)")
            }
            for (key, _) in members where !annotations.contains(key) && !selectors.contains(key) && !typed.contains(key) {
                throw failure(path, "'\(key.truncatedForMessage(40))' is not supported for local models (their grammar cannot enforce it); remove it, or say it in the prompt")
            }
            let keys = members.map(\.0)
            if let selector = keys.first(where: selectors.contains) {
                let filterable = selector == "enum" || selector == "const"
                if let other = keys.first(where: { $0 != selector && (selectors.contains($0) || (typed.contains($0) && !(filterable && $0 == "type"))) }) {
                    throw failure(path, "'\(selector)' beside '\(other)' is not supported for local models; use one of them, or move '\(other)' into each alternative")
                }
            }
            if let ref = schema["$ref"] { return try reference(ref, path: path, depth: depth, unguarded: unguarded) }
            let types = try types(of: schema, path: path)
            if let value = schema["const"] { return try literals([value], types: types, path: path) }
            if let values = schema["enum"] {
                guard case .array(let values) = values, !values.isEmpty else { throw failure(path, "'enum' must be a non-empty array of values") }
                return try literals(values, types: types, path: path)
            }
            for key in ["anyOf", "oneOf"] {
                guard let alternatives = schema[key] else { continue }
                // oneOf is read as anyOf: the grammar cannot tell that only one alternative matches.
                guard case .array(let schemas) = alternatives, !schemas.isEmpty else { throw failure(path, "'\(key)' must be a non-empty array of schemas") }
                var refs: [String] = []
                for (index, alternative) in schemas.enumerated() {
                    refs.append(try ruleRef(alternative, name: "\(name)-\(index)", path: "\(path)/\(key)/\(index)", depth: depth + 1, unguarded: unguarded))
                }
                return refs.joined(separator: " | ")
            }
            if types.isEmpty { return use("value") }
            var bodies: [String] = []
            for type in types {
                switch type {
                case "string": bodies.append(try string(schema, path: path))
                case "array": bodies.append(try array(schema, name: name, path: path, depth: depth))
                case "object": bodies.append(try object(schema, name: name, path: path, depth: depth))
                default: bodies.append(use(type))
                }
            }
            return bodies.joined(separator: " | ")
        }

        /// `type` as a list; without one, the type the other keywords imply (narrower than the schema, so sound).
        func types(of schema: JSONValue, path: String) throws(AIQueryError) -> [String] {
            let names: [String]
            switch schema["type"] {
            case nil:
                if schema["properties"] != nil || schema["required"] != nil || schema["additionalProperties"] != nil { return ["object"] }
                if schema["items"] != nil || schema["minItems"] != nil || schema["maxItems"] != nil { return ["array"] }
                if schema["minLength"] != nil || schema["maxLength"] != nil { return ["string"] }
                return []
            case .string(let name)?: names = [name]
            case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.stringValue != nil }): names = items.compactMap(\.stringValue)
            default: throw failure(path, "'type' must be a type name such as \"string\" or an array of them")
            }
            for name in names where !GrammarFromSchema.types.contains(name) {
                throw failure(path, "'\(name.truncatedForMessage(40))' is not a JSON schema type; use one of \(GrammarFromSchema.types.sorted().joined(separator: ", "))")
            }
            return names
        }

        /// `body`, or the name of a new rule holding it when it is more than one primitive's name.
        mutating func ruleRef(_ schema: JSONValue, name: String, path: String, depth: Int, unguarded: Set<String>) throws(AIQueryError) -> String {
            let body = try body(for: schema, name: name, path: path, depth: depth, unguarded: unguarded)
            if body.allSatisfy(Self.isNameCharacter) { return body }
            let ruleName = claim(name)
            try add(ruleName, body)
            return ruleName
        }

        mutating func reference(_ ref: JSONValue, path: String, depth: Int, unguarded: Set<String>) throws(AIQueryError) -> String {
            guard let pointer = ref.stringValue else { throw failure(path, "'$ref' must be a string such as \"#/$defs/Address\"") }
            if unguarded.contains(pointer) {
                throw failure(path, "'$ref' \(pointer.truncatedForMessage(80)) refers back to itself before any object or array; put the recursion inside 'properties' or 'items'")
            }
            if pointer == "#" { return "root" }
            guard let container = ["$defs", "definitions"].first(where: { pointer.hasPrefix("#/\($0)/") }) else {
                throw failure(path, "'$ref' \(pointer.truncatedForMessage(80)) is not supported for local models; put the schema in '$defs' and refer to it as \"#/$defs/Name\"")
            }
            if let name = refs[pointer] { return name }
            // JSON Pointer escapes: ~1 is '/', ~0 is '~'.
            let key = String(pointer.dropFirst(container.count + 3)).replacing("~1", with: "/").replacing("~0", with: "~")
            guard let target = root[container]?[key] else {
                throw failure(path, "'$ref' \(pointer.truncatedForMessage(80)) names no schema; add '\(key.truncatedForMessage(40))' to '\(container)' at the top of the schema")
            }
            let name = claim(Self.ruleName(key))
            refs[pointer] = name
            let body = try body(for: target, name: name, path: pointer, depth: depth + 1, unguarded: unguarded.union([pointer]))
            try add(name, body)
            return name
        }

        /// Each value as its exact JSON text: the one spelling the grammar allows. Values `type` rules out are dropped.
        mutating func literals(_ values: [JSONValue], types: [String], path: String) throws(AIQueryError) -> String {
            var texts: [String] = []
            var seen: Set<String> = []
            for value in values where types.isEmpty || types.contains(where: { Self.value(value, hasType: $0) }) {
                let text = GrammarFromSchema.literal(value.serialized())
                if seen.insert(text).inserted { texts.append(text) }
            }
            guard !texts.isEmpty else { throw failure(path, "no value of 'enum' or 'const' has the schema's 'type'; fix one of them") }
            use("space")
            return (texts.count == 1 ? texts[0] : "(" + texts.joined(separator: " | ") + ")") + " space"
        }

        mutating func string(_ schema: JSONValue, path: String) throws(AIQueryError) -> String {
            let (min, max) = try bounds(schema, "minLength", "maxLength", path: path)
            if min == 0 && max == nil { return use("string") }
            use("char")
            use("space")
            return #""\"" char"# + Self.repetition(min, max) + #" "\"" space"#
        }

        mutating func array(_ schema: JSONValue, name: String, path: String, depth: Int) throws(AIQueryError) -> String {
            if let items = schema["items"], case .array = items {
                throw failure(path, "'items' as an array (a tuple) is not supported for local models; give 'items' one schema")
            }
            if let unique = schema["uniqueItems"], unique != .bool(false) {
                throw failure(path, "'uniqueItems' is not supported for local models (their grammar cannot enforce it); remove it")
            }
            let (min, max) = try bounds(schema, "minItems", "maxItems", path: path)
            guard let items = schema["items"] else {
                if min == 0 && max == nil { return use("array") }
                return list(item: use("value"), min: min, max: max)
            }
            let item = try ruleRef(items, name: name + "-item", path: path + "/items", depth: depth + 1, unguarded: [])
            return list(item: item, min: min, max: max)
        }

        /// `[item, …]` with `min`…`max` items: the first item, then `("," item)` repeated one time fewer.
        mutating func list(item: String, min: Int, max: Int?) -> String {
            use("space")
            if max == 0 { return #""[" space "]" space"# }
            let more = max == 1 ? "" : #" ("," space "# + item + ")" + Self.repetition(Swift.max(min - 1, 0), max.map { $0 - 1 })
            let items = min == 0 ? "(" + item + more + ")?" : item + more
            return #""[" space "# + items + #" "]" space"#
        }

        mutating func object(_ schema: JSONValue, name: String, path: String, depth: Int) throws(AIQueryError) -> String {
            let properties: [(String, JSONValue)]
            switch schema["properties"] {
            case nil: properties = []
            case .object(let members)?: properties = members
            default: throw failure(path, "'properties' must be an object of schemas")
            }
            var required: Set<String> = []
            switch schema["required"] {
            case nil: break
            case .array(let names)? where names.allSatisfy({ $0.stringValue != nil }): required = Set(names.compactMap(\.stringValue))
            default: throw failure(path, "'required' must be an array of property names")
            }
            for key in required where !properties.contains(where: { $0.0 == key }) {
                throw failure(path, "'required' names '\(key.truncatedForMessage(40))', which is not in 'properties'; add it there")
            }
            use("space")
            if properties.isEmpty {
                switch schema["additionalProperties"] {
                case .bool(false)?: return #""{" space "}" space"#
                case nil, .bool(true)?: return use("object")
                case let values?:
                    // A map: any keys, each value of one schema.
                    let value = try ruleRef(values, name: name + "-value", path: path + "/additionalProperties", depth: depth + 1, unguarded: [])
                    let member = use("string") + #" ":" space "# + value
                    return #""{" space ( "# + member + #" ("," space "# + member + #")* )? "}" space"#
                }
            }
            // Undeclared properties are never written (additionalProperties is ignored): narrower, still valid.
            var members: [(text: String, required: Bool)] = []
            for (key, value) in properties {
                let keyPath = path + "/properties/" + key.replacing("~", with: "~0").replacing("/", with: "~1")
                let valueRule = try ruleRef(value, name: name + "-" + Self.ruleName(key), path: keyPath, depth: depth + 1, unguarded: [])
                members.append((GrammarFromSchema.literal(JSONValue.string(key).serialized() + ":") + " space " + valueRule, required.contains(key)))
            }
            var parts = [#""{" space"#]
            if let firstRequired = members.firstIndex(where: \.required) {
                // Optional members before the first required one carry their comma behind them, the rest in front.
                for (index, member) in members.enumerated() {
                    if index < firstRequired {
                        parts.append("(" + member.text + #" "," space)?"#)
                    } else if index == firstRequired {
                        parts.append(member.text)
                    } else {
                        parts.append(member.required ? #""," space "# + member.text : #"("," space "# + member.text + ")?")
                    }
                }
            } else {
                // All optional: one alternative per first member present, each followed by any of the later ones. That
                // grows with the square of the count, so the size is checked on the way.
                var alternatives: [String] = []
                var size = 0
                for first in members.indices {
                    let alternative = ([members[first].text] + members[(first + 1)...].map { #"("," space "# + $0.text + ")?" }).joined(separator: " ")
                    size += alternative.utf8.count
                    guard bytes + size <= maxGrammarBytes else { throw Self.tooLarge }
                    alternatives.append(alternative)
                }
                parts.append("(" + alternatives.joined(separator: " | ") + ")?")
            }
            parts.append(#""}" space"#)
            return parts.joined(separator: " ")
        }

        /// The two bounds, checked; one over `maxRepetition` is left out and noted in the grammar.
        mutating func bounds(_ schema: JSONValue, _ minKey: String, _ maxKey: String, path: String) throws(AIQueryError) -> (Int, Int?) {
            func read(_ key: String) throws(AIQueryError) -> Int? {
                guard let value = schema[key] else { return nil }
                guard let number = value.int64Value, number >= 0 else { throw failure(path, "'\(key)' must be a whole number of at least 0") }
                guard number <= maxRepetition else {
                    notes.append("\(path): \(key) \(number) is not enforced (over \(maxRepetition))")
                    return nil
                }
                return Int(number)
            }
            let min = try read(minKey) ?? 0
            let max = try read(maxKey)
            if let max, min > max { throw failure(path, "'\(minKey)' \(min) is more than '\(maxKey)' \(max); fix one of them") }
            return (min, max)
        }

        /// Registers a primitive rule and the ones it uses; returns its name.
        @discardableResult mutating func use(_ name: String) -> String {
            guard usedPrimitives.insert(name).inserted else { return name }
            for dependency in GrammarFromSchema.primitives.first(where: { $0.name == name })?.uses ?? [] { use(dependency) }
            return name
        }

        mutating func add(_ name: String, _ body: String) throws(AIQueryError) {
            bytes += name.utf8.count + body.utf8.count + 6
            guard bytes <= maxGrammarBytes else { throw Self.tooLarge }
            rules.append((name, body))
        }

        /// `name`, or `name-2`, `name-3`, … when taken.
        mutating func claim(_ name: String) -> String {
            var candidate = name
            var suffix = 2
            while taken.contains(candidate) {
                candidate = "\(name)-\(suffix)"
                suffix += 1
            }
            taken.insert(candidate)
            return candidate
        }

        func render(root: String) -> String {
            // A note is a comment line: no newline may end it early.
            let comments = notes.map { "# " + String($0.map { $0.isNewline ? " " : $0 }) }
            let primitives = GrammarFromSchema.primitives.filter { usedPrimitives.contains($0.name) }.map { (name: $0.name, body: $0.body) }
            let lines = comments + ["root ::= " + root] + (rules + primitives).map { "\($0.name) ::= \($0.body)" }
            return lines.joined(separator: "\n") + "\n"
        }

        /// GBNF names are letters, digits and dashes; any other run of characters becomes one dash.
        static func ruleName(_ text: String) -> String {
            var out = ""
            for character in text {
                if isNameCharacter(character) {
                    out.append(character)
                } else if !out.hasSuffix("-") {
                    out.append("-")
                }
            }
            return out.isEmpty || out == "-" ? "x" : out
        }

        static func isNameCharacter(_ character: Character) -> Bool {
            character.isASCII && (character.isLetter || character.isNumber || character == "-")
        }

        /// `{m,n}` in its shortest spelling.
        static func repetition(_ min: Int, _ max: Int?) -> String {
            switch (min, max) {
            case (0, nil): return "*"
            case (1, nil): return "+"
            case (0, 1?): return "?"
            case (_, nil): return "{\(min),}"
            case (_, let max?) where max == min: return "{\(min)}"
            case (_, let max?): return "{\(min),\(max)}"
            }
        }

        static func value(_ value: JSONValue, hasType type: String) -> Bool {
            switch (value, type) {
            case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"): return true
            case (.integer, "integer"), (.integer, "number"), (.double, "number"): return true
            case (.double(let d), "integer"): return d.rounded() == d
            default: return false
            }
        }
    }
}
