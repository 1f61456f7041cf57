/// The container forms of a schema — arrays, objects and maps — and the length and count bounds they share with
/// strings.
extension GrammarFromSchema.Builder {
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
                guard bytes + size <= GrammarFromSchema.maxGrammarBytes else { throw Self.tooLarge }
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
            guard number <= GrammarFromSchema.maxRepetition else {
                notes.append("\(path): \(key) \(number) is not enforced (over \(GrammarFromSchema.maxRepetition))")
                return nil
            }
            return Int(number)
        }
        let min = try read(minKey) ?? 0
        let max = try read(maxKey)
        if let max, min > max { throw failure(path, "'\(minKey)' \(min) is more than '\(maxKey)' \(max); fix one of them") }
        return (min, max)
    }
}
