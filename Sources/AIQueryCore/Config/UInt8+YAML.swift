// The parser works on UTF-8 bytes: all the syntax it reads is ASCII, so multi-byte characters pass through untouched.

extension UInt8 {
    static let space: UInt8 = 0x20, tab: UInt8 = 0x09, newline: UInt8 = 0x0A, cr: UInt8 = 0x0D
    static let colon = UInt8(ascii: ":"), hash = UInt8(ascii: "#"), dash = UInt8(ascii: "-"), comma = UInt8(ascii: ",")
    static let dquote = UInt8(ascii: "\""), squote = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\")
    static let lbracket = UInt8(ascii: "["), rbracket = UInt8(ascii: "]"), lbrace = UInt8(ascii: "{"), rbrace = UInt8(ascii: "}")
    var isBlank: Bool { self == .space || self == .tab }
    var isDigit: Bool { self >= 0x30 && self <= 0x39 }
    var isFlowIndicator: Bool { self == .comma || self == .lbracket || self == .rbracket || self == .lbrace || self == .rbrace }
}

func skipBlanks(_ text: [UInt8], from start: Int) -> Int {
    var i = start
    while i < text.count && text[i].isBlank { i += 1 }
    return i
}

func isWhitespaceOnly(_ text: [UInt8]) -> Bool { text.allSatisfy(\.isBlank) }
