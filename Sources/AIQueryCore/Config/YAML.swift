/// A small YAML reader for configuration files (MLflow AI Gateway style), written against the Swift stdlib only so
/// the shipped extension stays small. It covers the block and flow styles configs use; it does not aim to be a full
/// YAML 1.2 implementation (no anchors/aliases, tags, complex keys or multiple documents).
///
/// Shape: a pre-pass splits the text into lines (number, indentation, raw text after the indentation), then a
/// recursive-descent parser walks those lines. Block structure is decided per line; flow collections and quoted
/// scalars use a (line, byte) cursor because they may continue on following lines.
public enum YAML {
    /// Parses a YAML document into a JSONValue (mappings → .object in document order, sequences → .array,
    /// plain scalars typed with the YAML 1.2 core schema, quoted scalars always strings).
    public static func parse(_ text: String) throws(YAMLError) -> JSONValue {
        var parser = YAMLParser(text: text)
        return try parser.parseDocument()
    }
}

/// Why a YAML document was rejected, with the 1-based line of the problem.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "line \(line): \(message)" }
}

private extension UInt8 {
    static let space: UInt8 = 0x20, tab: UInt8 = 0x09, newline: UInt8 = 0x0A, cr: UInt8 = 0x0D
    static let colon = UInt8(ascii: ":"), hash = UInt8(ascii: "#"), dash = UInt8(ascii: "-"), comma = UInt8(ascii: ",")
    static let dquote = UInt8(ascii: "\""), squote = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\")
    static let lbracket = UInt8(ascii: "["), rbracket = UInt8(ascii: "]"), lbrace = UInt8(ascii: "{"), rbrace = UInt8(ascii: "}")
    var isBlank: Bool { self == .space || self == .tab }
    var isDigit: Bool { self >= 0x30 && self <= 0x39 }
    var isFlowIndicator: Bool { self == .comma || self == .lbracket || self == .rbracket || self == .lbrace || self == .rbrace }
}

private func skipBlanks(_ text: [UInt8], from start: Int) -> Int {
    var i = start
    while i < text.count && text[i].isBlank { i += 1 }
    return i
}

private func isWhitespaceOnly(_ text: [UInt8]) -> Bool { text.allSatisfy(\.isBlank) }

private struct Line {
    enum Marker { case none, documentStart, documentEnd }
    let number: Int
    var indent: Int        // leading spaces only: tabs never count as indentation in YAML
    var text: [UInt8]      // everything after those spaces, comments included (quotes decide what is a comment)
    var isBlank: Bool      // nothing but whitespace or a comment
    var hasTabIndent: Bool // a tab where indentation is read: an error once the block parser looks at the line
    var marker: Marker     // `---` / `...` in column 0
}

/// Mapping members in document order; a repeated key replaces the earlier value in place (the last one wins).
private struct Members {
    var list: [(String, JSONValue)] = []
    var positions: [String: Int] = [:]  // so huge mappings stay linear

    mutating func set(_ key: String, _ value: JSONValue) {
        if let i = positions[key] {
            list[i].1 = value
        } else {
            positions[key] = list.count
            list.append((key, value))
        }
    }
}

/// How a line reads in block context, decided from its text alone.
private enum LineShape {
    case sequenceItem               // `-` followed by a blank or the end of the line
    case mappingKey(colon: Int)     // `key:` / `"key":` followed by a blank or the end; colon is the ':' index
    case other(unterminatedQuote: Bool)
}

private struct YAMLParser {
    var lines: [Line] = []
    var index = 0              // next line for the block parser
    var cl = 0, cp = 0         // cursor (line, byte) for flow collections and quoted scalars
    var flowMinIndent = 0      // lines of a block-context flow collection are expected to be indented this far
    var depth = 0
    let endsWithNewline: Bool
    static let maxDepth = 128  // hostile nesting must not overflow the stack

