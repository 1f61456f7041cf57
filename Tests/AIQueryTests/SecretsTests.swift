import AIQueryTestSupport
import Foundation
import Testing

/// Upstreams that quote the request back: whatever shape the answer takes, no key reaches an error, an
/// errorMessage, a listing or the cache.
@Suite("no secret in any text")
struct SecretsTests {
    static let key = "sk-quoted-back-5150"
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(environment: ["QUOTED_KEY": Self.key], cacheInHome: true)
    }

    func expectNoSecret(_ result: ShellResult, _ secret: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "stdout: \(result.stdout) stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.contains("[REDACTED]") || result.stderr.contains("[REDACTED]"), "the quoted header was there to redact", sourceLocation: sourceLocation)
        var files = Data()
        for suffix in ["", "-wal", "-shm"] {
            if let data = try? Data(contentsOf: shell.home.appendingPathComponent("cache.db" + suffix)) { files.append(data) }
        }
        #expect(files.range(of: Data(secret.utf8)) == nil, "the cache holds the secret", sourceLocation: sourceLocation)
    }

    /// An OpenAI-style JSON error, an HTML error page, a 200 that is not JSON and a 200 without `choices`, each
    /// quoting the request's headers: in the statement's error and in failOnError's errorMessage.
    @Test(arguments: ["400", "500:html", "502:html", "200:text", "200:nochoices"])
    func quotedHeadersAreRedacted(shape: String) throws {
        let define = #"SELECT ai_endpoint_set('llm', '{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1","api_key":"$QUOTED_KEY","max_retries":0}');"#
        let result = try shell.run(
            define + """

                SELECT ai_query('llm', 'x [[echo_headers:\(shape)]]', 'failOnError', 'false');
                SELECT ai_query('llm', 'y [[echo_headers:\(shape)]]');
                SELECT response FROM ai_query_rows('llm', 'SELECT ''z [[echo_headers:\(shape)]]''', '{"failOnError":false}');
                """)
        try expectNoSecret(result, Self.key)
        #expect(result.stderr.contains("ai_query: endpoint 'llm'"))
    }

    @Test func aWorkspaceTokenQuotedInADatabricks403IsRedacted() throws {
        var shell = shell
        shell.environment["DATABRICKS_HOST"] = server.baseURL
        shell.environment["DATABRICKS_TOKEN"] = "dapi-quoted-back-6262"
        let result = try shell.run(
            "SELECT ai_query('chat-x', 'x [[echo_headers:403]]', 'failOnError', 'false'); SELECT ai_query('chat-x', 'y [[echo_headers:403]]');")
        try expectNoSecret(result, "dapi-quoted-back-6262")
        #expect(result.stderr.contains("returned HTTP 403 PERMISSION_DENIED"))
    }

    @Test func aKeyWrittenInTheConfigFileIsRedacted() throws {
        var shell = shell
        shell.environment["AIQUERY_CONFIG"] = try shell.write(
            "endpoints.yaml",
            """
            endpoints:
              - name: llm
                endpoint_type: llm/v1/chat
                model: {provider: openai, name: m, config: {openai_api_key: sk-literal-in-yaml-3131, openai_api_base: "\(server.baseURL)/v1"}}
                max_retries: 0
            """)
        let result = try shell.run(
            "SELECT * FROM ai_endpoints; SELECT ai_query('llm', 'x [[echo_headers:400]]', 'failOnError', 'false'); SELECT ai_query('llm', 'my key is sk-literal-in-yaml-3131');")
        try expectNoSecret(result, "sk-literal-in-yaml-3131")
        #expect(result.stdout.contains("echo: my key is [REDACTED]"))
    }
}
