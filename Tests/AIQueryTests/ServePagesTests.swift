import AIQueryTestSupport
import Foundation
import Testing

/// What the browser pages stand on, checked without a browser (BrowserTests drives the pages themselves): the
/// pages and their files served with no token and a strict content policy, the endpoints list with each
/// endpoint's state in words, an answer's cache and cost headers, the usage totals and series, and
/// `--no-auth-on-loopback`'s limits.
@Suite("aiquery serve: the pages' routes")
struct ServePagesTests {
    let base: ServeTests

    init() throws { base = try ServeTests() }

    func get(_ server: ServeProcess, _ path: String, _ extra: [String] = ["-H", "Authorization: Bearer \(ServeTests.token)"]) throws -> CurlResult {
        try curl(extra + [server.baseURL + path], in: base.shell.home)
    }

    @Test func pagesNeedNoTokenTheirDataDoes() throws {
        let server = try base.serve()
        for (path, type) in [("/", "text/html"), ("/playground", "text/html"), ("/usage", "text/html"), ("/ui/common.js", "text/javascript"), ("/ui/app.css", "text/css")] {
            let page = try get(server, path, [])
            #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix(type) == true, "\(path): \(page.status) \(page.headers)")
            #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true, "\(path)")
            #expect(page.headers["x-content-type-options"] == "nosniff")
        }
        #expect(try get(server, "/", []).body.contains("/ui/"), "the page loads its files from this server")
        for missing in ["/ui/nope.js", "/ui/..%2FPackage.swift", "/ui/.hidden"] {
            #expect(try get(server, missing, []).status == 404, "\(missing)")
        }
        let data = try get(server, "/api/2.0/aiquery/endpoints", [])
        #expect(data.status == 401 && data.json["error_code"] as? String == "UNAUTHENTICATED")
    }

    @Test func endpointsSayWhetherTheyAnswerInWords() throws {
        let yaml =
            "endpoints:\n"
            + openAIEndpointEntry("priced", base: base.upstream.baseURL, extra: "    price: {input: 1.5, output: 6}\n    limit: {calls: 5, renewal_period: minute}\n")
            + "  - name: down\n    endpoint_type: llm/v1/chat\n    max_retries: 0\n"
            + "    model: {provider: openai, name: m, config: {openai_api_base: \"http://user:pw-in-url@127.0.0.1:9/v1?key=q-secret\"}}\n"
            + "  - name: keyless\n    endpoint_type: llm/v1/chat\n"
            + "    model: {provider: openai, name: m, config: {openai_api_base: \"\(base.upstream.baseURL)/v1\", openai_api_key: $UNSET_KEY_FOR_PAGES}}\n"
            + openAIEndpointEntry("quiet", task: "embeddings", base: base.upstream.baseURL)
            + openAIEndpointEntry("hidden", base: base.upstream.baseURL)
        let config = try base.shell.write("pages.yaml", yaml)
        let server = try base.serve(["AIQUERY_CONFIG": config, "AIQUERY_ALLOWED_ENDPOINTS": "priced,down,keyless,quiet"])
        let chat = #"{"messages":[{"role":"user","content":"state"}]}"#
        #expect(try base.post(server, "/serving-endpoints/priced/invocations", chat).status == 200)
        #expect(try base.post(server, "/serving-endpoints/down/invocations", chat).status >= 500)
        let listed = try get(server, "/api/2.0/aiquery/endpoints")
        #expect(listed.status == 200)
        let endpoints = Dictionary(
            uniqueKeysWithValues: ((listed.json["endpoints"] as? [[String: Any]]) ?? []).map { ($0["name"] as? String ?? "", $0) })
        #expect(Set(endpoints.keys) == ["priced", "down", "keyless", "quiet"], "the allowlist holds: \(endpoints.keys.sorted())")
        #expect(endpoints["priced"]?["state"] as? String == "answering")
        #expect(endpoints["priced"]?["task"] as? String == "chat" && endpoints["quiet"]?["task"] as? String == "embeddings")
        #expect(endpoints["priced"]?["limit"] as? String == "5 calls per minute")
        #expect((endpoints["priced"]?["price"] as? [String: Any])?["output_per_million"] as? Double == 6)
        #expect(endpoints["priced"]?["source"] as? String == config)
        #expect(endpoints["down"]?["state"] as? String == "failing")
        let failure = endpoints["down"]?["state_message"] as? String ?? ""
        #expect(failure.contains("failed") && failure.contains("refused"), "\(failure)")
        #expect(endpoints["down"]?["url"] as? String == "http://127.0.0.1:9/v1", "no user, password or query in a listing")
        #expect(!listed.body.contains("pw-in-url") && !listed.body.contains("q-secret"), "\(listed.body)")
        #expect(endpoints["keyless"]?["state"] as? String == "not ready")
        #expect((endpoints["keyless"]?["state_message"] as? String)?.contains("UNSET_KEY_FOR_PAGES is not set") == true)
        #expect(endpoints["quiet"]?["state"] as? String == "idle")
        #expect((listed.json["server"] as? [String: Any])?["auth"] as? String == "token")
    }

