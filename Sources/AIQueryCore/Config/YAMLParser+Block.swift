// Block structure: mappings and sequences decided by indentation, one line at a time, and the plain scalars
// that may sit in them.
extension YAMLParser {
    /// How a line reads in block context, decided from its text alone.
    enum LineShape {
        case sequenceItem               // `-` followed by a blank or the end of the line
        case mappingKey(colon: Int)     // `key:` / `"key":` followed by a blank or the end; colon is the ':' index
        case other(unterminatedQuote: Bool)
    }

    func classify(_ text: [UInt8]) -> LineShape {
        guard let c = text.first else { return .other(unterminatedQuote: false) }
        if c == .dash && (text.count == 1 || text[1].isBlank) { return .sequenceItem }
        if c == .dquote || c == .squote {
            guard let close = closingQuote(text) else { return .other(unterminatedQuote: true) }
            let i = skipBlanks(text, from: close + 1)
            if i < text.count && text[i] == .colon && (i + 1 == text.count || text[i + 1].isBlank) {
                return .mappingKey(colon: i)
            }
            return .other(unterminatedQuote: false)
        }
        // Flow collections (or stray brackets), block scalar headers, `? ` complex keys and `: ` empty keys are
        // never plain keys here.
        if c.isFlowIndicator || c == UInt8(ascii: "|") || c == UInt8(ascii: ">") || c == UInt8(ascii: "?")
            || (c == .colon && (text.count == 1 || text[1].isBlank)) {
            return .other(unterminatedQuote: false)
        }
        var i = 1
        while i < text.count {
            if text[i] == .hash && text[i - 1].isBlank { break }  // the rest is a comment
            if text[i] == .colon && (i + 1 == text.count || text[i + 1].isBlank) { return .mappingKey(colon: i) }
            i += 1
        }
        return .other(unterminatedQuote: false)
    }

    /// Index of the quote closing the one at text[0] on the same line, honouring `\"` and `''`.
    func closingQuote(_ text: [UInt8]) -> Int? {
        let quote = text[0]
        var i = 1
        while i < text.count {
            if quote == .dquote && text[i] == .backslash { i += 2; continue }
            if text[i] == quote {
                if quote == .squote && i + 1 < text.count && text[i + 1] == .squote { i += 2; continue }
                return i
            }
            i += 1
        }
        return nil
    }

    /// Parses the node starting on lines[index], which is indented more than `parent` (the owner's indentation).
    mutating func parseBlockNode(parent: Int) throws(YAMLError) -> JSONValue {
        guard index < lines.count else { return .null }
        let line = lines[index]
        try enter(line.number)
        defer { depth -= 1 }
        switch classify(line.text) {
        case .sequenceItem: return try parseSequence(indent: line.indent, parent: parent)
        case .mappingKey: return try parseMapping(indent: line.indent)
        case .other: return try parseInlineValue(at: 0, parent: parent)
        }
    }

    mutating func parseMapping(indent n: Int) throws(YAMLError) -> JSONValue {
        var members = Members()
        while let i = try nextContent() {
            let line = lines[i]
            if line.indent < n { break }
            if line.indent > n { throw badIndentation(line, expected: n) }
            let colon: Int
            switch classify(line.text) {
            case .mappingKey(let c): colon = c
            case .sequenceItem: throw fail(line.number, "expected a mapping key, found a sequence item")
            case .other(let unterminated):
                if unterminated { throw fail(line.number, "unterminated quoted string") }
                if line.text.first == UInt8(ascii: "?") && (line.text.count == 1 || line.text[1].isBlank) {
                    throw fail(line.number, "complex mapping keys ('?') are not supported")
                }
                throw fail(line.number, "expected a mapping key")
            }
            let key: String
            if line.text[0] == .dquote || line.text[0] == .squote {
                cl = i
                cp = 0
                key = try parseQuoted(minIndent: 0)
            } else {
                var end = colon
                while end > 0 && line.text[end - 1].isBlank { end -= 1 }
                key = String(decoding: line.text[0..<end], as: UTF8.self)
            }
            members.set(key, try parseMappingValue(line: i, from: colon + 1, owner: n))
        }
        return .object(members.list)
    }

    /// The value after `key:`: on the same line, nested on the following lines, or null.
    mutating func parseMappingValue(line i: Int, from pos: Int, owner n: Int) throws(YAMLError) -> JSONValue {
        let text = lines[i].text
        let p = skipBlanks(text, from: pos)
        if p < text.count && text[p] != .hash { return try parseInlineValue(at: p, parent: n) }
        index = i + 1
        guard let j = try nextContent() else { return .null }
        if lines[j].indent > n { return try parseBlockNode(parent: n) }
        // `key:\n- a\n- b`: a sequence may sit at its key's own indentation.
        if lines[j].indent == n, case .sequenceItem = classify(lines[j].text) {
            return try parseSequence(indent: n, parent: n)
        }
        return .null
    }