    init(text: String) {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // byte order mark
        endsWithNewline = bytes.last == .newline
        var start = 0
        var number = 1
        // Splitting on "\n" leaves an empty last piece when the text ends with a newline; it is not a line.
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != .newline { end += 1 }
            var raw = bytes[start..<end]
            if raw.last == .cr { raw = raw.dropLast() }
            let indent = raw.prefix { $0 == .space }.count
            let text = Array(raw.dropFirst(indent))
            let first = text.firstIndex { !$0.isBlank }
            let blank = first.map { text[$0] == .hash } ?? true
            var marker = Line.Marker.none
            if indent == 0 && text.count >= 3 && (text.count == 3 || text[3].isBlank) {
                if text[0..<3].elementsEqual("---".utf8) { marker = .documentStart }
                if text[0..<3].elementsEqual("...".utf8) { marker = .documentEnd }
            }
            lines.append(Line(number: number, indent: indent, text: text, isBlank: blank && marker == .none,
                              hasTabIndent: !blank && text.first == .tab, marker: marker))
            number += 1
            start = end + 1
        }
    }

    func fail(_ line: Int, _ message: String) -> YAMLError { YAMLError(line: line, message: message) }

    func badIndentation(_ line: Line, expected: Int) -> YAMLError {
        fail(line.number, "bad indentation (found \(line.indent) spaces, expected \(max(expected, 0)))")
    }

    mutating func enter(_ line: Int) throws(YAMLError) {
        depth += 1
        if depth > Self.maxDepth { throw fail(line, "nesting is deeper than \(Self.maxDepth) levels") }
    }

    // MARK: Document and block structure

    mutating func parseDocument() throws(YAMLError) -> JSONValue {
        // Prologue: `%` directives and one optional `---`, which may carry the root value on the same line.
        var sawStart = false
        while let i = skipBlankLines() {
            let line = lines[i]
            if line.marker == .documentStart {
                if sawStart { throw fail(line.number, "multiple documents are not supported") }
                sawStart = true
                let rest = skipBlanks(line.text, from: 3)
                if rest < line.text.count && line.text[rest] != .hash {
                    lines[i] = Line(number: line.number, indent: rest, text: Array(line.text[rest...]), isBlank: false,
                                    hasTabIndent: false, marker: .none)
                    break
                }
                index += 1
            } else if line.marker == .none && line.indent == 0 && line.text.first == UInt8(ascii: "%") && !sawStart {
                index += 1
            } else {
                break
            }
        }
        guard let first = try nextContent() else {
            try finishDocument(rootIndent: 0)
            return .null
        }
        let rootIndent = lines[first].indent
        let root = try parseBlockNode(parent: -1)
        try finishDocument(rootIndent: rootIndent)
        return root
    }

    /// After the root value only blank lines, comments and a `...` may follow.
    mutating func finishDocument(rootIndent: Int) throws(YAMLError) {
        guard let i = skipBlankLines() else { return }
        let line = lines[i]
        switch line.marker {
        case .documentStart:
            throw fail(line.number, "multiple documents are not supported")
        case .documentEnd:
            index += 1
            if let j = skipBlankLines() { throw fail(lines[j].number, "multiple documents are not supported") }
        case .none:
            if line.hasTabIndent { throw fail(line.number, "tabs are not allowed for indentation") }
            if line.indent < rootIndent { throw badIndentation(line, expected: rootIndent) }
            throw fail(line.number, "unexpected content after the top-level value")
        }
    }

    mutating func skipBlankLines() -> Int? {
        while index < lines.count && lines[index].isBlank { index += 1 }
        return index < lines.count ? index : nil
    }

    /// The next line that carries block content, or nil at the end or at a document marker (both end every block).
    mutating func nextContent() throws(YAMLError) -> Int? {
        guard let i = skipBlankLines(), lines[i].marker == .none else { return nil }
        if lines[i].hasTabIndent { throw fail(lines[i].number, "tabs are not allowed for indentation") }
        return i
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
            let value = line.text[pos] == .lbracket ? try parseFlowSequence() : try parseFlowMapping()
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

    // MARK: Block scalars (| and >)

    mutating func parseBlockScalar(at pos: Int, parent n: Int) throws(YAMLError) -> String {
        let header = lines[index]
        let text = header.text
        let folded = text[pos] == UInt8(ascii: ">")
        var chomp: UInt8? = nil      // "-" strip, "+" keep, nil clip
        var explicitIndent: Int? = nil
        var i = pos + 1
        while i < text.count && !text[i].isBlank {
            let b = text[i]
            if (b == .dash || b == UInt8(ascii: "+")) && chomp == nil {
                chomp = b
            } else if b >= UInt8(ascii: "1") && b <= UInt8(ascii: "9") && explicitIndent == nil {
                explicitIndent = Int(b - UInt8(ascii: "0"))
            } else {
                throw fail(header.number, "invalid block scalar header")
            }
            i += 1
        }
        i = skipBlanks(text, from: i)
        if i < text.count && text[i] != .hash { throw fail(header.number, "invalid block scalar header") }
        index += 1

        // Content indentation: explicit, or that of the first non-empty line (which must be deeper than the owner);
        // with no content, leading all-space lines decide it, as in PyYAML.
        var contentIndent = n + 1
        if let d = explicitIndent {
            contentIndent = max(n, 0) + d
        } else {
            var j = index
            while j < lines.count && isWhitespaceOnly(lines[j].text) && lines[j].marker == .none {
                contentIndent = max(contentIndent, lines[j].indent)
                j += 1
            }
            if j < lines.count && lines[j].indent > n && lines[j].marker == .none { contentIndent = lines[j].indent }
        }

        var out: [UInt8] = []
        var pendingEmpty = 0
        var previousMoreIndented: Bool? = nil  // nil until the first text line
        var lastLineHasBreak = false
        while index < lines.count {
            let l = lines[index]
            if l.marker != .none { break }
            // An empty line, unless it has blanks beyond the content indentation (those are content).
            let blankLine = isWhitespaceOnly(l.text)
            if blankLine && (l.indent < contentIndent || (l.indent == contentIndent && l.text.isEmpty)) {
                pendingEmpty += 1
                index += 1
                continue
            }
            if !blankLine && l.indent < contentIndent { break }
            let content = [UInt8](repeating: .space, count: l.indent - contentIndent) + l.text
            let moreIndented = content.first?.isBlank ?? false
            if let previous = previousMoreIndented {
                // Folding joins adjacent ordinary lines with a space; empty lines and more-indented lines keep breaks.
                if folded && !previous && !moreIndented {
                    out += pendingEmpty == 0 ? [.space] : [UInt8](repeating: .newline, count: pendingEmpty)
                } else {
                    out += [UInt8](repeating: .newline, count: pendingEmpty + 1)
                }
            } else {
                out += [UInt8](repeating: .newline, count: pendingEmpty)
            }
            out += content
            previousMoreIndented = moreIndented
            pendingEmpty = 0
            lastLineHasBreak = index + 1 < lines.count || endsWithNewline
            index += 1
        }
        // Chomping: clip keeps the final line break, strip drops it, keep also keeps trailing empty lines.
        if previousMoreIndented != nil && chomp != .dash && lastLineHasBreak { out.append(.newline) }
        if chomp == UInt8(ascii: "+") { out += [UInt8](repeating: .newline, count: pendingEmpty) }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Flow collections and quoted scalars (cursor-based, may span lines)

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

    mutating func parseFlowSequence() throws(YAMLError) -> JSONValue {
        let open = lines[cl].number
        let unterminated = "unterminated flow sequence (missing ']')"
        try enter(open)
        defer { depth -= 1 }
        cp += 1
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

    mutating func parseFlowMapping() throws(YAMLError) -> JSONValue {
        let open = lines[cl].number
        let unterminated = "unterminated flow mapping (missing '}')"
        try enter(open)
        defer { depth -= 1 }
        cp += 1
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
        case .lbracket: return try parseFlowSequence()
        case .lbrace: return try parseFlowMapping()
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

    /// A single- or double-quoted scalar at the cursor. Line breaks inside fold to a space (empty lines to "\n");
    /// in block context continuation lines must be indented at least `minIndent`, so a missing closing quote is
    /// reported on its own line instead of swallowing the rest of the file.
    mutating func parseQuoted(minIndent: Int) throws(YAMLError) -> String {
        let open = lines[cl].number
        let quote = lines[cl].text[cp]
        cp += 1
        var out: [UInt8] = []
        var blanks: [UInt8] = []  // literal blanks, dropped if the line ends before more text
        while true {
            let text = lines[cl].text
            guard cp < text.count else {
                blanks.removeAll()
                try foldQuotedBreak(into: &out, escaped: false, open: open, minIndent: minIndent)
                continue
            }
            let b = text[cp]
            if b.isBlank { blanks.append(b); cp += 1; continue }
            out += blanks
            blanks.removeAll()
            if b == quote {
                if quote == .squote && cp + 1 < text.count && text[cp + 1] == .squote { out.append(.squote); cp += 2; continue }
                cp += 1
                return String(decoding: out, as: UTF8.self)
            }
            if quote == .dquote && b == .backslash {
                if cp + 1 >= text.count {  // an escaped line break joins the lines without a space
                    cp = text.count
                    try foldQuotedBreak(into: &out, escaped: true, open: open, minIndent: minIndent)
                } else {
                    try parseEscape(text, into: &out)
                }
                continue
            }
            out.append(b)
            cp += 1
        }
    }

    mutating func foldQuotedBreak(into out: inout [UInt8], escaped: Bool, open: Int, minIndent: Int) throws(YAMLError) {
        var emptyLines = 0
        while true {
            cl += 1
            cp = 0
            guard cl < lines.count, lines[cl].marker == .none else { throw fail(open, "unterminated quoted string") }
            if isWhitespaceOnly(lines[cl].text) { emptyLines += 1; continue }
            if lines[cl].indent < minIndent { throw fail(open, "unterminated quoted string") }
            break
        }
        cp = skipBlanks(lines[cl].text, from: 0)
        if emptyLines > 0 {
            out += [UInt8](repeating: .newline, count: emptyLines)
        } else if !escaped {
            out.append(.space)
        }
    }

    /// A double-quoted escape at text[cp] (the backslash); cp + 1 is in range.
    mutating func parseEscape(_ text: [UInt8], into out: inout [UInt8]) throws(YAMLError) {
        let line = lines[cl].number
        let e = text[cp + 1]
        cp += 2
        var scalar: UInt32
        switch Character(Unicode.Scalar(e)) {
        case "0": scalar = 0
        case "a": scalar = 7
        case "b": scalar = 8
        case "t", "\t": scalar = 9
        case "n": scalar = 10
        case "v": scalar = 11
        case "f": scalar = 12
        case "r": scalar = 13
        case "e": scalar = 0x1B
        case " ", "\"", "/", "\\": scalar = UInt32(e)
        case "N": scalar = 0x85
        case "_": scalar = 0xA0
        case "L": scalar = 0x2028
        case "P": scalar = 0x2029
        case "x": scalar = try readHex(text, digits: 2)
        case "U": scalar = try readHex(text, digits: 8)
        case "u":
            scalar = try readHex(text, digits: 4)
            // JSON-style surrogate pairs (\uD83D\uDE00), common in pasted strings.
            if (0xD800...0xDBFF).contains(scalar) && cp + 1 < text.count && text[cp] == .backslash
                && text[cp + 1] == UInt8(ascii: "u") {
                let saved = cp
                cp += 2
                let low = try readHex(text, digits: 4)
                if (0xDC00...0xDFFF).contains(low) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    cp = saved
                }
            }
        default:
            let shown = e < 0x80 ? "\\\(Character(Unicode.Scalar(e)))" : "\\ followed by a non-ASCII character"
            throw fail(line, "invalid escape sequence '\(shown)' in a double-quoted string")
        }
        guard let s = Unicode.Scalar(scalar) else { throw fail(line, "invalid Unicode escape in a double-quoted string") }
        Unicode.UTF8.encode(s) { out.append($0) }
    }

    mutating func readHex(_ text: [UInt8], digits: Int) throws(YAMLError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard cp < text.count, let digit = Int(String(Unicode.Scalar(text[cp])), radix: 16) else {
                throw fail(lines[cl].number, "invalid hexadecimal escape in a double-quoted string")
            }
            value = value << 4 | UInt32(digit)
            cp += 1
        }
        return value
    }
}

// MARK: Scalar typing (YAML 1.2 core schema)

/// Types a plain scalar: null, bool, integer (decimal, 0x, 0o), float, or string.
private func resolvePlain(_ bytes: [UInt8]) -> JSONValue {
    let s = String(decoding: bytes, as: UTF8.self)
    switch s {
    case "", "~", "null", "Null", "NULL": return .null
    case "true", "True", "TRUE": return .bool(true)
    case "false", "False", "FALSE": return .bool(false)
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
    case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
    case ".nan", ".NaN", ".NAN": return .double(.nan)
    default: break
    }
    let unsigned = bytes.first == .dash || bytes.first == UInt8(ascii: "+") ? bytes.dropFirst() : bytes[...]
    if !unsigned.isEmpty && unsigned.allSatisfy(\.isDigit) {
        if let value = Int64(s) { return .integer(value) }
        if let value = Double(s) { return .double(value) }  // too large for Int64: still a number
    }
    if bytes.count > 2 && bytes[0] == UInt8(ascii: "0") {
        let radix = bytes[1] == UInt8(ascii: "x") ? 16 : bytes[1] == UInt8(ascii: "o") ? 8 : 0
        if radix != 0, bytes[2] != .dash, bytes[2] != UInt8(ascii: "+"),
           let value = Int64(String(s.dropFirst(2)), radix: radix) {
            return .integer(value)
        }
    }
    if isCoreFloat(bytes), let value = Double(s) { return .double(value) }
    return .string(s)
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` — checked by hand because Double(_:)
/// alone would also accept "inf", "nan" and hex floats, which are strings here.
private func isCoreFloat(_ b: [UInt8]) -> Bool {
    var i = 0
    func digits() -> Int {
        let start = i
        while i < b.count && b[i].isDigit { i += 1 }
        return i - start
    }
    if i < b.count && (b[i] == .dash || b[i] == UInt8(ascii: "+")) { i += 1 }
    var count = digits()
    if i < b.count && b[i] == UInt8(ascii: ".") {
        i += 1
        count += digits()
    }
    guard count > 0 else { return false }
    if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
        i += 1
        if i < b.count && (b[i] == .dash || b[i] == UInt8(ascii: "+")) { i += 1 }
        guard digits() > 0 else { return false }
    }
    return i == b.count
}
