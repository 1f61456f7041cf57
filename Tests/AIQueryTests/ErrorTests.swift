import AIQueryTestSupport
import Foundation
import Testing

/// Error text is API: every failure is a clear `ai_query: …` message and the shell survives.
@Suite("ai_query errors")
struct ErrorTests {
    let server: MockServer
    let shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(environment: ["TEST_KEY": "sk-never-shown-456"])
    }

    func withEndpoint(_ sql: String, url: String? = nil) -> String {
        let base = url ?? "\(server.baseURL)/v1"
        return #"SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"\#(base)","api_key":"$TEST_KEY"}');"# + "\n" + sql
    }

    @Test func unknownEndpointSaysHowToConfigureOne() throws {
        let message = try shell.error("SELECT ai_query('ghost', 'x');")
        #expect(message.hasPrefix("ai_query: unknown endpoint 'ghost': register it with ai_endpoint_set('ghost', "))
        #expect(message.contains("endpoints.yaml (AIQUERY_CONFIG), or set DATABRICKS_HOST and DATABRICKS_TOKEN"))
    }

    @Test func missingKeyNamesTheVariable() throws {
        let sql = #"SELECT ai_endpoint_set('x', '{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1","api_key":"$MISSING_KEY_VAR"}'); SELECT ai_query('x', 'hi');"#
        #expect(try shell.error(sql) == "ai_query: endpoint 'x' needs an API key: set the environment variable MISSING_KEY_VAR")
    }

    @Test func literalKeysAreRefusedInSQL() throws {
        let message = try shell.error(#"SELECT ai_endpoint_set('x', '{"provider":"openai","model":"m","api_key":"sk-literal"}');"#)
        #expect(
            message
                == #"ai_endpoint_set: endpoint 'x': api_key must name an environment variable, like "$OPENAI_API_KEY"; keys are never stored in SQL"#
        )
    }

    @Test func httpErrorShowsStatusCodeAndEndpoint() throws {
        let message = try shell.error(withEndpoint("SELECT ai_query('llm', 'x [[status:400]]');"))
        #expect(message == "ai_query: endpoint 'llm' returned HTTP 400 server_error: mock failure 400 (POST \(server.baseURL)/v1/chat/completions)")
    }

    @Test func nonJSONAndTruncatedAndDroppedBodies() throws {
        let garbage = try shell.error(withEndpoint("SELECT ai_query('llm', '[[garbage]]');"))
        #expect(garbage == "ai_query: endpoint 'llm' returned a response that is not JSON (HTTP 200, text/html): <html>upstream proxy error</html>")
        let truncated = try shell.error(withEndpoint("SELECT ai_query('llm', '[[truncated]]');"))
        #expect(truncated.hasPrefix("ai_query: endpoint 'llm': the response was cut off ("))
        let dropped = try shell.error(withEndpoint("SELECT ai_query('llm', '[[drop]]');"))
        #expect(
            dropped
                == "ai_query: endpoint 'llm': the server closed the connection without a response (POST \(server.baseURL)/v1/chat/completions); gave up after 3 attempts"
        )
        let empty = try shell.error(withEndpoint("SELECT ai_query('llm', '[[empty_choices]]');"))
        #expect(empty == #"ai_query: endpoint 'llm' returned JSON without choices[0].message: {"choices":[]}"#)
    }

    @Test func timeoutAndConnectionRefused() throws {
        let timeout = try shell.error(withEndpoint("SELECT ai_query('llm', '[[sleep:3]]', 'timeout', 0.5, 'maxRetries', 0);"))
        #expect(
            timeout
                == "ai_query: endpoint 'llm': timed out after 0.5 s (POST \(server.baseURL)/v1/chat/completions); raise it with the timeout option (seconds)")
        let refused = try shell.error(withEndpoint("SELECT ai_config('backoff', 0.01); SELECT ai_query('llm', 'x');", url: "http://127.0.0.1:9/v1"))
        #expect(
            refused
                == "ai_query: endpoint 'llm': connection refused (POST http://127.0.0.1:9/v1/chat/completions); gave up after 3 attempts; is the server running and the url right?"
        )
    }

    @Test func invalidOptionsNameTheOption() throws {
        #expect(
            try shell.error(withEndpoint("SELECT ai_query('llm', 'x', 'failOnErorr', 'false');"))
                == "ai_query: unknown option 'failOnErorr'; options are name/value pairs with names returnType, failOnError, modelParameters, responseFormat, timeout, maxRetries, deadline, cache, concurrency, batchSize, maxCalls, maxTokens, requestTags"
        )
        #expect(
            try shell.error(withEndpoint("SELECT ai_query('llm', 'x', 'failOnError', 'maybe');"))
                == "ai_query: failOnError must be true or false, got 'maybe'")
        #expect(
            try shell.error(withEndpoint(#"SELECT ai_query('llm', 'x', 'modelParameters', '{"messages":[]}');"#))
                == #"ai_query: modelParameters: the "messages" parameter belongs in the request argument, not in modelParameters (AI_FUNCTION_INVALID_MODEL_PARAMETERS.FOUND_RESERVED_PARAMETER_NAME)"#
        )
        #expect(
            try shell.error(withEndpoint(#"SELECT ai_query('llm', 'x', 'modelParameters', '{"max_tokens":"lots"}');"#))
                == #"ai_query: modelParameters: "max_tokens" must be a positive integer (at most 10^9), got "lots" (AI_FUNCTION_INVALID_MODEL_PARAMETERS.INVALID_NUMERIC_PARAMETER)"#
        )
        #expect(
            try shell.error(withEndpoint("SELECT ai_query('llm', 'x', 'returnType', 'ARRAY<WIDGET>');"))
                == "ai_query: returnType 'ARRAY<WIDGET>': unknown type 'WIDGET'; use STRING, INT, BIGINT, FLOAT, DOUBLE, BOOLEAN, ARRAY<…>, MAP<…, …>, STRUCT<…> or VARIANT"
        )
        #expect(
            try shell.error(withEndpoint("SELECT ai_query('llm', 'x', 'responseFormat', '{\"type\":\"yaml\"}');"))
                == #"ai_query: responseFormat type "yaml" is not supported (AI_FUNCTION_UNSUPPORTED_RESPONSE_FORMAT); use 'text', '{"type":"json_object"}', a JSON schema or a DDL STRUCT<…>"#
        )
    }

    @Test func wrongArityAndNullRequest() throws {
        #expect(
            try shell.error("SELECT ai_query('llm');")
                == "ai_query: expected ai_query(endpoint, request [, option, value …]), got 1 argument")
        #expect(try shell.query(withEndpoint("SELECT ai_query('llm', NULL) IS NULL;")) == ["llm", "1"])
    }

    @Test func castFailureIsAnError() throws {
        let message = try shell.error(withEndpoint("SELECT ai_query('llm', '[[reply:forty-two]]', 'returnType', 'INT');"))
        #expect(
            message
                == #"ai_query: cannot cast the model output to returnType BIGINT: not an integer; output was "forty-two" (AI_FUNCTION_HTTP_PARSE_CAST_ERROR); change returnType or ask the model for that format"#
        )
    }

    @Test func keyNeverAppearsInOutputOrErrors() throws {
        let result = try shell.run(
            withEndpoint(
                """
                SELECT * FROM ai_endpoints;
                SELECT ai_debug();
                SELECT ai_query('llm', '[[status:401]]');
                SELECT ai_query('llm', 'x', 'failOnError', 'false');
                """))
        #expect(!result.stdout.contains("sk-never-shown-456"))
        #expect(!result.stderr.contains("sk-never-shown-456"))
        #expect(result.stdout.contains("llm|llm/v1/chat|openai|m|\(server.baseURL)/v1|session|$TEST_KEY"))
    }

    /// A password in an endpoint's url is a secret like a key: not in listings, not in error text.
    @Test func urlPasswordsAreNeverShown() throws {
        let url = server.baseURL.replacingOccurrences(of: "http://", with: "http://user:pw-secret-77@") + "/v1"
        let result = try shell.run(
            withEndpoint("SELECT url FROM ai_endpoints WHERE name = 'llm'; SELECT ai_query('llm', 'x [[status:400]]');", url: url))
        #expect(!result.stdout.contains("pw-secret-77") && !result.stderr.contains("pw-secret-77"))
        #expect(result.stdout.contains("http://user:***@127.0.0.1"))
        #expect(result.stderr.contains("(POST http://user:***@127.0.0.1"))
    }

    @Test func directOnlyBlocksUseFromViewsAndTriggers() throws {
        let message = try shell.error(
            withEndpoint("CREATE VIEW v AS SELECT ai_query('llm', 'x') AS a; SELECT * FROM v;"))
        #expect(message.contains("unsafe use of ai_query()"))
    }
}
