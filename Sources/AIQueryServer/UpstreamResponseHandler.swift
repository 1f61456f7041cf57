import AIQueryCore
import NIOCore
import NIOHTTP1

/// The end of an upstream connection's pipeline: collects one response at a time (head, body up to a cap) and
/// reports it, or why it did not come, to the exchange waiting on it. Runs on the connection's event loop only.
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    /// What a request on this connection came to; whether the connection can carry another; whether any byte of
    /// a response had arrived (a reused connection closed before one is worth a fresh connection).
    typealias Completion = (Result<HTTPResponse, HTTPError>, _ keepAlive: Bool, _ answered: Bool) -> Void

    private var completion: Completion?
    private var limit = 0
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var onBodyPart: (@Sendable ([UInt8]) -> Void)?

    /// The next response read goes to `completion`; the parts of a 2xx body also to `onBodyPart` as they come.
    func expect(maxBodyBytes: Int, onBodyPart: (@Sendable ([UInt8]) -> Void)?, completion: @escaping Completion) {
        self.completion = completion
        self.onBodyPart = onBodyPart
        limit = maxBodyBytes
        head = nil
        body = []
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            // An informational answer (100 Continue) is not the response.
            if received.status.code >= 200 { head = received }
        case .body(let buffer):
            guard head != nil else { return }
            if body.count + buffer.readableBytes > limit {
                finish(.failure(HTTPError(.bodyTooLarge, "response body is larger than \(limit >> 20) MiB")), keepAlive: false)
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
            if let onBodyPart, let head, (200..<300).contains(head.status.code) { onBodyPart(Array(buffer.readableBytesView)) }
        case .end:
            guard let head else { return }
            let headers = head.headers.map { ($0.name, $0.value) }
            finish(.success(HTTPResponse(status: Int(head.status.code), headers: headers, body: body)), keepAlive: head.isKeepAlive)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(Self.closedEarly(answered: head != nil)), keepAlive: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: HTTPError
        switch error as? HTTPParserError {
        case .headerOverflow: failure = HTTPError(.headersTooLarge, "the response's headers are larger than the 80 KB accepted")
        case .invalidEOFState: failure = Self.closedEarly(answered: head != nil)
        default: failure = HTTPError(.other, "the upstream connection failed (\(error))")
        }
        finish(.failure(failure), keepAlive: false)
        context.close(promise: nil)
    }

    /// The connection ended before the response did: before any of it, or part of the way through.
    static func closedEarly(answered: Bool) -> HTTPError {
        answered
            ? HTTPError(.truncatedBody, "the response was cut off (the server closed the connection)")
            : HTTPError(.connectionClosed, "the server closed the connection without a response")
    }

    private func finish(_ result: Result<HTTPResponse, HTTPError>, keepAlive: Bool) {
        guard let completion else { return }
        self.completion = nil
        onBodyPart = nil
        let answered = head != nil
        head = nil
        body = []
        completion(result, keepAlive, answered)
    }
}
