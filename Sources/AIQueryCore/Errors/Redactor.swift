/// Removes a request's secrets from text that came back from upstream (error bodies, raw answers), so no key ever
/// reaches an error message, a table or the cache, even when an upstream echoes the request's headers.
public struct Redactor: Sendable {
    /// Secrets shorter than this are not searched for: replacing every "a" would destroy the message, and so short
    /// a value is no secret worth the name.
    static let shortest = 4
    public static let mask = "[REDACTED]"

    private let secrets: [String]

    public init(secrets: [String]) {
        self.secrets = secrets.filter { $0.utf8.count >= Self.shortest }.sorted { $0.utf8.count > $1.utf8.count }
    }

    public var isEmpty: Bool { secrets.isEmpty }

    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        // Searched as bytes: String's search compares Characters, and a key followed by a combining mark
        // ("sk-…\u{301}") is not a Character match, yet its bytes are all there.
        let bytes = Array(text.utf8)
        let clean = redact(bytes)
        return clean == bytes ? text : String(decoding: clean, as: UTF8.self)
    }

    public func redact(_ bytes: [UInt8]) -> [UInt8] {
        guard !secrets.isEmpty else { return bytes }
        var result = bytes
        for secret in secrets {
            let needle = Array(secret.utf8)
            guard result.containsSubsequence(needle) else { continue }
            result = result.replacingAll(needle, with: Array(Self.mask.utf8))
        }
        return result
    }

    /// How many bytes at the end of `text` could be the start of a secret: a streamed answer holds them back until
    /// the next piece shows whether a secret follows (and is redacted whole) or not.
    public func heldBack(_ text: String) -> Int { heldBack(Array(text.utf8)) }

    public func heldBack(_ bytes: [UInt8]) -> Int {
        guard !secrets.isEmpty else { return 0 }
        var held = 0
        for secret in secrets {
            let needle = Array(secret.utf8)
            var length = min(needle.count - 1, bytes.count)
            while length > held {
                if bytes[(bytes.count - length)...].elementsEqual(needle[..<length]) {
                    held = length
                    break
                }
                length -= 1
            }
        }
        return held
    }

    /// An answer with the secrets taken out of its text (an upstream that echoes the request back).
    public func redact(_ output: ModelOutput) -> ModelOutput {
        guard !secrets.isEmpty else { return output }
        switch output {
        case .text(let text): return .text(redact(text))
        case .embedding: return output
        case .json(let json):
            let text = json.serialized()
            let clean = redact(text)
            return clean == text ? output : ((try? JSONValue.parse(clean)).map { .json($0) } ?? .text(clean))
        }
    }

    /// A URL as messages show it: a password in it (`http://user:pw@host`) and the values of its query
    /// (`?key=…`, where some APIs take their key) become `***`.
    public static func displayURL(_ url: String) -> String {
        var shown = url
        if let credentials = userInfo(of: url), let colon = credentials.firstIndex(of: ":") {
            shown.replaceSubrange(url.index(after: colon)..<credentials.endIndex, with: "***")
        }
        guard let question = shown.firstIndex(of: "?") else { return shown }
        let query = shown[shown.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map { pair in
            pair.firstIndex(of: "=").map { pair[...$0] + "***" } ?? pair
        }
        return String(shown[...question]) + query.joined(separator: "&")
    }

    /// The password of a URL's user info, which must be redacted like a key.
    public static func password(in url: String) -> String? {
        guard let credentials = userInfo(of: url), let colon = credentials.firstIndex(of: ":") else { return nil }
        let password = String(credentials[credentials.index(after: colon)...])
        return password.isEmpty ? nil : password
    }

    /// `user:password` of `scheme://user:password@host/…`.
    private static func userInfo(of url: String) -> Substring? {
        guard let scheme = url.range(ofPrefix: "://") else { return nil }
        let rest = url[scheme...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return nil }
        return rest[..<at]
    }
}

extension AIQueryError {
    /// The same error without the secrets in its message (a parse error quoting an upstream's body, say).
    public func redacted(by redactor: Redactor) -> AIQueryError {
        var copy = self
        copy.message = redactor.redact(message)
        copy.upstreamCode = upstreamCode.map(redactor.redact)
        return copy
    }
}

extension String {
    public func replacingAll(_ target: String, with replacement: String) -> String {
        String(decoding: Array(utf8).replacingAll(Array(target.utf8), with: Array(replacement.utf8)), as: UTF8.self)
    }

    /// The index just after the first occurrence of `marker`.
    func range(ofPrefix marker: String) -> String.Index? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(marker) { return self.index(index, offsetBy: marker.count) }
            index = self.index(after: index)
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        firstIndex(of: needle, from: 0) != nil
    }

    public func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, count >= needle.count else { return nil }
        var index = start
        let first = needle[0]
        while index <= count - needle.count {
            if self[index] == first, self[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    func replacingAll(_ needle: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var index = 0
        while let found = firstIndex(of: needle, from: index) {
            result.append(contentsOf: self[index..<found])
            result.append(contentsOf: replacement)
            index = found + needle.count
        }
        result.append(contentsOf: self[index...])
        return result
    }
}
