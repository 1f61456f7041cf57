// Single- and double-quoted scalars, read with the (cl, cp) cursor because they may span lines.
extension YAMLParser {
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
