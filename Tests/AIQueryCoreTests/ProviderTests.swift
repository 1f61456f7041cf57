import Testing

@testable import AIQueryCore

/// Request bodies and response parsing per provider and task, with no network.
@Suite struct ProviderTests {
    func endpoint(_ provider: ProviderKind, _ task: EndpointTask, model: String = "m") -> Endpoint {
        Endpoint(name: "e", task: task, provider: provider, model: model, url: "http://h/v1", apiKey: .none, source: "test")
    }

    func body(_ endpoint: Endpoint, _ input: ModelInput, _ configure: (inout RequestOptions) -> Void = { _ in }) throws -> String {
        var options = RequestOptions()
        configure(&options)
        return try endpoint.provider.implementation.body(for: input, task: endpoint.task ?? .chat, endpoint: endpoint, options: options).serialized()
    }

    @Test func openAIBodies() throws {
        #expect(try body(endpoint(.openai, .chat), .text("hi")) == #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(try body(endpoint(.openai, .completions), .text("hi")) == #"{"model":"m","prompt":"hi"}"#)
        #expect(try body(endpoint(.openai, .embeddings), .text("hi")) == #"{"model":"m","input":"hi"}"#)
        let withParameters = try body(endpoint(.openai, .chat), .text("hi")) {
            $0.modelParameters = [("max_tokens", .integer(5)), ("stop", .array([.string("END")]))]
            $0.responseFormat = .object([("type", .string("json_object"))])
        }
        #expect(
            withParameters
                == #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stop":["END"],"response_format":{"type":"json_object"}}"#
        )
    }

    @Test func databricksBodiesHaveNoModelField() throws {
        #expect(try body(endpoint(.databricks, .chat), .text("hi")) == #"{"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(try body(endpoint(.databricks, .custom), .text("hi")) == #"{"inputs":["hi"]}"#)
        let custom = JSONValue.object([("dataframe_records", .array([.object([("x", .integer(1))])]))])
        #expect(try body(endpoint(.databricks, .custom), .json(custom)) == #"{"dataframe_records":[{"x":1}]}"#)
        #expect(throws: AIQueryError.self) {
            try body(endpoint(.databricks, .custom), .text("x")) { $0.modelParameters = [("max_tokens", .integer(1))] }
        }
        #expect(
            endpoint(.databricks, .chat).invocationURL(task: .chat) == "http://h/v1/serving-endpoints/m/invocations")
    }

    @Test func anthropicBody() throws {
        let messages = JSONValue.array([
            .object([("role", .string("system")), ("content", .string("brief"))]),
            .object([("role", .string("user")), ("content", .string("yo"))]),
        ])
        let text = try body(endpoint(.anthropic, .chat), .json(.object([("messages", messages)]))) {
            $0.modelParameters = [("stop", .string("END"))]
        }
        #expect(
            text == #"{"model":"m","messages":[{"role":"user","content":"yo"}],"system":"brief","stop_sequences":["END"],"max_tokens":1024}"#)
        #expect(throws: AIQueryError.self) { try body(endpoint(.anthropic, .embeddings), .text("x")) }
    }

    @Test func structuredRequestMustCarryTheTaskField() {
        #expect(throws: AIQueryError.self) { try body(endpoint(.openai, .embeddings), .json(.object([("text", .string("x"))]))) }
    }

    func parse(_ endpoint: Endpoint, _ json: String) throws -> ModelOutput {
        let parsed = try JSONValue.parse(json)
        return try endpoint.provider.implementation.response(from: parsed, endpoint: endpoint, task: endpoint.task ?? .chat).output
    }

    @Test func parsesEachTask() throws {
        #expect(try parse(endpoint(.openai, .chat), #"{"choices":[{"message":{"content":"A"}}]}"#) == .text("A"))
        let blocks = #"{"choices":[{"message":{"content":[{"type":"reasoning","summary":[]},{"type":"text","text":"x"},{"type":"text","text":"y"}]}}]}"#
        #expect(try parse(endpoint(.openai, .chat), blocks) == .text("xy"))
        #expect(try parse(endpoint(.openai, .completions), #"{"choices":[{"text":"T"}]}"#) == .text("T"))
        #expect(try parse(endpoint(.openai, .embeddings), #"{"data":[{"embedding":[0.5,-1,2]}]}"#) == .embedding([0.5, -1, 2]))
        // base64 float32 little-endian: 1.0, -2.0
        #expect(try parse(endpoint(.openai, .embeddings), #"{"data":[{"embedding":"AACAPwAAAMA="}]}"#) == .embedding([1, -2]))
        #expect(try parse(endpoint(.anthropic, .chat), #"{"content":[{"type":"text","text":"C"}]}"#) == .text("C"))
        #expect(try parse(endpoint(.databricks, .custom), #"{"predictions":[{"a":1}]}"#) == .json(.object([("a", .integer(1))])))
    }

    @Test func malformedResponsesAreRowErrors() {
        for json in [#"{"choices":[]}"#, #"{"choices":[{"message":{"content":null}}]}"#, #"{"choices":[{"message":{"refusal":"no"}}]}"#] {
            do {
                _ = try parse(endpoint(.openai, .chat), json)
                Issue.record("expected an error for \(json)")
            } catch let error as AIQueryError {
                #expect(error.scope == .row)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func errorSummariesForEachProvider() {
        func summary(_ status: Int, _ body: String) -> String {
            UpstreamError.summary(HTTPResponse(status: status, body: Array(body.utf8)), redactor: Redactor(secrets: [])).text
        }
        #expect(summary(404, #"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"gone"}"#) == "HTTP 404 RESOURCE_DOES_NOT_EXIST: gone")
        #expect(summary(401, #"{"error":{"message":"bad key","code":"invalid_api_key"}}"#) == "HTTP 401 invalid_api_key: bad key")
        #expect(summary(529, #"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#) == "HTTP 529 overloaded_error: busy")
        #expect(summary(502, "Bad Gateway") == "HTTP 502: Bad Gateway")
        #expect(summary(503, "") == "HTTP 503")
    }
}

@Suite struct EndpointSpecTests {
    @Test func flatAndMLflowForms() throws {
        let flat = try Endpoint.parse(
            name: "a", spec: try JSONValue.parse(#"{"provider":"ollama","task":"embeddings","model":"nomic"}"#), source: "s",
            allowLiteralKeys: false)
        #expect(flat.url == "http://localhost:11434/v1" && flat.task == .embeddings && flat.apiKey == .none)
        let mlflow = try Endpoint.parse(
            name: "b",
            spec: try JSONValue.parse(
                #"{"endpoint_type":"llm/v1/chat","model":{"provider":"openai","name":"gpt","config":{"openai_api_key":"$K"}},"limit":{"calls":10,"renewal_period":"minute"}}"#
            ), source: "s", allowLiteralKeys: true)
        #expect(mlflow.url == "https://api.openai.com/v1" && mlflow.apiKey == .environment("K"))
        #expect(mlflow.limit == EndpointLimit(calls: 10, renewalPeriod: "minute"))
        let azure = try Endpoint.parse(
            name: "z",
            spec: try JSONValue.parse(
                #"{"endpoint_type":"llm/v1/chat","model":{"provider":"openai","name":"gpt","config":{"openai_api_type":"azure","openai_api_base":"https://x.openai.azure.com","openai_deployment_name":"dep","openai_api_version":"2024-02-01","openai_api_key":"$AZ"}}}"#
            ), source: "s", allowLiteralKeys: true)
        #expect(azure.invocationURL(task: .chat) == "https://x.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-01")
    }

    @Test func rejectsBadDefinitions() {
        let bad = [
            #"{"provider":"cohere","model":"x"}"#, #"{"provider":"openai","task":"rerank","model":"x"}"#,
            #"{"provider":"openai","model":"x","url":"ftp://h"}"#, #"{"provider":"openai"}"#,
            #"{"provider":"openai","model":"x","colour":"red"}"#, #"{"provider":"openai","model":"x","api_key":"sk-1"}"#,
        ]
        for text in bad {
            #expect(throws: AIQueryError.self, "\(text)") {
                try Endpoint.parse(name: "e", spec: try JSONValue.parse(text), source: "s", allowLiteralKeys: false)
            }
        }
    }

    @Test func databricksHostNormalization() {
        #expect(DatabricksWorkspace.normalizeHost("dbc-1.cloud.databricks.com/") == "https://dbc-1.cloud.databricks.com")
        #expect(DatabricksWorkspace.normalizeHost("https://h:443") == "https://h")
        #expect(DatabricksWorkspace.normalizeHost("http://127.0.0.1:8080") == "http://127.0.0.1:8080")
        let ini = DatabricksWorkspace.parseINI("[DEFAULT]\nhost = a\n; c\n[dev]\ntoken=t = x\n")
        #expect(ini["DEFAULT"]?["host"] == "a" && ini["dev"]?["token"] == "t = x")
    }
}
