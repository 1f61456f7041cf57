import AIQueryTestSupport
import Foundation
import Testing

/// Databricks workspace endpoints: env credentials, ~/.databrickscfg profiles, OAuth M2M, task lookup.
@Suite("Databricks workspace endpoints")
struct DatabricksTests {
    @Test func tokenFromEnvironmentAndTaskLookedUpOnce() throws {
        let server = try MockServer(environment: ["MOCK_TOKEN": "dapi-secret-token"])
        let shell = try Shell(environment: ["DATABRICKS_HOST": server.baseURL, "DATABRICKS_TOKEN": "dapi-secret-token"])
        let lines = try shell.query(
            """
            CREATE TABLE docs(body TEXT);
            INSERT INTO docs VALUES ('one'), ('two'), ('three');
            SELECT ai_query('chat-llama', body) FROM docs;
            SELECT length(ai_query('embed-gte', 'x'));
            SELECT ai_query('complete-base', 'y');
            SELECT name, task, provider, source, api_key FROM ai_endpoints WHERE source != 'built-in' ORDER BY name;
            """)
        #expect(
            lines == [
                "echo: one", "echo: two", "echo: three", "32", "echo: y",
                "chat-llama|llm/v1/chat|databricks|databricks|(databricks workspace)",
                "complete-base|llm/v1/completions|databricks|databricks|(databricks workspace)",
                "embed-gte|llm/v1/embeddings|databricks|databricks|(databricks workspace)",
            ])
        let requests = try server.requests()
        let lookups = requests.filter { ($0["method"] as? String) == "GET" }
        #expect(lookups.count == 3)
        let invocations = requests.filter { ($0["path"] as? String) == "/serving-endpoints/chat-llama/invocations" }
        #expect(invocations.count == 3)
        let body = try #require(invocations.first?["body"] as? [String: Any])
        #expect(body["model"] == nil)  // Databricks invocations name the model in the URL
        #expect((body["messages"] as? [[String: Any]])?.first?["content"] as? String == "one")
        let headers = try #require(invocations.first?["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer dapi-secret-token")
    }

    @Test func missingEndpointReportsDatabricksError() throws {
        let server = try MockServer()
        let shell = try Shell(environment: ["DATABRICKS_HOST": server.baseURL, "DATABRICKS_TOKEN": "t"])
        let message = try shell.error("SELECT ai_query('nope', 'x');")
        #expect(
            message
                == "ai_query: endpoint 'nope': looking it up in the Databricks workspace failed with HTTP 404 RESOURCE_DOES_NOT_EXIST: Endpoint with name 'nope' does not exist. (GET \(server.baseURL)/api/2.0/serving-endpoints/nope)"
        )
    }

    @Test func oauthMachineToMachineTokenIsReused() throws {
        let server = try MockServer(environment: ["MOCK_TOKEN": "unused-pat", "MOCK_CLIENT_ID": "sp-id", "MOCK_CLIENT_SECRET": "sp-secret"])
        let shell = try Shell(environment: [
            "DATABRICKS_HOST": server.baseURL, "DATABRICKS_CLIENT_ID": "sp-id", "DATABRICKS_CLIENT_SECRET": "sp-secret",
        ])
        let lines = try shell.query("SELECT ai_query('chat-a', 'p1'); SELECT ai_query('chat-a', 'p2');")
        #expect(lines == ["echo: p1", "echo: p2"])
        let requests = try server.requests()
        let tokenCalls = requests.filter { ($0["path"] as? String) == "/oidc/v1/token" }
        #expect(tokenCalls.count == 1)
        #expect((tokenCalls.first?["headers"] as? [String: String])?["authorization"]?.hasPrefix("Basic ") == true)
        let invocation = try #require(requests.last?["headers"] as? [String: String])
        #expect(invocation["authorization"] == "Bearer oauth-token-1")
    }

    @Test func wrongOAuthSecretIsAClearError() throws {
        let server = try MockServer()
        let shell = try Shell(environment: [
            "DATABRICKS_HOST": server.baseURL, "DATABRICKS_CLIENT_ID": "test-client", "DATABRICKS_CLIENT_SECRET": "wrong",
        ])
        let message = try shell.error("SELECT ai_query('chat-a', 'p1');")
        #expect(
            message
                == "ai_query: OAuth token request to \(server.baseURL)/oidc/v1/token failed: invalid_client: Client authentication failed; check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET"
        )
        #expect(!message.contains("wrong"))
    }

    @Test func databricksCfgProfile() throws {
        let server = try MockServer(environment: ["MOCK_TOKEN": "profile-token"])
        let shell = try Shell(environment: ["DATABRICKS_CONFIG_PROFILE": "dev"])
        _ = try shell.write(
            ".databrickscfg",
            """
            [DEFAULT]
            host = http://127.0.0.1:9
            token = default-token

            [dev]
            host = \(server.baseURL)/
            token = profile-token
            """)
        #expect(try shell.query("SELECT ai_query('chat-x', 'from profile');") == ["echo: from profile"])
    }

    @Test func customModelGetsTheJSONRequest() throws {
        let server = try MockServer()
        let shell = try Shell(environment: ["DATABRICKS_HOST": server.baseURL, "DATABRICKS_TOKEN": "t"])
        let lines = try shell.query(
            """
            SELECT ai_query('custom-scorer', json_object('dataframe_records', json_array(json_object('x', 1))));
            SELECT ai_query('custom-scorer', json_object('inputs', json_array(7)), 'returnType', 'INT');
            """)
        #expect(lines == [#"{"x":1}"#, "7"])
    }
}
