// Flow collections ([...] and {...}): read with the (cl, cp) cursor because they may span lines.
extension YAMLParser {
    /// Skips blanks, comments and line breaks inside a flow collection. Indentation is not checked there (as in
    /// PyYAML), so a closing bracket in column 0 is fine; reaching the end means the collection was never closed.
    mutating func skipFlowSpace(open: Int, unterminated: String) throws(YAMLError) {
        while true {
            let text = lines[cl].text
            cp = skipBlanks(text, from: cp)
            if cp < text.count {
                if text[cp] == .hash { cp = text.count } else { return }  // at a token start '#' is a comment
            }
            cl += 1
            cp = 0
            if cl >= lines.count || lines[cl].marker != .none { throw fail(open, unterminated) }
        }
    }

    /// A syntax error inside a flow collection; if it is on a later line indented like the surrounding block
    /// (e.g. the next key), the real problem is most likely the unclosed bracket on the opening line.
    func flowError(_ message: String, open: Int, unterminated: String) -> YAMLError {
        if lines[cl].number != open && lines[cl].indent < flowMinIndent { return fail(open, unterminated) }
        return fail(lines[cl].number, message)
    }

    /// A flow sequence or mapping whose opening bracket is at the cursor; `open` is that line, where errors about
    /// a missing closing bracket are reported.
    mutating func parseFlowCollection() throws(YAMLError) -> JSONValue {
        let open = lines[cl].number
        let isSequence = lines[cl].text[cp] == .lbracket
        try enter(open)
        defer { depth -= 1 }
        cp += 1
        return isSequence ? try parseFlowSequence(open: open) : try parseFlowMapping(open: open)
    }

    /// The entries after a flow sequence's '['.
    mutating func parseFlowSequence(open: Int) throws(YAMLError) -> JSONValue {
        let unterminated = "unterminated flow sequence (missing ']')"
        var items: [JSONValue] = []
        while true {
            try skipFlowSpace(open: open, unterminated: unterminated)
            if lines[cl].text[cp] == .rbracket { cp += 1; return .array(items) }
            items.append(try parseFlowEntry(open: open, unterminated: unterminated, allowPair: true))
            try skipFlowSpace(open: open, unterminated: unterminated)
            switch lines[cl].text[cp] {
            case .comma: cp += 1  // a trailing comma before ']' is allowed
            case .rbracket: cp += 1; return .array(items)
            default: throw flowError("expected ',' or ']' in a flow sequence", open: open, unterminated: unterminated)
            }
        }
    }

    /// The entries after a flow mapping's '{'.
    mutating func parseFlowMapping(open: Int) throws(YAMLError) -> JSONValue {
        let unterminated = "unterminated flow mapping (missing '}')"
        var members = Members()
        while true {
            try skipFlowSpace(open: open, unterminated: unterminated)
            let c = lines[cl].text[cp]
            if c == .rbrace { cp += 1; return .object(members.list) }
            let key: String
            if c == .dquote || c == .squote {
                key = try parseQuoted(minIndent: 0)
            } else if c.isFlowIndicator {
                throw flowError("expected a mapping key", open: open, unterminated: unterminated)
            } else {
                key = String(decoding: try flowPlain(), as: UTF8.self)
            }
            try skipFlowSpace(open: open, unterminated: unterminated)
            var value = JSONValue.null  // `{a, b}` and `{a:}` give null values
            if lines[cl].text[cp] == .colon {
                cp += 1
                try skipFlowSpace(open: open, unterminated: unterminated)
                let v = lines[cl].text[cp]
                if v != .comma && v != .rbrace {
                    value = try parseFlowEntry(open: open, unterminated: unterminated, allowPair: false)
                }
            } else if lines[cl].text[cp] != .comma && lines[cl].text[cp] != .rbrace {
                throw flowError("expected ':' after a flow mapping key", open: open, unterminated: unterminated)
            }
            members.set(key, value)
            try skipFlowSpace(open: open, unterminated: unterminated)
            switch lines[cl].text[cp] {
            case .comma: cp += 1
            case .rbrace: cp += 1; return .object(members.list)
            default: throw flowError("expected ',' or '}' in a flow mapping", open: open, unterminated: unterminated)
            }
        }
    }

    /// One value inside a flow collection; in a sequence `[a: 1]` is a single-pair mapping, as YAML says.
    mutating func parseFlowEntry(open: Int, unterminated: String, allowPair: Bool) throws(YAMLError) -> JSONValue {
        let c = lines[cl].text[cp]
        let key: String
        let value: JSONValue
        switch c {
        case .lbracket, .lbrace: return try parseFlowCollection()
        case .comma, .rbracket, .rbrace:
            throw fail(lines[cl].number, "expected a value, found '\(Character(Unicode.Scalar(c)))'")
        case .dquote, .squote:
            key = try parseQuoted(minIndent: 0)
            value = .string(key)
        default:
            let raw = try flowPlain()
            key = String(decoding: raw, as: UTF8.self)
            value = resolvePlain(raw)
        }
        guard allowPair else { return value }
        try skipFlowSpace(open: open, unterminated: unterminated)
        guard lines[cl].text[cp] == .colon else { return value }
        cp += 1
        try skipFlowSpace(open: open, unterminated: unterminated)
        let next = lines[cl].text[cp]
        if next == .comma || next == .rbracket { return .object([(key, .null)]) }
        return .object([(key, try parseFlowEntry(open: open, unterminated: unterminated, allowPair: false))])
    }

    /// A plain scalar inside a flow collection: it ends at , [ ] { }, at ': ' and at ' #'. It may continue on
    /// the next lines (folded like block plain scalars), which is how emitters wrap long values inside brackets.
    mutating func flowPlain() throws(YAMLError) -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let text = lines[cl].text
            let start = cp
            var i = cp
            while i < text.count {
                let b = text[i]
                if b.isFlowIndicator { break }
                if b == .colon && (i + 1 == text.count || text[i + 1].isBlank || text[i + 1].isFlowIndicator) { break }
                if b == .hash && i > start && text[i - 1].isBlank { break }
                i += 1
            }
            var end = i
            while end > start && text[end - 1].isBlank { end -= 1 }
            out += text[start..<end]
            cp = i
            guard !out.isEmpty else { throw fail(lines[cl].number, "expected a value, found ':'") }
            if i < text.count { return out }
            // End of line: continue if the next non-empty line starts with more scalar text.
            var next = cl + 1
            while next < lines.count && isWhitespaceOnly(lines[next].text) && lines[next].marker == .none { next += 1 }
            guard next < lines.count, lines[next].marker == .none else { return out }
            let nextText = lines[next].text
            let j = skipBlanks(nextText, from: 0)
            guard j < nextText.count, !nextText[j].isFlowIndicator, nextText[j] != .hash,
                  !(nextText[j] == .colon && (j + 1 == nextText.count || nextText[j + 1].isBlank
                      || nextText[j + 1].isFlowIndicator)) else { return out }
            out += next == cl + 1 ? [.space] : [UInt8](repeating: .newline, count: next - cl - 1)
            cl = next
            cp = j
        }
    }
}
