import AIQueryCore
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The server's client for plain-HTTP upstreams (a local llama.cpp or vLLM, a loopback model server): HTTP/1.1
/// on the server's own event loop, connections kept alive per host and port. A request read on the loop is
/// answered from it without waking a worker thread — behind a 20 ms upstream, each such wakeup of an idle core was
/// a large part of what the gateway added. Requests to https endpoints go to libcurl on a worker thread.
final class UpstreamClient: AsyncHTTPTransport {
    let loop: any EventLoop
    let maxBodyBytes: Int
    private let pool = ConnectionPool()

    /// Whether a proxy is set for http (as libcurl reads it: `http_proxy` in lower case, `all_proxy` in either):
    /// then every request goes to libcurl, which knows proxies and `no_proxy`.
    private let proxied: Bool

    init(loop: any EventLoop, maxBodyBytes: Int = 64 << 20) {
        self.loop = loop
        self.maxBodyBytes = maxBodyBytes
        proxied = ["http_proxy", "all_proxy", "ALL_PROXY"].contains { !(System.environment($0) ?? "").isEmpty }
    }

    func sends(to url: String) -> Bool { !proxied && UpstreamTarget(url) != nil }

    func send(_ request: HTTPRequest) async -> Result<HTTPResponse, HTTPError> {
        guard let target = UpstreamTarget(request.url) else { return .failure(HTTPError(.other, "not a plain http:// URL")) }
        let promise = loop.makePromise(of: HTTPResponse.self)
        let exchange = UpstreamExchange(request: request, target: target, promise: promise)
        return await withTaskCancellationHandler {
            onLoop { self.start(exchange, reuse: true) }
            do {
                return .success(try await promise.futureResult.get())
            } catch let error as HTTPError {
                return .failure(error)
            } catch {
                return .failure(HTTPError(.other, "\(error)"))
            }
        } onCancel: {
            onLoop { exchange.fail(HTTPError(.cancelled, "cancelled")) }
        }
    }

    /// Runs `work` on the loop: at once when already there (the server's tasks run on it), else queued.
    private func onLoop(_ work: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { work() } else { loop.execute(work) }
    }

    private func start(_ exchange: UpstreamExchange, reuse: Bool) {
        guard !exchange.isDone else { return }
        exchange.armTimeout(on: loop)
        if reuse, let channel = pool.take(exchange.target) {
            run(exchange, on: channel, reused: true)
            return
        }
        let connectTimeout = TimeAmount.nanoseconds(Int64(max(0.001, exchange.request.connectTimeout) * 1e9))
        let connecting = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamResponseHandler())
                }
            }
            .connect(host: exchange.target.host, port: exchange.target.port)
        connecting.whenComplete { result in
            switch result {
            case .success(let channel): self.run(exchange, on: channel, reused: false)
            case .failure(let error): exchange.fail(Self.connectError(error, exchange: exchange))
            }
        }
    }

    private func run(_ exchange: UpstreamExchange, on channel: any Channel, reused: Bool) {
        guard !exchange.isDone, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamResponseHandler.self) else {
            channel.close(promise: nil)
            return
        }
        exchange.channel = channel
        let target = exchange.target
        handler.expect(maxBodyBytes: maxBodyBytes, onBodyPart: exchange.request.onBodyPart) { result, keepAlive, answered in
            exchange.channel = nil
            if case .failure(let error) = result, error.kind == .connectionClosed, reused, !answered, !exchange.isDone {
                // A kept-alive connection the upstream had closed while idle: the request never reached it.
                exchange.cancelTimeout()
                self.start(exchange, reuse: false)
                return
            }
            if case .success = result, keepAlive, channel.isActive, !exchange.isDone {
                self.pool.put(channel, for: target)
            } else {
                channel.close(promise: nil)
            }
            exchange.complete(result)
        }
        let request = exchange.request
        var headers = HTTPHeaders(request.headers)
        headers.replaceOrAdd(name: "Host", value: target.authority)
        headers.replaceOrAdd(name: "User-Agent", value: "aiquery/\(AIQueryVersion.string)")
        headers.replaceOrAdd(name: "Content-Length", value: String(request.body.count))
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: target.path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if !request.body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: request.body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// libcurl's words for the same failures, so a row's error reads the same whichever client sent it.
    static func connectError(_ error: any Error, exchange: UpstreamExchange) -> HTTPError {
        if case ChannelError.connectTimeout = error {
            return HTTPError(.timeout, "could not connect within \(formatSeconds(exchange.request.connectTimeout))")
        }
        if let failure = error as? NIOConnectionError {
            let errors = failure.connectionErrors.map(\.error)
            if errors.isEmpty { return HTTPError(.unresolvedHost, "could not resolve host (\(exchange.target.host))") }
            if errors.allSatisfy({ ($0 as? IOError)?.errnoCode == ECONNREFUSED }) { return HTTPError(.connectionRefused, "connection refused") }
            return HTTPError(.connectionRefused, "could not connect (\(errors[0]))")
        }
        if let failure = error as? IOError, failure.errnoCode == ECONNREFUSED { return HTTPError(.connectionRefused, "connection refused") }
        return HTTPError(.other, "could not connect (\(error))")
    }
}

/// Idle kept-alive connections by target. Touched on the client's loop only (every use is in a closure the loop
/// runs), which is what makes it safe to share.
final class ConnectionPool: @unchecked Sendable {
    private var idle: [UpstreamTarget: [any Channel]] = [:]
    /// Idle connections kept per target; more are closed.
    static let maxIdle = 64

    func take(_ target: UpstreamTarget) -> (any Channel)? {
        while let channel = idle[target]?.popLast() {
            if channel.isActive { return channel }
        }
        return nil
    }

    func put(_ channel: any Channel, for target: UpstreamTarget) {
        var channels = idle[target, default: []].filter(\.isActive)
        guard channels.count < Self.maxIdle else { return channel.close(promise: nil) }
        channels.append(channel)
        idle[target] = channels
    }
}

/// One request to an upstream from start to answer: its deadline, the connection carrying it, and the promise the
/// caller waits on, completed once (by the answer, the deadline or a cancel). Created anywhere, then touched on the
/// client's loop only.
final class UpstreamExchange: @unchecked Sendable {
    let request: HTTPRequest
    let target: UpstreamTarget
    private let promise: EventLoopPromise<HTTPResponse>
    var channel: (any Channel)?
    private var timeout: Scheduled<Void>?
    private(set) var isDone = false

    init(request: HTTPRequest, target: UpstreamTarget, promise: EventLoopPromise<HTTPResponse>) {
        self.request = request
        self.target = target
        self.promise = promise
    }

    /// The whole request — connecting, sending, waiting, reading — ends within its timeout, as with libcurl.
    func armTimeout(on loop: any EventLoop) {
        guard timeout == nil else { return }
        let seconds = request.timeout
        timeout = loop.scheduleTask(in: .nanoseconds(Int64(max(0.001, min(seconds, 86_400)) * 1e9))) {
            self.fail(HTTPError(.timeout, "timed out after \(formatSeconds(seconds))"))
        }
    }

    func cancelTimeout() {
        timeout?.cancel()
        timeout = nil
    }

    func complete(_ result: Result<HTTPResponse, HTTPError>) {
        guard !isDone else { return }
        isDone = true
        cancelTimeout()
        promise.completeWith(result.mapError { $0 as any Error })
    }

    /// Ends the exchange with `error`, closing its connection: a response still on its way is not wanted.
    func fail(_ error: HTTPError) {
        guard !isDone else { return }
        channel?.close(promise: nil)
        channel = nil
        complete(.failure(error))
    }
}
