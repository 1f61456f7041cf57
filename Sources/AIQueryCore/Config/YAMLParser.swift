/// Reads one YAML document. A pre-pass (init) splits the text into lines (number, indentation, raw text after
/// the indentation), then a recursive-descent parser walks those lines. Block structure is decided per line;
/// flow collections and quoted scalars use a (line, byte) cursor because they may continue on following lines.
/// The parsing itself lives in the extensions: +Document, +Block, +BlockScalar, +Flow, +Quoted.
struct YAMLParser {
    var lines: [Line] = []
    var index = 0              // next line for the block parser
    var cl = 0, cp = 0         // cursor (line, byte) for flow collections and quoted scalars
    var flowMinIndent = 0      // lines of a block-context flow collection are expected to be indented this far
    var depth = 0
    let endsWithNewline: Bool
    static let maxDepth = 128  // hostile nesting must not overflow the stack

    struct Line {
        enum Marker { case none, documentStart, documentEnd }
        let number: Int
        var indent: Int        // leading spaces only: tabs never count as indentation in YAML
        var text: [UInt8]      // everything after those spaces, comments included (quotes decide what is a comment)
        var isBlank: Bool      // nothing but whitespace or a comment
        var hasTabIndent: Bool // a tab where indentation is read: an error once the block parser looks at the line
        var marker: Marker     // `---` / `...` in column 0
    }

    /// Mapping members in document order; a repeated key replaces the earlier value in place (the last one wins).
    struct Members {
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
}
