/// BERT's uncased tokenizer, matching Hugging Face `tokenizers` (BertNormalizer with lowercasing and accent
/// stripping, BertPreTokenizer, WordPiece), which is what sentence-transformers runs for all-MiniLM-L6-v2.
///
/// Normalisation, per code point: drop NUL, U+FFFD and control, format and private-use characters (but not tab,
/// CR and LF); whitespace becomes a word break; CJK ideographs become words of their own; accents are stripped
/// (NFD, then nonspacing marks removed; see `accentStrippingTable`); then full Unicode lowercasing. Character
/// classes follow Hugging Face's Unicode 8.0 tables (see `huggingFaceCategory`). Checked against the Hugging Face
/// tokenizer on every code point and on thousands of random texts.
/// Words are split at whitespace and around punctuation, then greedily cut into the longest vocabulary pieces
/// (continuations prefixed with `##`); a word longer than 100 characters, or one that cannot be cut, is [UNK].
/// Special tokens typed in the text ("[SEP]", "[MASK]", …) become those tokens, as in Hugging Face.
struct WordPieceTokenizer: Sendable {
    let vocabulary: [String: Int32]
    let unknownID: Int32
    let classID: Int32
    let separatorID: Int32
    /// Token limit including [CLS] and [SEP] (sentence-transformers' max_seq_length, 256 for this model).
    let maxTokens: Int
    /// The longest vocabulary entry in code points, so piece search never tries longer candidates.
    private let longestPiece: Int
    /// [PAD], [UNK], [CLS], [SEP] and [MASK] with their ids: Hugging Face matches these in the raw text.
    private let specialTokens: [([Unicode.Scalar], Int32)]
    static let maxCharactersPerWord = 100

    /// `vocabularyText` is vocab.txt: one token per line, the line number (from 0) being its id.
    init(vocabularyText: [UInt8], maxTokens: Int = 256) throws(AIQueryError) {
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(32768)
        var longest = 0
        var lineStart = 0
        var id: Int32 = 0
        for i in 0...vocabularyText.count where i == vocabularyText.count || vocabularyText[i] == UInt8(ascii: "\n") {
            var end = i
            if end > lineStart, vocabularyText[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if i < vocabularyText.count || end > lineStart {
                let token = String(decoding: vocabularyText[lineStart..<end], as: UTF8.self)
                vocabulary[token] = id
                longest = max(longest, token.unicodeScalars.count)
                id += 1
            }
            lineStart = i + 1
        }
        guard let unknown = vocabulary["[UNK]"], let cls = vocabulary["[CLS]"], let sep = vocabulary["[SEP]"] else {
            throw AIQueryError(.invalidConfiguration, "vocab.txt lacks [UNK], [CLS] or [SEP]")
        }
        self.vocabulary = vocabulary
        self.unknownID = unknown
        self.classID = cls
        self.separatorID = sep
        self.maxTokens = max(maxTokens, 2)
        self.longestPiece = longest
        self.specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary[token].map { (Array(token.unicodeScalars), $0) }
        }
    }

    /// Token ids: [CLS], the word pieces (cut to `maxTokens - 2`), [SEP].
    func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [classID]
        let pieceLimit = maxTokens - 1
        var word: [Unicode.Scalar] = []
        var normalized: [Unicode.Scalar] = []
        word.reserveCapacity(32)

