/// The decoded bytes of one answer. Pieces are passed on as whole UTF-8 characters (a token may end
/// mid-character), and never a byte of a stop sequence: the tail that could be the start of one is held back until
/// the next token shows it is not.
final class PieceSink {
    let onPiece: ((String) -> Void)?
    private let stops: [[UInt8]]
    private let holdBack: Int
    private var bytes: [UInt8] = []
    private var sent = 0
    /// A stop sequence came: the answer ends before it.
    private(set) var hitStop = false

    init(onPiece: ((String) -> Void)?, stops: [String] = []) {
        self.onPiece = onPiece
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
        holdBack = max(0, (self.stops.map(\.count).max() ?? 0) - 1)
    }

    /// Takes a token's text; false once a stop sequence has appeared (the answer is complete).
    func take(_ piece: UnsafeRawBufferPointer) -> Bool {
        let searchFrom = max(0, bytes.count - holdBack)
        bytes.append(contentsOf: piece)
        if let cut = firstStop(from: searchFrom) {
            bytes.removeSubrange(cut...)
            hitStop = true
            return false
        }
        if let onPiece {
            let whole = Self.wholeCharacters(bytes, upTo: bytes.count - holdBack, from: sent)
            if whole > sent {
                onPiece(String(decoding: bytes[sent..<whole], as: UTF8.self))
                sent = whole
            }
        }
        return true
    }

    /// The whole answer; what was held back goes to `onPiece` now.
    func finish() -> String {
        if let onPiece, sent < bytes.count { onPiece(String(decoding: bytes[sent...], as: UTF8.self)) }
        sent = bytes.count
        return String(decoding: bytes, as: UTF8.self)
    }

    private func firstStop(from start: Int) -> Int? {
        var best: Int?
        for stop in stops where bytes.count >= stop.count {
            var index = max(0, min(start, bytes.count - stop.count))
            while index + stop.count <= bytes.count {
                if bytes[index] == stop[0], bytes[index..<index + stop.count].elementsEqual(stop) {
                    best = min(best ?? index, index)
                    break
                }
                index += 1
            }
        }
        return best
    }

    /// The end of the last whole UTF-8 character in `bytes[..<limit]`, at least `start`.
    static func wholeCharacters(_ bytes: [UInt8], upTo limit: Int, from start: Int) -> Int {
        var end = min(limit, bytes.count)
        guard end > start else { return start }
        // Step back over continuation bytes to the character's lead byte, and keep it only if it is complete.
        var lead = end - 1
        while lead > start, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        let first = bytes[lead]
        let length = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
        if lead + length > end { end = lead }
        return max(start, end)
    }
}

