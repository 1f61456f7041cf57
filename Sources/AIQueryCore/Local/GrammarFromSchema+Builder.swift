extension GrammarFromSchema {
    /// Collects the rules of one grammar: one per property, item, alternative and `$defs` entry that is not just a
    /// primitive, named after where it is (`root-address-city`) so a grammar can be read against its schema.
    struct Builder {
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
