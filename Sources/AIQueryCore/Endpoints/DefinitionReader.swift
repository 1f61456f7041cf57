/// Reads the members of one mapping of an endpoint definition, refusing keys it does not know.
struct DefinitionReader {
    let object: JSONValue
    let endpoint: String
    /// Where this mapping sits, for messages: `""`, `model.`, `model.config.`, `limit.`.
    let path: String

    init(_ object: JSONValue, endpoint: String, path: String = "") throws(AIQueryError) {
        guard case .object = object else {
            let what = path.isEmpty ? "the definition" : String(path.dropLast())
            throw AIQueryError(.invalidConfiguration, "endpoint '\(endpoint)': \(what) must be a JSON object (a mapping), got \(object.kindName)")
        }
        self.object = object
        self.endpoint = endpoint
        self.path = path
    }

    /// An unknown key is an error that names the nearest known one.
    mutating func allowOnly(_ known: [String]) throws(AIQueryError) {
        for (key, _) in object.objectValue ?? [] where !known.contains(key) {
            let hint = closest(to: key, among: known).map { "did you mean '\(path)\($0)'? " } ?? ""
            throw AIQueryError(
                .invalidConfiguration,
                "endpoint '\(endpoint)': unknown key '\(path)\(key)'; \(hint)the keys here are \(known.joined(separator: ", "))")
        }
    }

    func member(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func string(_ key: String) throws(AIQueryError) -> String? {
        guard let value = member(key) else { return nil }
        guard let text = value.stringValue else {
            throw AIQueryError(.invalidConfiguration, "endpoint '\(endpoint)': \(path)\(key) must be a string, got \(value.kindName)")
        }
        return text
    }

    /// The first of several spellings that is given (`url`, `api_base`, …).
    func string(_ keys: String...) throws(AIQueryError) -> String? {
        for key in keys {
            if let text = try string(key) { return text }
        }
        return nil
    }

    func positiveInt(_ key: String) throws(AIQueryError) -> Int? {
        guard let value = member(key) else { return nil }
        guard let number = value.int64Value, number > 0, number <= 1_000_000_000_000 else {
            throw AIQueryError(
                .invalidConfiguration,
                "endpoint '\(endpoint)': \(path)\(key) must be a positive integer (at most 10^12), got \(value.serialized().truncatedForMessage(40))")
        }
        return Int(number)
    }
}

/// The known word nearest to a typo (at most a third of its letters off), for "did you mean" hints.
func closest(to word: String, among known: [String]) -> String? {
    let target = Array(word.lowercased().utf8)
    var best: (String, Int)?
    for candidate in known {
        let distance = editDistance(target, Array(candidate.lowercased().utf8))
        if distance <= max(1, target.count / 3), distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
    }
    return best?.0
}

/// Edits (insert, delete, replace, swap two neighbours) from `a` to `b`: a swapped pair is one typo, not two.
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1) }
        }
    }
    return table[a.count][b.count]
}
