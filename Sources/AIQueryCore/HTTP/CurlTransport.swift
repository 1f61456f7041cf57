import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Sends requests with libcurl, one blocking call per request on the caller's thread.
///
/// Easy handles are pooled, so connections (and TLS sessions) are reused across rows. The caller's thread is
/// never a Swift concurrency pool thread (it's SQLite's), so blocking here is fine.
public final class HTTPTransport: Sendable {
    /// Upper bound on a response body; a larger body is an error rather than unbounded memory.
    public let maxBodyBytes: Int
    private let idleHandles = Mutex<[CurlHandle]>([])

    public init(maxBodyBytes: Int = 64 << 20) {
        _ = curlGlobalInit
        self.maxBodyBytes = maxBodyBytes
    }

    /// Sends `request`; `isCancelled` is polled a few times a second while waiting.
    public func send(_ request: HTTPRequest, isCancelled: (@Sendable () -> Bool)? = nil) throws(HTTPError) -> HTTPResponse {
        let handle = idleHandles.withLock { $0.popLast()?.raw } ?? curl_easy_init()
        guard let handle else { throw HTTPError(.other, "could not create an HTTP handle") }
        var reusable = false
        defer {
            if reusable {
                idleHandles.withLock { pool in
                    if pool.count < 64 { pool.append(CurlHandle(raw: handle)) } else { curl_easy_cleanup(handle) }
                }
            } else {
                curl_easy_cleanup(handle)
            }
        }
        curl_easy_reset(handle)
        let sink = ResponseSink(limit: maxBodyBytes, isCancelled: isCancelled, onBodyPart: request.onBodyPart)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // libcurl adds "Expect: 100-continue" for large bodies, which costs a round trip: turn it off.
        headerList = curl_slist_append(headerList, "Expect:")
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = request.url.withCString { url in
            request.body.withUnsafeBytes { body in
                errorBuffer.withUnsafeMutableBufferPointer { errorBytes in
                    aiq_curl_setopt_ptr(handle, CURLOPT_URL, url)
                    aiq_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
                    aiq_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBytes.baseAddress)
                    aiq_curl_setopt_ptr(handle, CURLOPT_USERAGENT, "aiquery/\(AIQueryVersion.string)")
                    aiq_curl_setopt_ptr(handle, CURLOPT_ACCEPT_ENCODING, "")
                    aiq_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(max(1, request.timeout * 1000)))
                    aiq_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(max(1, request.connectTimeout * 1000)))
                    aiq_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList)
                    switch request.method {
                    case "GET":
                        aiq_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
                    default:
                        aiq_curl_setopt_long(handle, CURLOPT_POST, 1)
                        aiq_curl_setopt_size(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                        aiq_curl_setopt_ptr(handle, CURLOPT_POSTFIELDS, body.baseAddress ?? UnsafeRawPointer(url))
                        if request.method != "POST" { aiq_curl_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, request.method) }
                    }
                    aiq_curl_setopt_write(handle, curlWriteBody)
                    aiq_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPointer)
                    aiq_curl_setopt_header(handle, curlWriteHeader)
                    aiq_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, sinkPointer)
                    if isCancelled != nil {
                        aiq_curl_setopt_progress(handle, curlProgress)
                        aiq_curl_setopt_ptr(handle, CURLOPT_XFERINFODATA, sinkPointer)
                        aiq_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
                    }
                    return curl_easy_perform(handle)
                }
            }
        }
        withExtendedLifetime(sink) {}
        if code != CURLE_OK {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Self.error(for: code, detail: detail, sink: sink, timeout: request.timeout, handle: handle)
        }
        var status = 0
        aiq_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        reusable = true
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }

    private static func error(
        for code: CURLcode, detail: String, sink: ResponseSink, timeout: Double, handle: UnsafeMutableRawPointer
    ) -> HTTPError {
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if sink.overflowed { return HTTPError(.bodyTooLarge, "response body is larger than \(sink.limit >> 20) MiB") }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(.timeout, "timed out after \(formatSeconds(timeout))")
        case CURLE_COULDNT_CONNECT:
            var osError = 0
            aiq_curl_getinfo_long(handle, CURLINFO_OS_ERRNO, &osError)
            let refused = osError == Int(ECONNREFUSED) || reason.lowercased().contains("refused")
            return HTTPError(.connectionRefused, refused ? "connection refused" : "could not connect (\(reason))")
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPError(.unresolvedHost, "could not resolve host (\(reason))")
        case CURLE_GOT_NOTHING:
            return HTTPError(.connectionClosed, "the server closed the connection without a response")
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR:
            return HTTPError(.truncatedBody, "the response was cut off (\(reason))")
        case CURLE_ABORTED_BY_CALLBACK:
            return HTTPError(.cancelled, "cancelled")
        case CURLE_OUT_OF_MEMORY:
            // What libcurl says when one response header is over its 100 KB limit, the only allocation it refuses here.
            return HTTPError(.headersTooLarge, "a response header is larger than the 100 KB libcurl accepts (\(reason))")
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return HTTPError(.tls, "TLS failed (\(reason))")
        default:
            return HTTPError(.other, reason)
        }
    }
}

/// `1.5 s`, `30 s`: short durations for messages.
public func formatSeconds(_ seconds: Double) -> String {
    guard seconds.isFinite, abs(seconds) < 1e15 else { return "\(seconds) s" }
    if seconds == seconds.rounded() { return "\(Int64(seconds)) s" }
    return "\((seconds * 10).rounded() / 10) s"
}

/// An idle easy handle; only ever used by one thread at a time (taken from and returned to the pool).
private struct CurlHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// libcurl's global set-up is not thread-safe: run it once, lazily, under Swift's one-time initialisation.
private let curlGlobalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

/// Collects one response; only touched by the thread running curl_easy_perform.
private final class ResponseSink {
    let limit: Int
    let isCancelled: (@Sendable () -> Bool)?
    let onBodyPart: (@Sendable ([UInt8]) -> Void)?
    var body: [UInt8] = []
    var headers: [(String, String)] = []
    /// The status of the response being read, from its status line.
    var status = 0
    var overflowed = false

    init(limit: Int, isCancelled: (@Sendable () -> Bool)?, onBodyPart: (@Sendable ([UInt8]) -> Void)?) {
        self.limit = limit
        self.isCancelled = isCancelled
        self.onBodyPart = onBodyPart
    }
}

private let curlWriteBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if sink.body.count + length > sink.limit {
        sink.overflowed = true
        return 0
    }
    let start = sink.body.count
    data.withMemoryRebound(to: UInt8.self, capacity: length) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
    if let onBodyPart = sink.onBodyPart, (200..<300).contains(sink.status) { onBodyPart(Array(sink.body[start...])) }
    return length
}

private let curlWriteHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        sink.headers.removeAll()  // a new response (after 100-continue or a redirect) starts over
        sink.status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        sink.headers.append((name, value))
    }
    return length
}

private let curlProgress: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = {
    context, _, _, _, _ in
    guard let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    return sink.isCancelled?() == true ? 1 : 0
}

extension StringProtocol {
    /// Trims the given characters from both ends (Foundation-free). By Unicode scalars: as Characters, "\r\n" is
    /// one grapheme, so a set written " \t\r\n" would not hold a lone "\n".
    func trimmingCharacters(in set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars
        while let first = view.first, scalars.contains(first) { view.removeFirst() }
        while let last = view.last, scalars.contains(last) { view.removeLast() }
        return String(view)
    }
}