        // Returns false once the token limit is reached, so a huge text stops being read early.
        func endWord() -> Bool {
            if !word.isEmpty {
                appendPieces(of: word, to: &ids, limit: pieceLimit)
                word.removeAll(keepingCapacity: true)
            }
            return ids.count < pieceLimit
        }

        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        scan: while index < scalars.endIndex {
            let scalar = scalars[index]
            scalars.formIndex(after: &index)
            // Special tokens written in the text are taken as themselves, before any normalisation.
            if scalar == "[",
               let (special, id) = specialTokens.first(where: { scalars[index...].starts(with: $0.0.dropFirst()) }) {
                if !endWord() { break scan }
                ids.append(id)
                index = scalars.index(index, offsetBy: special.count - 1)
                continue
            }
            normalized.removeAll(keepingCapacity: true)
            guard let placement = Self.normalize(scalar, into: &normalized) else { continue }
            if placement == .isolated, !endWord() { break scan }
            for piece in normalized {
                if Self.isWhitespace(piece) {
                    if !endWord() { break scan }
                } else if Self.isPunctuation(piece) {
                    if !endWord() { break scan }
                    word.append(piece)
                    if !endWord() { break scan }
                } else {
                    word.append(piece)
                }
            }
            if placement == .isolated, !endWord() { break scan }
        }
        _ = endWord()
        if ids.count > pieceLimit { ids.removeSubrange(pieceLimit...) }
        ids.append(separatorID)
        return ids
    }

    /// Greedy longest-match-first WordPiece for one word; pieces past `limit` are cut, as truncation does.
    private func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int32], limit: Int) {
        guard word.count <= Self.maxCharactersPerWord else {
            ids.append(unknownID)
            return
        }
        // A word is [UNK] as a whole if any part fails, so cut pieces only once the word is done.
        let firstPiece = ids.count
        defer { if ids.count > limit { ids.removeSubrange(limit...) } }
        var start = 0
        var candidate = ""
        while start < word.count {
            var end = min(word.count, start + longestPiece)
            var found: Int32?
            while end > start {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate += "##" }
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeSubrange(firstPiece...)
                ids.append(unknownID)
                return
            }
            ids.append(id)
            start = end
        }
    }

    // MARK: - Normalisation of one code point

    enum Placement { case inline, isolated }

    /// Appends what `scalar` becomes after cleaning, accent stripping and lowercasing; nil when it is dropped.
    /// `.isolated` marks CJK ideographs, which BERT surrounds with spaces.
    static func normalize(_ scalar: Unicode.Scalar, into output: inout [Unicode.Scalar]) -> Placement? {
        let value = scalar.value
        if value < 0x80 {  // ASCII fast path: controls other than tab/LF/CR are dropped.
            if value < 0x20 || value == 0x7F {
                guard value == 0x09 || value == 0x0A || value == 0x0D else { return nil }
                output.append(" ")
            } else if value >= 0x41 && value <= 0x5A {
                output.append(Unicode.Scalar(UInt8(value + 0x20)))
            } else {
                output.append(scalar)
            }
            return .inline
        }
        if value == 0xFFFD { return nil }
        switch huggingFaceCategory(scalar) {
        case .control, .format, .privateUse: return nil
        case .nonspacingMark: return nil  // accent stripping removes Mn after NFD
        default: break
        }
        let properties = scalar.properties
        if properties.isWhitespace {
            output.append(" ")
            return .inline
        }
        let isolated = isCJKIdeograph(value)
        let start = output.count
        if value >= 0xAC00 && value <= 0xD7A3 {
            appendHangulJamo(value, to: &output)
        } else if properties.age.map({ $0.major <= 8 }) ?? false, let stripped = accentStripping[value] {
            // (Hugging Face does not decompose characters added later, such as U+11938.)
            output.append(contentsOf: stripped)
        } else {
            output.append(scalar)
        }
        var i = start
        while i < output.count {
            let piece = output[i]
            if piece.properties.changesWhenLowercased {
                let lower = Array(piece.properties.lowercaseMapping.unicodeScalars)
                output.replaceSubrange(i...i, with: lower)
                i += lower.count
            } else {
                i += 1
            }
        }
        return isolated ? .isolated : (start == output.count ? nil : .inline)
    }

    /// The Unicode formula for a precomposed Hangul syllable: leading consonant, vowel, optional trailing consonant.
    private static func appendHangulJamo(_ value: UInt32, to output: inout [Unicode.Scalar]) {
        let index = value - 0xAC00
        output.append(Unicode.Scalar(0x1100 + index / 588)!)
        output.append(Unicode.Scalar(0x1161 + (index % 588) / 28)!)
        if index % 28 != 0 { output.append(Unicode.Scalar(0x11A7 + index % 28)!) }
    }

    /// The ranges BERT treats as Chinese characters (CJK Unified Ideographs and extensions, compatibility forms).
    /// 0x2B920 rather than Google BERT's 0x2B820 as Hugging Face tokenizers has it, since that is what runs.
    static func isCJKIdeograph(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// The general category Hugging Face tokenizers sees, or nil for a character it does not know. It classifies
    /// characters (control, format, private use, nonspacing mark, punctuation) with tables from Unicode 8.0 and
    /// leaves characters unassigned there alone: they stay in words, usually as [UNK]. The standard library
    /// knows a newer Unicode, so characters assigned later must not be classified, and the few whose category
    /// changed since 8.0 get their old one back; otherwise text with them would be tokenized differently.
    static func huggingFaceCategory(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory? {
        switch scalar.value {
        case 0x1734, 0x1171E: return .nonspacingMark  // spacing marks (Mc) now
        case 0x1885, 0x1886, 0xA9BD: return .spacingMark  // nonspacing marks (Mn) now; anything but Mn will do
        case 0x166D, 0x111C9: return .otherPunctuation  // a symbol and a nonspacing mark now
        default: break
        }
        let properties = scalar.properties
        guard let age = properties.age, age.major < 8 || (age.major == 8 && age.minor == 0) else { return nil }
        return properties.generalCategory
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v == 0x20 || (0x09...0x0D).contains(v) || (v >= 0x80 && scalar.properties.isWhitespace)
    }

    /// ASCII punctuation (which includes symbols such as `$`, `+`, `^`) or any Unicode P* category.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 {
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        switch huggingFaceCategory(scalar) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// `accentStrippingTable` parsed once: code point to the code points left after NFD minus nonspacing marks.
    static let accentStripping: [UInt32: [Unicode.Scalar]] = {
        var table: [UInt32: [Unicode.Scalar]] = [:]
        table.reserveCapacity(2100)
        for entry in accentStrippingTable.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let (key, value) = String(entry).splitOnce(":"), let code = UInt32(key, radix: 16) else { continue }
            table[code] = value.split(separator: ".").compactMap { UInt32($0, radix: 16).flatMap(Unicode.Scalar.init) }
        }
        return table
    }()
}
