import AIQueryCore
import Synchronization

/// The credentials the server accepts: its personal access token, and OAuth tokens it issued from its client id and
/// secret, each valid until it expires.
final class AccessTokens: Sendable {
    private let token: String
    private let clientID: String
    private let clientSecret: String
    private let lifetime: Double
    private let issued = Mutex<[String: Double]>([:])

    init(options: ServeOptions) {
        token = options.token
        clientID = options.clientID
        clientSecret = options.clientSecret
        lifetime = options.oauthTokenLifetime
    }

    /// Whether an `Authorization` header carries an accepted credential: `Bearer <PAT or issued token>` or
    /// `Basic base64(<any user>:<PAT>)`.
    func accepts(authorization: String?) -> Bool {
        guard let authorization else { return false }
        if let bearer = authorization.dropPrefix("Bearer ") ?? authorization.dropPrefix("bearer ") {
            let presented = bearer.trimmed()
            if constantTimeEquals(presented, token) { return true }
            let now = System.monotonicSeconds()
            return issued.withLock { tokens in
                tokens = tokens.filter { $0.value > now }
                return tokens[presented] != nil
            }
        }
        if let basic = authorization.dropPrefix("Basic ") ?? authorization.dropPrefix("basic "),
            let decoded = Base64.decode(basic.trimmed()), let pair = String(validating: decoded, as: UTF8.self),
            let (_, password) = pair.splitOnce(":")
        {
            return constantTimeEquals(password, token)
        }
        return false
    }

    /// A fresh OAuth token for the client credentials in a Basic header or the form, or nil.
    func issue(authorization: String?, form: [String: String]) -> (token: String, lifetime: Double)? {
        var id = form["client_id"], secret = form["client_secret"]
        if let basic = authorization?.dropPrefix("Basic "), let decoded = Base64.decode(basic.trimmed()),
            let pair = String(validating: decoded, as: UTF8.self), let (user, password) = pair.splitOnce(":")
        {
            id = user.removingPercentEncoding
            secret = password.removingPercentEncoding
        }
        guard let id, let secret, constantTimeEquals(id, clientID), constantTimeEquals(secret, clientSecret) else { return nil }
        let fresh = "aiq-oauth-" + randomHex(24)
        let expires = System.monotonicSeconds() + lifetime
        issued.withLock { $0[fresh] = expires }
        return (fresh, lifetime)
    }

    /// Every secret the server holds, for the redactor of its logs and error texts.
    var secrets: [String] { [token, clientSecret] }
}

/// Compares without stopping at the first difference, so response times say nothing about the token.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    for index in 0..<max(x.count, y.count) {
        difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
    }
    return difference == 0
}

/// Hex of `count` random bytes from the kernel.
func randomHex(_ count: Int) -> String { System.hex(System.randomBytes(count)) }

extension String {
    func dropPrefix(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }

    /// `%2F` → `/` and `+` → space, as in form bodies.
    var removingPercentEncoding: String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