    mutating func parseSequence(indent n: Int, parent: Int) throws(YAMLError) -> JSONValue {
        var items: [JSONValue] = []
        while let i = try nextContent() {
            let line = lines[i]
            if line.indent < n { break }
            if line.indent > n { throw badIndentation(line, expected: n) }
            guard case .sequenceItem = classify(line.text) else {
                // A sibling key of the owning mapping may follow a same-indentation sequence; otherwise it is wrong.
                if n > parent { throw fail(line.number, "expected a sequence item ('- ')") }
                break
            }
            let p = skipBlanks(line.text, from: 1)
            if p >= line.text.count || line.text[p] == .hash {
                index = i + 1
                if let j = try nextContent(), lines[j].indent > n {
                    items.append(try parseBlockNode(parent: n))
                } else {
                    items.append(.null)
                }
            } else {
                // `- key: v` / `- - x`: treat the rest of the line as a line of its own, indented at its column,
                // so the following lines at that column continue the same mapping or sequence.
                lines[i].indent = line.indent + p
                lines[i].text = Array(line.text[p...])
                items.append(try parseBlockNode(parent: n))
            }
        }
        return .array(items)
    }

    /// A value that starts at lines[index].text[pos]: flow collection, quoted, block or plain scalar.
    mutating func parseInlineValue(at pos: Int, parent n: Int) throws(YAMLError) -> JSONValue {
        let line = lines[index]
        guard pos < line.text.count else { index += 1; return .null }
        switch line.text[pos] {
        case .lbracket, .lbrace:
            cl = index
            cp = pos
            flowMinIndent = n + 1
            let value = try parseFlowCollection()
            try finishLine(after: "flow collection")
            return value
        case .dquote, .squote:
            cl = index
            cp = pos
            let value = try parseQuoted(minIndent: n + 1)
            try finishLine(after: "quoted string")
            return .string(value)
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            return .string(try parseBlockScalar(at: pos, parent: n))
        case .dash where pos + 1 == line.text.count || line.text[pos + 1].isBlank:
            throw fail(line.number, "a block sequence cannot start on the same line as a mapping key")
        case .rbracket, .rbrace, .comma:  // cannot start a plain scalar; almost certainly a typo
            throw fail(line.number, "unexpected '\(Character(Unicode.Scalar(line.text[pos])))'")
        default:
            return try parsePlain(at: pos, parent: n)
        }
    }

    /// After a flow collection or quoted scalar only a comment may follow on its last line (PyYAML accepts one
    /// right after the closing quote or bracket, so we do too).
    mutating func finishLine(after what: String) throws(YAMLError) {
        let text = lines[cl].text
        let i = skipBlanks(text, from: cp)
        if i < text.count && text[i] != .hash {
            throw fail(lines[cl].number, "unexpected text after the \(what)")
        }
        index = cl + 1
    }

    /// A plain scalar; following lines indented more than the owner continue it (folded with a space).
    mutating func parsePlain(at pos: Int, parent n: Int) throws(YAMLError) -> JSONValue {
        var (out, endsInComment) = try plainLine(lines[index].text, from: pos, line: lines[index].number)
        index += 1
        var j = index
        var emptyLines = 0
        while j < lines.count && !endsInComment {  // a comment ends a plain scalar
            let l = lines[j]
            if l.marker != .none { break }
            if isWhitespaceOnly(l.text) { emptyLines += 1; j += 1; continue }
            if l.isBlank || l.indent <= n || l.hasTabIndent { break }
            if case .mappingKey = classify(l.text) {
                if n < 0 { throw fail(l.number, "a mapping key cannot follow a top-level scalar") }
                throw badIndentation(l, expected: n)
            }
            let (piece, comment) = try plainLine(l.text, from: 0, line: l.number)
            endsInComment = comment
            out += emptyLines == 0 ? [.space] : [UInt8](repeating: .newline, count: emptyLines)
            out += piece
            emptyLines = 0
            j += 1
            index = j
        }
        return resolvePlain(out)
    }

    /// One line of a block plain scalar, up to a ` #` comment, trailing blanks trimmed; and whether a comment followed.
    func plainLine(_ text: [UInt8], from start: Int, line: Int) throws(YAMLError) -> ([UInt8], Bool) {
        var i = start
        var end = start
        while i < text.count {
            let b = text[i]
            if b == .hash && i > start && text[i - 1].isBlank { break }
            if b == .colon && (i + 1 == text.count || text[i + 1].isBlank) {
                throw fail(line, "mapping values are not allowed here (quote the value if it contains ': ')")
            }
            i += 1
            if !b.isBlank { end = i }
        }
        return (Array(text[start..<end]), i < text.count)
    }
}
