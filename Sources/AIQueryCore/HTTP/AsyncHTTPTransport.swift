/// Sends requests without blocking a thread: a server's client on its own event loop. It may carry only some
/// URLs (plain `http://`, say); requests to the others go to ``HTTPTransport`` on a worker thread.
public protocol AsyncHTTPTransport: Sendable {
    /// Whether requests to `url` can be sent by this transport.
    func sends(to url: String) -> Bool
    /// The response, or why there is none. Cancelling the task ends the request (`.cancelled`).
    func send(_ request: HTTPRequest) async -> Result<HTTPResponse, HTTPError>
}