    @Test func answersSayCacheAndCost() throws {
        let config = try base.shell.write(
            "priced.yaml", "endpoints:\n" + openAIEndpointEntry("priced", base: base.upstream.baseURL, extra: "    price: {input: 1.5, output: 6}\n"))
        let server = try base.serve(["AIQUERY_CONFIG": config])
        let chat = #"{"messages":[{"role":"user","content":"what does it cost"}]}"#
        let first = try base.post(server, "/serving-endpoints/priced/invocations", chat)
        let usage = first.json["usage"] as? [String: Any] ?? [:]
        let input = usage["prompt_tokens"] as? Int ?? -1
        let output = usage["completion_tokens"] as? Int ?? -1
        #expect(first.headers["x-aiquery-cache"] == "miss")
        #expect(Double(first.headers["x-aiquery-cost-usd"] ?? "") == (Double(input) * 1.5 + Double(output) * 6) / 1e6, "\(first.headers)")
        let second = try base.post(server, "/serving-endpoints/priced/invocations", chat)
        #expect(second.headers["x-aiquery-cache"] == "hit" && Double(second.headers["x-aiquery-cost-usd"] ?? "") == 0)
        let streamed = try base.post(server, "/serving-endpoints/priced/invocations", #"{"stream":true,"messages":[{"role":"user","content":"what does it cost"}]}"#)
        #expect(streamed.headers["x-aiquery-cache"] == "hit" && streamed.body.contains("[DONE]"))
        let fresh = try base.post(server, "/serving-endpoints/priced/invocations", #"{"stream":true,"messages":[{"role":"user","content":"a new one"}]}"#)
        #expect(fresh.headers["x-aiquery-cache"] == "miss")
        #expect(try base.upstreamCalls() == 2)
        // Regenerate: the model is asked again and its answer replaces the stored one.
        let again = try base.post(server, "/serving-endpoints/priced/invocations", chat, auth: ["-H", "Authorization: Bearer \(ServeTests.token)", "-H", "x-aiquery-cache: refresh"])
        #expect(again.status == 200 && again.headers["x-aiquery-cache"] == "miss")
        #expect(try base.upstreamCalls() == 3)
        let wrong = try base.post(server, "/serving-endpoints/priced/invocations", chat, auth: ["-H", "Authorization: Bearer \(ServeTests.token)", "-H", "x-aiquery-cache: sometimes"])
        #expect(wrong.status == 400 && wrong.json["message"] as? String == "x-aiquery-cache must be on, off, refresh or replay; got 'sometimes'")
    }

    @Test func aCallerTurnedAwayByTheLimitIsInTheLog() throws {
        let server = try base.serve()
        let chat = #"{"messages":[{"role":"user","content":"limited"}]}"#
        #expect(try base.post(server, "/serving-endpoints/once-a-minute/invocations", chat).status == 200)
        let refused = try base.post(server, "/serving-endpoints/once-a-minute/invocations", #"{"messages":[{"role":"user","content":"limited again"}]}"#)
        #expect(refused.status == 429)
        let calls = (try get(server, "/api/2.0/aiquery/calls?endpoint=once-a-minute&status=error").json["calls"] as? [[String: Any]]) ?? []
        #expect(calls.count == 1 && calls.first?["status_code"] as? Int == 429 && calls.first?["error_code"] as? String == "REQUEST_LIMIT_EXCEEDED", "\(calls)")
        #expect((calls.first?["error_message"] as? String)?.contains("retry after") == true)
    }

    @Test func usageHasTotalsAndASeriesThatAddUp() throws {
        let server = try base.serve()
        for index in 0..<5 {
            let body = #"{"messages":[{"role":"user","content":"series \#(index % 3)"}]}"#
            #expect(try base.post(server, "/serving-endpoints/databricks-dbrx-instruct/invocations", body).status == 200)
        }
        #expect(try base.post(server, "/serving-endpoints/flaky/invocations", #"{"messages":[{"role":"user","content":"[[status:500]]"}]}"#).status >= 500)
        let usage = try get(server, "/api/2.0/aiquery/usage?buckets=24")
        #expect(usage.status == 200)
        let totals = usage.json["totals"] as? [String: Any] ?? [:]
        let groups = usage.json["endpoints"] as? [[String: Any]] ?? []
        #expect(totals["requests"] as? Int == 6 && totals["cache_hits"] as? Int == 2 && totals["errors"] as? Int == 1, "\(totals)")
        #expect(groups.map { $0["requests"] as? Int ?? 0 }.reduce(0, +) == 6)
        #expect(totals["latency_p99_ms"] is Double)
        let series = usage.json["series"] as? [String: Any] ?? [:]
        let buckets = series["buckets"] as? [[String: Any]] ?? []
        #expect(!buckets.isEmpty && buckets.count <= 24)
        for field in ["requests", "cache_hits", "errors", "input_tokens"] {
            #expect(buckets.map { $0[field] as? Int ?? 0 }.reduce(0, +) == totals[field] as? Int, "\(field)")
        }
        let day = try get(server, "/api/2.0/aiquery/usage?buckets=48&since=\(Int(Date().timeIntervalSince1970) - 86_400)")
        #expect(((day.json["series"] as? [String: Any])?["buckets"] as? [[String: Any]])?.count == 48)
        #expect(((day.json["series"] as? [String: Any])?["bucket_seconds"] as? Double).map { (1800...1810).contains($0) } == true)
        let bad = try get(server, "/api/2.0/aiquery/usage?buckets=0")
        #expect(bad.status == 400 && (bad.json["message"] as? String)?.contains("'buckets' must be an integer from 1 to 1000") == true)
    }

    @Test func noAuthOnLoopbackOnlyForThisServersOwnPages() throws {
        var environment = base.shell.environment
        environment["AIQUERY_SERVE_TOKEN"] = ServeTests.token
        let open = try ServeProcess(home: base.shell.home, environment: environment, arguments: ["--port", "0", "--no-auth-on-loopback"])
        let port = open.baseURL.split(separator: ":").last.map(String.init) ?? ""
        #expect(try get(open, "/api/2.0/aiquery/endpoints", []).status == 200)
        #expect((try get(open, "/api/2.0/aiquery/endpoints", []).json["server"] as? [String: Any])?["auth"] as? String == "none")
        #expect(try get(open, "/api/2.0/aiquery/endpoints", ["-H", "Host: localhost:\(port)"]).status == 200)
        #expect(try get(open, "/api/2.0/aiquery/endpoints", ["-H", "Origin: \(open.baseURL)", "-H", "Sec-Fetch-Site: same-origin"]).status == 200)
        // A name rebound to 127.0.0.1, another site's page, a cross-site fetch: each needs the token.
        #expect(try get(open, "/api/2.0/aiquery/endpoints", ["-H", "Host: attacker.example:\(port)"]).status == 401)
        #expect(try get(open, "/api/2.0/aiquery/endpoints", ["-H", "Origin: http://attacker.example"]).status == 401)
        #expect(try get(open, "/api/2.0/aiquery/endpoints", ["-H", "Sec-Fetch-Site: cross-site"]).status == 401)
        let spend = try base.post(
            open, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"messages":[{"role":"user","content":"csrf"}]}"#,
            auth: ["-H", "Origin: http://attacker.example"])
        #expect(spend.status == 401)
        #expect(try base.upstreamCalls() == 0)
        #expect(try base.post(open, "/serving-endpoints/databricks-dbrx-instruct/invocations", #"{"messages":[{"role":"user","content":"local"}]}"#, auth: []).status == 200)
        let closed = try base.serve()
        #expect(try get(closed, "/api/2.0/aiquery/endpoints", []).status == 401, "without the flag a token is needed on loopback too")
    }
}
