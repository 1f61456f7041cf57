import AIQueryTestSupport
import Foundation
import Testing

/// A database file never acts on its own: what its schema calls (CHECK constraints, views, triggers, DEFAULT,
/// generated columns, index expressions) cannot reach a model, an endpoint definition or the cache. The files are
/// made by another process, Python's sqlite3 with stand-ins for the functions, as an attacker would make them.
@Suite("a database file cannot act on its own")
struct SchemaDefenceTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(cacheInHome: true)
        shell.environment["AIQUERY_CONFIG"] = try shell.write(
            "endpoints.yaml",
            """
            endpoints:
              - name: chat
                endpoint_type: llm/v1/chat
                model: {provider: openai, name: m, config: {openai_api_base: "\(server.baseURL)/v1"}}
            """)
    }

    /// A database file with these statements, written by Python's sqlite3.
    func databaseFile(_ statements: [String]) throws -> String {
        let path = shell.home.appendingPathComponent("hostile-\(UUID().uuidString).db").path
        let script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            for name, arity in [("ai_query", 2), ("ai_endpoint_set", 2), ("ai_cache_clear", 0), ("ai_config", 2)]:
                c.create_function(name, arity, lambda *a: 1, deterministic=True)  # indexes take deterministic ones only
            for statement in sys.argv[2:]:
                c.execute(statement)
            c.commit()
            """
        let made = try runToEnd(["python3", "-c", script, path] + statements)
        #expect(made.status == 0)
        return path
    }

    func modelCalls() throws -> Int { try server.requests().filter { ($0["path"] as? String) == "/v1/chat/completions" }.count }

    static let refusedFromSchema = "refused: this call does not come from a statement you ran but from the database's schema (a CHECK constraint)"

    @Test func aCheckConstraintCannotCallAModel() throws {
        let file = try databaseFile(["CREATE TABLE c(a CHECK (ai_query('chat', a) IS NOT NULL))"])
        let message = try shell.error("INSERT INTO c VALUES ('leak this');", database: file)
        #expect(message.hasPrefix("ai_query: " + Self.refusedFromSchema), "\(message)")
        // Naming ai_query in the statement itself does not open the door: the table's definition calls it.
        let named = try shell.error("INSERT INTO c SELECT ai_query('chat', 'mine');", database: file)
        #expect(named.hasPrefix("ai_query: refused: table main.c of this database calls ai_query in its definition"), "\(named)")
        #expect(try modelCalls() == 0)
    }

    @Test func aCheckConstraintCannotRepointAnEndpoint() throws {
        let evil = #"{"provider":"openai","task":"chat","model":"m","url":"http://127.0.0.1:9/v1","api_key":"$OPENAI_API_KEY"}"#
        let file = try databaseFile(["CREATE TABLE d(a CHECK (ai_endpoint_set('chat', '\(evil)') IS NOT NULL))"])
        let result = try shell.run("INSERT INTO d VALUES (1);\nSELECT ai_query('chat', 'still here');", database: file)
        #expect(result.stderr.contains("ai_endpoint_set: " + Self.refusedFromSchema), "\(result.stderr)")
        #expect(result.lines.last == "echo: still here")
        #expect(try modelCalls() == 1)
    }

    @Test func aCheckConstraintCannotClearTheCache() throws {
        _ = try shell.query("SELECT ai_query('chat', 'keep me');")
        let file = try databaseFile(["CREATE TABLE e(a CHECK (ai_cache_clear() >= 0))"])
        let result = try shell.run("INSERT INTO e VALUES (1);\nSELECT json_extract(ai_cache_stats(), '$.entries');", database: file)
        #expect(result.stderr.contains("ai_cache_clear: " + Self.refusedFromSchema))
        #expect(result.lines.last == "1")
    }

    @Test func aCheckConstraintCannotChangeSettings() throws {
        let file = try databaseFile(["CREATE TABLE f(a CHECK (ai_config('cache', 'off') IS NOT NULL))"])
        let result = try shell.run(
            "INSERT INTO f VALUES (1);\nSELECT ai_query('chat', 'twice');\nSELECT ai_query('chat', 'twice');", database: file)
        #expect(result.stderr.contains("ai_config: " + Self.refusedFromSchema))
        #expect(result.lines == ["echo: twice", "echo: twice"])
        #expect(try modelCalls() == 1, "the cache stayed on")
    }

    /// What SQLite itself keeps out: views, triggers and DEFAULT (SQLITE_DIRECTONLY), generated columns and index
    /// expressions (ai_query is not deterministic, so the schema does not even load).
    @Test(arguments: [
        (["CREATE VIEW v AS SELECT ai_query('chat', 'x') AS a"], "SELECT * FROM v;"),
        (["CREATE TABLE t(a)", "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT ai_query('chat', new.a); END"], "INSERT INTO t VALUES (1);"),
        (["CREATE TABLE t(a, b DEFAULT (ai_query('chat', 'x')))"], "INSERT INTO t(a) VALUES (1);"),
        (["CREATE TABLE t(a, b AS (ai_query('chat', a)))"], "INSERT INTO t(a) VALUES (1);"),
        (["CREATE TABLE t(a)", "CREATE INDEX i ON t(ai_query('chat', a))"], "INSERT INTO t VALUES (1);"),
    ])
    func otherSchemaUsesStayBlocked(schema: [String], statement: String) throws {
        let file = try databaseFile(schema)
        let message = try shell.error(statement, database: file)
        #expect(message.contains("unsafe use of ai_query()") || message.contains("non-deterministic functions prohibited"), "\(message)")
        #expect(try modelCalls() == 0)
    }
}

/// Deployments that expose SQL to others allow only some endpoints, per process or per connection, and then
/// nothing in SQL can widen that or re-point an allowed name.
@Suite("allowed endpoints")
struct AllowedEndpointsTests {
    let server: MockServer
    var shell: Shell

    init() throws {
        let server = try MockServer()
        self.server = server
        shell = try Shell()
        let entries = ["chat", "other"].map { name in
            "  - name: \(name)\n    endpoint_type: llm/v1/chat\n    model: {provider: openai, name: m, config: {openai_api_base: \"\(server.baseURL)/v1\"}}\n"
        }
        shell.environment["AIQUERY_CONFIG"] = try shell.write("endpoints.yaml", "endpoints:\n" + entries.joined())
    }

    @Test func theProcessAllowsOnlySomeEndpoints() throws {
        var shell = shell
        shell.environment["AIQUERY_ALLOWED_ENDPOINTS"] = "chat"
        let result = try shell.run(
            """
            SELECT ai_query('chat', 'allowed');
            SELECT ai_query('other', 'not allowed');
            SELECT count(*) FROM ai_query_rows('other', 'SELECT 1');
            SELECT ai_endpoint_set('chat', '{"provider":"openai","task":"chat","model":"m","url":"http://127.0.0.1:9/v1"}');
            SELECT ai_cache_clear();
            SELECT ai_config('allowed_endpoints');
            SELECT ai_config('allowed_endpoints', NULL);
            SELECT ai_query('chat', 'still allowed');
            """)
        #expect(result.lines == ["echo: allowed", "chat", "echo: still allowed"])
        let denied = "endpoint 'other' is not allowed here: only chat may be called (AIQUERY_ALLOWED_ENDPOINTS or ai_config('allowed_endpoints'))"
        #expect(result.stderr.contains("ai_query: " + denied) && result.stderr.contains("ai_query_rows: " + denied))
        #expect(result.stderr.contains("ai_endpoint_set: refused: endpoints are restricted on this connection"))
        #expect(result.stderr.contains("ai_cache_clear: refused: endpoints are restricted on this connection"))
        #expect(result.stderr.contains("ai_config: allowed_endpoints can only be narrowed, never lifted"))
        #expect(try server.requests().count == 2)
    }

    @Test func aConnectionCanOnlyNarrowIt() throws {
        let result = try shell.run(
            """
            SELECT ai_config('allowed_endpoints');
            SELECT ai_config('allowed_endpoints', 'chat,other');
            SELECT ai_config('allowed_endpoints', 'other,local-minilm');
            SELECT ai_query('chat', 'no longer');
            SELECT ai_config('allowed_endpoints', 'none');
            SELECT ai_query('other', 'nothing now');
            """)
        #expect(result.lines == ["chat,other", "other", "none"])
        #expect(result.stderr.contains("ai_query: endpoint 'chat' is not allowed here: only other may be called"))
        #expect(result.stderr.contains("ai_query: endpoint 'other' is not allowed here: no endpoint may be called"))
        #expect(try server.requests().isEmpty)
    }
}
