/// One HTTP request, built by a provider and sent by ``HTTPTransport``.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Whole-request deadline in seconds (connect + send + wait + receive).
    public var timeout: Double
    public var connectTimeout: Double
    /// Gets the body of a 2xx response part by part as it arrives (a streamed answer), on the transport's thread;
    /// the response still carries the whole body at the end.
    public var onBodyPart: (@Sendable ([UInt8]) -> Void)?

    public init(
        method: String = "POST", url: String, headers: [(String, String)] = [], body: [UInt8] = [],
        timeout: Double = 300, connectTimeout: Double = 10
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = min(connectTimeout, timeout)
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// First header with this name, case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0.lowercased() == wanted }?.1
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A transport failure: no HTTP status was received, or the body could not be read completely.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case timeout, connectionRefused, unresolvedHost, connectionClosed, truncatedBody, bodyTooLarge, headersTooLarge, tls, cancelled
        case other
    }

    public var kind: Kind
    /// Human-readable detail, never containing headers (keys live there).
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
