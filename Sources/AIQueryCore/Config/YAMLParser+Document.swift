// The document around the root value: `%` directives, `---` / `...` markers, and what may follow the root.
extension YAMLParser {
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
}
