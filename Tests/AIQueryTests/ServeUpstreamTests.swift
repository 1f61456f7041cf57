import AIQueryTestSupport
import Foundation
import Testing

/// `aiquery serve`'s own client for plain-HTTP upstreams (on its event loop): connections kept alive and
/// replaced when the upstream closed them, chunked answers, and failures worded as the SQL extension words them.
@Suite("aiquery serve's upstream client")
struct ServeUpstreamTests {
    static let token = "dapi-test-serve-upstream-5151"
    let upstream: MockServer
    let shell: Shell

    init() throws {
        let upstream = try MockServer()
        self.upstream = upstream
        var shell = try Shell(cacheInHome: true)
        shell.environment["AIQUERY_CONFIG"] = try shell.write(
            "endpoints.yaml",
            "endpoints:\n" + openAIEndpointEntry("chat", base: upstream.baseURL)
                + openAIEndpointEntry("once", base: upstream.baseURL, extra: "    max_retries: 0\n")
                + openAIEndpointEntry("nowhere", base: "http://127.0.0.1:1", extra: "    max_retries: 0\n"))
        shell.environment["AIQUERY_SERVE_TOKEN"] = Self.token
        self.shell = shell
    }

    func ask(_ server: ServeProcess, _ endpoint: String, _ prompt: String) throws -> CurlResult {
        let body = #"{"messages":[{"role":"user","content":"\#(prompt)"}]}"#
        return try curl(
            ["-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: application/json", "--data-binary", body,
             server.baseURL + "/serving-endpoints/\(endpoint)/invocations"], in: shell.home)
    }

    func content(_ result: CurlResult) -> String? {
        ((result.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
    }

    @Test func requestsOneAfterAnotherShareOneConnection() throws {
        let server = try ServeProcess(home: shell.home, environment: shell.environment)
        for index in 1...5 { #expect(content(try ask(server, "chat", "keep-alive \(index)")) == "echo: keep-alive \(index)") }
        let ports = Set(try upstream.requests().compactMap { $0["peer_port"] as? Int })
        #expect(ports.count == 1, "\(ports)")
    }

    /// The upstream closes a kept-alive connection after answering, without saying so: the next request must
    /// not fail for it, but go out on a new connection.
    @Test func aConnectionTheUpstreamClosedIsReplaced() throws {
        let server = try ServeProcess(home: shell.home, environment: shell.environment)
        for index in 1...3 {
            #expect(content(try ask(server, "once", "closes after \(index) [[then_close]]")) == "echo: closes after \(index) [[then_close]]")
        }
        #expect(content(try ask(server, "once", "after the closes")) == "echo: after the closes")
        #expect(Set(try upstream.requests().compactMap { $0["peer_port"] as? Int }).count == 4)
    }

    @Test func aChunkedAnswerIsReadWhole() throws {
        let server = try ServeProcess(home: shell.home, environment: shell.environment)
        #expect(content(try ask(server, "chat", "in two chunks [[chunked]]")) == "echo: in two chunks [[chunked]]")
    }

    /// With `http_proxy` set, requests go through the proxy (libcurl's), not straight to the upstream.
    @Test func aProxyInTheEnvironmentIsUsed() throws {
        var environment = shell.environment
        environment["http_proxy"] = upstream.baseURL
        environment["AIQUERY_CONFIG"] = try shell.write(
            "proxied.yaml",
            "endpoints:\n" + openAIEndpointEntry("far", base: "http://upstream.invalid", extra: "    max_retries: 0\n"))
        let server = try ServeProcess(home: shell.home, environment: environment)
        _ = try ask(server, "far", "through the proxy")
        #expect(try upstream.requests().compactMap { $0["path"] as? String } == ["http://upstream.invalid/v1/chat/completions"])
    }

    /// The same words as the SQL extension's libcurl gives (ErrorTests, HardeningTests), in Databricks' error shape.
    @Test func failuresReadAsInSQL() throws {
        let server = try ServeProcess(home: shell.home, environment: shell.environment)
        let url = "\(upstream.baseURL)/v1/chat/completions"
        let dropped = try ask(server, "once", "[[drop]]")
        #expect(dropped.status == 502 && dropped.json["error_code"] as? String == "TEMPORARILY_UNAVAILABLE", "\(dropped.body)")
        #expect(dropped.json["message"] as? String == "endpoint 'once': the server closed the connection without a response (POST \(url))")
        let truncated = try ask(server, "once", "[[truncated]]")
        #expect((truncated.json["message"] as? String)?.hasPrefix("endpoint 'once': the response was cut off (") == true, "\(truncated.body)")
        let before = try upstream.requests().count
        let headers = try ask(server, "chat", "x [[big_header:200000]]")
        #expect((headers.json["message"] as? String)?.hasPrefix("endpoint 'chat': the response's headers are larger than") == true, "\(headers.body)")
        #expect(try upstream.requests().count == before + 1, "not retried: it would fail again")
        let garbage = try ask(server, "once", "[[garbage]]")
        #expect(
            garbage.json["message"] as? String
                == "endpoint 'once' returned a response that is not JSON (HTTP 200, text/html): <html>upstream proxy error</html>")
        let refused = try ask(server, "nowhere", "anyone?")
        #expect(
            refused.json["message"] as? String
                == "endpoint 'nowhere': connection refused (POST http://127.0.0.1:1/v1/chat/completions); is the server running and the url right?")
        #expect(content(try ask(server, "chat", "still fine")) == "echo: still fine")
    }
}
