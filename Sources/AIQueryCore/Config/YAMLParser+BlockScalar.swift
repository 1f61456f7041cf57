// Literal (|) and folded (>) block scalars.
extension YAMLParser {
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
}
